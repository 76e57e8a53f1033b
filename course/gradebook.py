"""Record grading results in the course's nbgrader gradebook, from a single process.

Workers only compute; this module is the one writer. Scores are saved by nbgrader's
own SaveAutoGrades preprocessor, run on the autograded notebook a worker returned, so
the gradebook holds exactly what `nbgrader autograde` would have put there. Re-recording
a student updates their one submission: grades are never duplicated.
"""
import json
import shutil
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy.exc import SAWarning

from course import ASSIGNMENT, NOTEBOOK, course_directory
from course.unit import GradingResult

RECORD_FILE = "grading.json"  # beside the autograded notebook: which submission it came from


def db_url(root: Path) -> str:
    """The gradebook URL the course's nbgrader_config.py sets (one source of truth)."""
    return course_directory(root).db_url


def autograded_dir(root: Path, student: str) -> Path:
    return root / "autograded" / student / ASSIGNMENT


def last_record(root: Path, student: str) -> dict:
    """What was recorded for the student's last graded submission ({} if nothing was):
    submission_sha256, assignment_fingerprint, status, problems, failures."""
    record_file = autograded_dir(root, student) / RECORD_FILE
    return json.loads(record_file.read_text()) if record_file.exists() else {}


def record(root: Path, url: str, result: GradingResult, helper_files: dict, fingerprint: str) -> None:
    """Store one result: the autograded folder as nbgrader lays it out, and the scores.
    fingerprint identifies the assignment version the submission was graded against."""
    folder = autograded_dir(root, result.student)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with Gradebook(url) as gradebook, warnings.catch_warnings():
        # nbgrader's own queries trigger SQLAlchemy autoflush warnings here; they are harmless
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(result.student)
        gradebook.update_or_create_submission(ASSIGNMENT, result.student)
        if not result.notebook:
            _score_zero(gradebook, result.student)
    if result.notebook:
        for name, data in helper_files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        (folder / f"{NOTEBOOK}.ipynb").write_bytes(result.notebook)
        resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT,
                                  "student": result.student, "db_url": url}}
        SaveAutoGrades().preprocess(nbformat.reads(result.notebook.decode("utf-8"), as_version=4), resources)
    (folder / RECORD_FILE).write_text(json.dumps({
        "submission_sha256": result.submission_sha256, "assignment_fingerprint": fingerprint,
        "status": result.status, "problems": result.problems,
        "failures": {score.grade_id: score.failure for score in result.scores if score.failure},
    }, indent=1, sort_keys=True) + "\n")


def _score_zero(gradebook: Gradebook, student: str) -> None:
    """No notebook could be graded: every grade is 0, as nbgrader does for a missing notebook."""
    try:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
    except MissingEntry:
        return
    for grade in notebook.grades:
        grade.auto_score = 0
        grade.needs_manual_grade = False
    gradebook.db.commit()
