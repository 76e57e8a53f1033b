"""Copies of the course for tests that grade: each test grades in a folder of its own."""

import csv
import dataclasses
import shutil

from course.build.package import assignment_package
from course.grader.job import GradingJob
from course.layout import ASSIGNMENT, ROSTER, Stage, copy_course
from tests import COURSE, COURSE_ROOT

CELL_TIMEOUT = 15  # the infinite loop costs three of these; training cells need about 3 s


def course_copy(target, students=None):
    """The course under target, with the whole sample class or only `students`' submissions and roster lines."""
    copy_course(target, COURSE_ROOT, folders=("source", "release", "submitted"))
    for submission in (target / "submitted").iterdir():
        if students is not None and submission.name not in students:
            shutil.rmtree(submission)
    header, *rows = (COURSE_ROOT / ROSTER).read_text().splitlines(keepends=True)
    (target / ROSTER).write_text(
        header + "".join(row for row in rows if students is None or row.split(",")[0] in students)
    )
    return target


def grades(root):
    with open(root / "grades.csv", newline="") as table:
        return {row["student_id"]: row for row in csv.DictReader(table)}


def jobs_one_unwritable() -> list:
    """Two jobs of full marks, "one" and "two"; grading "one" raises (its package holds a file name no
    worker can write), which is the grader's fault, not the submission's."""
    package = assignment_package(COURSE_ROOT, ASSIGNMENT)
    broken = dataclasses.replace(package, files={**package.files, "bad\0name": b""})
    submission = COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT).read_bytes()
    return [
        GradingJob(student, submission, files, cell_timeout=CELL_TIMEOUT)
        for student, files in (("one", broken), ("two", package))
    ]
