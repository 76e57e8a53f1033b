"""The course's tests: they check the course in this checkout."""

from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
