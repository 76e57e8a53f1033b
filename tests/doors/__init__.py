"""course/doors/: nbgrader's own commands and buttons, and collecting without trusting the submission."""
