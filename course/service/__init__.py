"""The grading service: each submission to nbgrader's exchange graded as it arrives."""
