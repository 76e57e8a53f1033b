"""The instructor's tool for the Regularization course: build the release, grade, report."""
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "regularization"
NOTEBOOK = "Regularization"
