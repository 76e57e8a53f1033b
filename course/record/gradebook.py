"""Save grading results in the course's nbgrader gradebook, from a single process.

Workers only compute; this module is the one writer (course.record.results feeds it batches). Scores
are saved by nbgrader's own SaveAutoGrades preprocessor, run on the autograded notebook a worker
returned, and late penalties by its AssignLatePenalties with the plugin nbgrader_config.py names, so
the gradebook holds exactly what `nbgrader autograde` would have put there. Saving a
student again updates their one submission: grades are never duplicated, so a save interrupted by
an unreachable database (a server restart) is simply done again once it answers.

Formgrader reads the gradebook too: the roster gives it names, each submission's time comes from the
timestamp.txt nbgrader collect puts beside it, and a file that is not a notebook is recorded with a
stand-in notebook that says why, so that it is listed for manual grading like the others.
"""

import contextlib
import csv
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader import utils as nbgrader_utils
from nbgrader.api import Gradebook, MissingEntry, Student
from nbgrader.preprocessors import AssignLatePenalties, NbGraderPreprocessor, SaveAutoGrades
from sqlalchemy.exc import InterfaceError, OperationalError, SAWarning
from tqdm import tqdm

from course.grader.job import GradingResult, Status
from course.i18n.catalogue import translations
from course.layout import NOTEBOOK, ROSTER, Course, Stage, course_config, course_directory, edition
from course.record.attention import why_not_a_notebook
from course.rules import Lateness, lateness_of

NOT_GRADED = "NotGraded"  # the error name a stand-in notebook's test cells fail with
RETRY_SECONDS = 120  # how long one result waits for an unreachable gradebook before the run stops


class GradebookUnreachable(RuntimeError):
    pass


def db_url(root: Path) -> str:
    """The gradebook URL the course's nbgrader_config.py sets (one source of truth)."""
    return course_directory(root).db_url


def submitted_at(root: Path, student: str, assignment: str) -> datetime | None:
    """When the student handed the submission in, from nbgrader collect's timestamp.txt (naive UTC, as
    nbgrader stores it), or None without one. Formgrader counts a submission as autograded only when
    the gradebook holds this very time, so no other guess (the file's modification time) is recorded."""
    timestamp = Course(root).path(Stage.SUBMITTED, student, assignment) / "timestamp.txt"
    text = timestamp.read_text().strip() if timestamp.exists() else ""
    return nbgrader_utils.parse_utc(text) if text else None


def import_roster(root: Path, url: str) -> int:
    """Load students.csv at the course root, if there is one, into the gradebook at url, as
    `nbgrader db student import` does (names and e-mail for Formgrader; an empty cell is no value,
    unknown columns are ignored); returns how many students it lists."""
    roster = root / ROSTER
    if not roster.exists():
        return 0
    with open(roster, newline="", encoding="utf-8") as table:
        rows = [{key.strip(): value or None for key, value in row.items()} for row in csv.DictReader(table)]
    if rows and "id" not in rows[0]:
        raise ValueError(f"{roster} needs an id column (id,first_name,last_name,email)")
    columns = set(Student.__table__.c.keys())
    with Gradebook(url) as gradebook:
        for row in rows:
            gradebook.update_or_create_student(row["id"], **{key: row[key] for key in row if key in columns - {"id"}})
    return len(rows)


class GradebookWriter:
    """The course's gradebook, held open for a whole run, so that nbgrader's queries are compiled
    once; each batch of results is saved in one transaction.

    An unreachable gradebook is retried for RETRY_SECONDS, then GradebookUnreachable is raised.
    Saving a batch again is harmless (every row is updated or created), so a batch that failed
    half-way is simply saved again from its start."""

    def __init__(self, root: Path, url: str):
        self.root, self.url, self.gradebook = root, url, None
        self.config = course_config(root)  # AssignLatePenalties' plugin and its settings

    def save(self, batch: list) -> dict[tuple[str, str], Lateness]:
        """Save [(GradingResult, autograded notebook bytes or b"")] in one transaction, late penalties
        included; returns each submission's lateness as saved, by (student, assignment)."""
        students = ", ".join(result.student for result, _ in batch)
        deadline, warned = time.monotonic() + RETRY_SECONDS, False
        while True:
            try:
                return self._save(batch)
            except Exception as error:
                self.close()
                cause = _connection_error(error)
                if cause is None:
                    raise
                reason = str(cause).strip().splitlines()[0]
                if time.monotonic() > deadline:
                    raise GradebookUnreachable(
                        f"could not record {students}: the gradebook has been unreachable for {RETRY_SECONDS} s "
                        f"[{reason}]. Grades recorded so far are kept; run the command again to grade the rest."
                    ) from error
                if not warned:  # above the progress bar, if one is up
                    retrying = f"retrying for up to {RETRY_SECONDS} s"
                    tqdm.write(
                        f"gradebook unreachable while recording {students} [{reason}]; {retrying}", file=sys.stderr
                    )
                    warned = True
                time.sleep(2)

    def _save(self, batch: list) -> dict[tuple[str, str], Lateness]:
        if self.gradebook is None:
            self.gradebook = Gradebook(self.url)
        gradebook = self.gradebook
        with warnings.catch_warnings(), _one_transaction(gradebook):
            # nbgrader's own queries trigger SQLAlchemy autoflush warnings here; they are harmless
            warnings.simplefilter("ignore", SAWarning)
            for result, notebook in batch:
                student, assignment = result.student, result.assignment
                gradebook.update_or_create_student(student)
                submitted = submitted_at(self.root, student, assignment)
                gradebook.update_or_create_submission(assignment, student, timestamp=submitted)
                if not notebook:
                    _score_zero(gradebook, student, assignment)
                    continue
                resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": assignment, "student": student}}
                # Written by nbformat on a worker: read without validating it again, which costs more.
                nb = nbformat.v4.reads(notebook.decode())
                SaveAutoGradesThrough(gradebook).preprocess(nb, resources)
                AssignLatePenaltiesThrough(gradebook, config=self.config).preprocess(nb, resources)
                if result.status == Status.INVALID:
                    _comment_everywhere(gradebook, student, assignment, not_graded_because(result))
            return {
                (result.student, result.assignment): lateness_of(gradebook, result.student, result.assignment, NOTEBOOK)
                for result, _ in batch
            }

    def close(self) -> None:
        if self.gradebook is not None:
            self.gradebook.close()
            self.gradebook = None


