"""course/grader/: one submission graded (kernels, sandbox, hidden cases, the judge, partial credit)."""
