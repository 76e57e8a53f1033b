"""The grader's note of each student's last grading: grading.json beside the autograded notebook.

It says which submission and which version of the assignment were graded, and what went wrong, so
that a run regrades only what changed and the report can tell the instructor what needs attention.
Written last when a result is saved: a student without one is graded again by the next run.
"""

import json
from pathlib import Path

from course.layout import Course, Stage

NOTE_FILE = "grading.json"  # nbgrader_config.py keeps it out of what students get back


def read(root: Path, student: str, assignment: str) -> dict:
    """{} if nothing was saved, else: submission_sha256, assignment_fingerprint, status, problems, failures."""
    path = Course(root).path(Stage.AUTOGRADED, student, assignment) / NOTE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def note(result, fingerprint: str) -> dict:
    """What is noted of a GradingResult graded against the assignment version `fingerprint`."""
    return {
        "submission_sha256": result.submission_sha256,
        "assignment_fingerprint": fingerprint,
        "status": result.status,
        "problems": result.problems,
        "failures": {score.grade_id: score.failure for score in result.scores if score.failure},
    }


def write(root: Path, result, fingerprint: str) -> None:
    path = Course(root).path(Stage.AUTOGRADED, result.student, result.assignment) / NOTE_FILE
    path.write_text(json.dumps(note(result, fingerprint), indent=1, sort_keys=True) + "\n")
