"""Record grading results in the course's nbgrader gradebook, from a single process.

Workers only compute; this module is the one writer. Scores are saved by nbgrader's
own SaveAutoGrades preprocessor, run on the autograded notebook a worker returned, so
the gradebook holds exactly what `nbgrader autograde` would have put there. Re-recording
a student updates their one submission: grades are never duplicated, so a record interrupted by
an unreachable database (a server restart) is simply done again once it answers.
"""
import contextlib
import json
import shutil
import sys
import time
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import InterfaceError, OperationalError, SAWarning
from sqlalchemy.pool import NullPool
from tqdm import tqdm

from course import ASSIGNMENT, NOTEBOOK, course_directory
from course.unit import GradingResult

RECORD_FILE = "grading.json"  # beside the autograded notebook: which submission it came from
RETRY_SECONDS = 120  # how long one result waits for an unreachable gradebook before the run stops
SETUP_LOCK = 7_220_308  # PostgreSQL advisory lock id held while a run builds the release


class GradebookUnreachable(RuntimeError):
    pass


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


@contextlib.contextmanager
def setup_lock(url: str):
    """Hold this while building the release. Runs sharing a PostgreSQL gradebook must take turns:
    nbgrader creates its tables and the assignment's rows unguarded, and two at once collide.
    SQLite needs nothing: writers lock its whole file."""
    if make_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:  # the lock lasts as long as this session
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": SETUP_LOCK})
            yield
    finally:
        engine.dispose()


def record(root: Path, url: str, result: GradingResult, helper_files: dict, fingerprint: str) -> None:
    """Store one result: the autograded folder as nbgrader lays it out, and the scores.
    fingerprint identifies the assignment version the submission was graded against.
    An unreachable gradebook is retried for RETRY_SECONDS, then GradebookUnreachable is raised;
    the student's grading.json is written last, so a later run grades them again."""
    deadline, warned = time.monotonic() + RETRY_SECONDS, False
    while True:
        try:
            return _store(root, url, result, helper_files, fingerprint)
        except Exception as error:
            cause = _connection_error(error)
            if cause is None:
                raise
            reason = str(cause).strip().splitlines()[0]
            if time.monotonic() > deadline:
                raise GradebookUnreachable(
                    f"could not record {result.student}: the gradebook has been unreachable for {RETRY_SECONDS} s "
                    f"[{reason}]. Grades recorded so far are kept; run the command again to grade the rest.") from error
            if not warned:  # above the progress bar, if one is up
                tqdm.write(f"gradebook unreachable while recording {result.student} [{reason}]; "
                           f"retrying for up to {RETRY_SECONDS} s", file=sys.stderr)
                warned = True
            time.sleep(2)


def _connection_error(error: BaseException):
    """The database error behind `error` that waiting may cure (lost connection, server starting,
    lock timeout), or None. nbgrader re-raises such errors as InvalidEntry."""
    while error is not None:
        if isinstance(error, (OperationalError, InterfaceError)):
            return error
        error = error.__cause__ or error.__context__
    return None


def _store(root: Path, url: str, result: GradingResult, helper_files: dict, fingerprint: str) -> None:
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