class SaveAutoGradesThrough(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, writing through a gradebook that is already open."""

    def __init__(self, gradebook: Gradebook, **kwargs):
        super().__init__(**kwargs)
        self.open_gradebook = gradebook

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.gradebook = self.open_gradebook
        return NbGraderPreprocessor.preprocess(self, nb, resources)


class AssignLatePenaltiesThrough(AssignLatePenalties):
    """nbgrader's AssignLatePenalties, through a gradebook that is already open: the configured plugin
    prices the lateness nbgrader computes (extension included), checked by nbgrader's own bounds."""

    def __init__(self, gradebook: Gradebook, **kwargs):
        super().__init__(**kwargs)
        self.open_gradebook = gradebook

    def preprocess(self, nb, resources):
        student, assignment = resources["nbgrader"]["student"], resources["nbgrader"]["assignment"]
        self.init_plugin()
        submission = self.open_gradebook.find_submission(assignment, student)
        notebook = self.open_gradebook.find_submission_notebook(resources["nbgrader"]["notebook"], assignment, student)
        penalty = None
        if submission.total_seconds_late > 0:
            penalty = self.plugin_inst.late_submission_penalty(student, notebook.score, submission.total_seconds_late)
        notebook.late_submission_penalty = None if penalty is None else self._check_late_penalty(notebook, penalty)
        self.open_gradebook.db.commit()
        return nb, resources


@contextlib.contextmanager
def _one_transaction(gradebook: Gradebook):
    """nbgrader commits after every row it saves; inside this block those commits only flush,
    and the block's work is committed once at its end, or rolled back."""
    session = gradebook.db
    session.commit = session.flush
    try:
        yield
        del session.commit
        session.commit()
    except BaseException:
        session.__dict__.pop("commit", None)
        session.rollback()
        raise


def _connection_error(error: BaseException):
    """The database error behind `error` that waiting may cure (lost connection, server starting,
    lock timeout), or None. nbgrader re-raises such errors as InvalidEntry."""
    while error is not None:
        if isinstance(error, (OperationalError, InterfaceError)):
            return error
        error = error.__cause__ or error.__context__
    return None


def not_graded_because(result: GradingResult) -> str:
    """Why a file that is not a notebook scores 0, in the language of the edition handed in; a problem
    the catalogue knows (the file is not valid JSON, ...) is translated too."""
    _ = translations(edition(result.assignment).language).gettext
    problems = "; ".join(
        _("not a notebook: {reason}").format(reason=_(reason)) if (reason := why_not_a_notebook(problem)) else problem
        for problem in result.problems
    )
    return _(
        "Not graded: {problems}. Nothing in the file could run, so every exercise scores 0. Hand in the "
        "notebook as Jupyter saves it (in JupyterLab: File > Download)."
    ).format(problems=problems)


def stand_in_for_unreadable(root: Path, result: GradingResult) -> bytes:
    """The released notebook, the reason on top and every test cell failed with the problem: what Formgrader
    lists and the feedback shows for a file that is not a notebook."""
    nb = nbformat.read(Course(root).notebook(Stage.RELEASE, None, result.assignment), as_version=4)
    _ = translations(edition(result.assignment).language).gettext
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
            f"**{not_graded_because(result)}**\n\n"
            + _("Below is the assignment as released, not the file that was handed in."),
            id="not-graded",
        ),
    )
    return nbformat.writes(nb).encode("utf-8")


def _comment_everywhere(gradebook: Gradebook, student: str, assignment: str, comment: str) -> None:
    """Put `comment` on every cell of the submission that takes one, where Formgrader shows it."""
    for cell_comment in gradebook.find_submission_notebook(NOTEBOOK, assignment, student).comments:
        cell_comment.auto_comment = comment
    gradebook.db.commit()


def _score_zero(gradebook: Gradebook, student: str, assignment: str) -> None:
    """No notebook could be graded: every grade is 0, as nbgrader does for a missing notebook."""
    try:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, assignment, student)
    except MissingEntry:
        return
    for grade in notebook.grades:
        grade.auto_score = 0
        grade.needs_manual_grade = False
    notebook.late_submission_penalty = None
    gradebook.db.commit()
