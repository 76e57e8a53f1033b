"""course/service/: the grading service, on one account and on real Unix accounts."""
