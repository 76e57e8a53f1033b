"""Record and report: the gradebook, the grader's notes, grades.csv and the class report."""
