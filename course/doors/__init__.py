"""nbgrader's own doors (collect, autograde, Formgrader) through the course's intake and grader."""
