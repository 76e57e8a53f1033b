"""Save grading results in the course's nbgrader gradebook, from a single process.

Workers only compute; this module is the one writer. Scores are saved by nbgrader's
own SaveAutoGrades preprocessor, run on the autograded notebook a worker returned, so
the gradebook holds exactly what `nbgrader autograde` would have put there. Saving a student
again updates their one submission: grades are never duplicated, so a save interrupted by an
unreachable database (a server restart) is simply done again once it answers.

Formgrader reads the gradebook too: the roster gives it names, each submission's time comes from the
timestamp.txt nbgrader collect puts beside it, and a file that is not a notebook is recorded with a
stand-in notebook that says why, so that it is listed for manual grading like the others.
"""

import csv
import shutil
import subprocess
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader import utils as nbgrader_utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy.exc import InterfaceError, OperationalError, SAWarning
from tqdm import tqdm

from course import last_graded
from course.job import GradingResult
from course.layout import ASSIGNMENT, NOTEBOOK, ROSTER, assignment_dir, course_directory, notebook_path

# What nbgrader collect puts beside a submitted notebook; autograde copies them on, and release_feedback reads both.
COLLECTED_FILES = ("timestamp.txt", "submission_secret.txt")
NOT_GRADED = "NotGraded"  # the error name a stand-in notebook's test cells fail with
RETRY_SECONDS = 120  # how long one result waits for an unreachable gradebook before the run stops


class GradebookUnreachable(RuntimeError):
    pass


def db_url(root: Path) -> str:
    """The gradebook URL the course's nbgrader_config.py sets (one source of truth)."""
    return course_directory(root).db_url


def submitted_at(root: Path, student: str) -> datetime | None:
    """When the student handed the submission in, from nbgrader collect's timestamp.txt (naive UTC, as
    nbgrader stores it), or None without one. Formgrader counts a submission as autograded only when
    the gradebook holds this very time, so no other guess (the file's modification time) is recorded."""
    timestamp = assignment_dir(root, "submitted", student) / "timestamp.txt"
    text = timestamp.read_text().strip() if timestamp.exists() else ""
    return nbgrader_utils.parse_utc(text) if text else None


def import_roster(root: Path) -> int:
    """Load students.csv at the course root, if there is one, with nbgrader's own student import
    (names and e-mail for Formgrader); returns how many students it lists."""
    roster = root / ROSTER
    if not roster.exists():
        return 0
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "db", "student", "import", ROSTER], cwd=root, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"nbgrader could not import {roster}:\n{done.stdout}{done.stderr}")
    with open(roster, newline="", encoding="utf-8") as table:
        return sum(1 for _ in csv.DictReader(table))


def save_result(root: Path, url: str, result: GradingResult, fingerprint: str) -> None:
    """Save one result: the autograded folder as nbgrader lays it out, and the scores.
    fingerprint identifies the assignment version the submission was graded against.
    An unreachable gradebook is retried for RETRY_SECONDS, then GradebookUnreachable is raised;
    the student's grading.json is written last, so a later run grades them again."""
    deadline, warned = time.monotonic() + RETRY_SECONDS, False
    while True:
        try:
            return _save(root, url, result, fingerprint)
        except Exception as error:
            cause = _connection_error(error)
            if cause is None:
                raise
            reason = str(cause).strip().splitlines()[0]
            if time.monotonic() > deadline:
                raise GradebookUnreachable(
                    f"could not save {result.student}: the gradebook has been unreachable for {RETRY_SECONDS} s "
                    f"[{reason}]. Grades recorded so far are kept; run the command again to grade the rest."
                ) from error
            if not warned:  # above the progress bar, if one is up
                tqdm.write(
                    f"gradebook unreachable while saving {result.student} [{reason}]; "
                    f"retrying for up to {RETRY_SECONDS} s",
                    file=sys.stderr,
                )
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


def _save(root: Path, url: str, result: GradingResult, fingerprint: str) -> None:
    folder = assignment_dir(root, "autograded", result.student)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    stands_in = result.status == "invalid"  # not a notebook: recorded with a stand-in that says why
    with Gradebook(url) as gradebook, warnings.catch_warnings():
        # nbgrader's own queries trigger SQLAlchemy autoflush warnings here; they are harmless
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(result.student)
        gradebook.update_or_create_submission(ASSIGNMENT, result.student, timestamp=submitted_at(root, result.student))
        if not result.notebook and not stands_in:
            _score_zero(gradebook, result.student)
    notebook = _stand_in_for_unreadable(root, result) if stands_in else result.notebook
    if notebook:
        submitted = assignment_dir(root, "submitted", result.student)
        for name in COLLECTED_FILES:
            if (submitted / name).exists():
                shutil.copyfile(submitted / name, folder / name)
        (folder / f"{NOTEBOOK}.ipynb").write_bytes(notebook)
        resources = {
            "nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "student": result.student, "db_url": url}
        }
        SaveAutoGrades().preprocess(nbformat.reads(notebook.decode("utf-8"), as_version=4), resources)
        if stands_in:
            _comment_everywhere(url, result.student, _not_graded_because(result))
    last_graded.write(root, result, fingerprint)


def _not_graded_because(result: GradingResult) -> str:
    return (
        f"Not graded: {'; '.join(result.problems)}. Nothing in the file could run, so every exercise "
        "scores 0. Hand in the notebook as Jupyter saves it (in JupyterLab: File > Download)."
    )


def _stand_in_for_unreadable(root: Path, result: GradingResult) -> bytes:
    """The released notebook, the reason on top and every test cell failed with the problem: what Formgrader
    lists and the feedback shows for a file that is not a notebook."""
    nb = nbformat.read(notebook_path(root, "release"), as_version=4)
    problems = "; ".join(result.problems)
    for cell in nb.cells:
        if nbgrader_utils.is_grade(cell) and cell.cell_type == "code":
            cell.outputs = [
                nbformat.v4.new_output(
                    "error", ename=NOT_GRADED, evalue=problems, traceback=[f"{NOT_GRADED}: {problems}"]
                )
            ]
    nb.cells.insert(
        0,
        nbformat.v4.new_markdown_cell(
            f"**{_not_graded_because(result)}**\n\n"
            "Below is the assignment as released, not the file that was handed in.",
            id="not-graded",
        ),
    )
    return nbformat.writes(nb).encode("utf-8")


def _comment_everywhere(url: str, student: str, comment: str) -> None:
    """Put `comment` on every cell of the submission that takes one, where Formgrader shows it."""
    with Gradebook(url) as gradebook:
        for cell_comment in gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student).comments:
            cell_comment.auto_comment = comment
        gradebook.db.commit()


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
