"""The course's tests: they check the course in this checkout."""

from pathlib import Path

from course.layout import Course

COURSE_ROOT = Path(__file__).resolve().parent.parent
COURSE = Course(COURSE_ROOT)
