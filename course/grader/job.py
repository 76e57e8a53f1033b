"""The plain data that travels between the grading run and its workers (local or on a cluster)."""

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from course.grader.sandbox import Limits
from course.layout import edition


class Status(StrEnum):
    """How grading a submission ended; grading.json and the service's journal keep the value."""

    GRADED = "graded"
    KILLED = "killed"  # the kernel ignored interrupts and was killed; later tests scored 0
    INVALID = "invalid"  # not a notebook, or refused at collection: nothing could run
    ERROR = "error"  # grading itself failed, not the student's doing: graded again on the next run


@dataclass(frozen=True)
class AssignmentPackage:
    """What a worker needs to grade any submission of the assignment (built by course.build.package).

    assignment: the nbgrader assignment id (one per edition);
    files: released helper files by relative path (reg_utils.py, datasets/data.mat, ...);
    gradebook: an SQLite gradebook holding the assignment's source cells;
    skipped_at_grading: grade_ids of the locked cells that only train or plot, read from the release
    (never from the submission: a student cannot untag a training cell, nor tag a test cell away);
    parts: {exercise: {part: points}} from the course's config for partial credit, {} for all or nothing.
    """

    assignment: str
    files: dict
    gradebook: bytes
    skipped_at_grading: tuple = ()
    parts: dict = field(default_factory=dict)

    @property
    def language(self) -> str:
        return edition(self.assignment).language

    def write_files(self, folder: Path) -> None:
        """The released helper files, laid out in `folder` as in the release."""
        for name, data in self.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)

    @cached_property
    def digest(self) -> str:
        """Tells two packages apart, even as copies unpickled in a worker."""
        digest = hashlib.sha256(self.assignment.encode() + b"\0" + self.gradebook)
        digest.update(json.dumps(self.parts).encode())
        for name, data in sorted(self.files.items()):
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()


@dataclass(frozen=True)
class GradingJob:
    student: str
    submission: bytes
    package: AssignmentPackage
    cell_timeout: int  # seconds a cell may run; the course's is nbgrader_config.py's Execute.timeout
    sandbox: bool = True  # run the kernel in bubblewrap (sandbox.py); off only for local debugging
    limits: Limits = Limits()
    full: bool = False  # run the cells that only train or plot too

    @property
    def submission_key(self) -> tuple[str, str]:
        """(student, assignment): a student may hand in both editions."""
        return self.student, self.package.assignment


@dataclass
class CellScore:
    grade_id: str
    points: float
    max_points: float
    failure: str = ""  # "ename: evalue" of the first error, empty when the cell passed


@dataclass
class GradingResult:
    student: str
    assignment: str
    submission_sha256: str
    status: Status
    scores: list = field(default_factory=list)
    notebook: bytes = b""  # the autograded notebook, empty when nothing could be run
    feedback: bytes = b""  # its feedback page (HTML), rendered on the worker so that the main process only saves it
    problems: list = field(default_factory=list)  # what the instructor should look at
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(score.points for score in self.scores)

    @property
    def max_points(self) -> float:
        return sum(score.max_points for score in self.scores)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def grading_failed(job: GradingJob, error: BaseException) -> GradingResult:
    """The result of a submission whose grading raised: not the submission's doing (grading never raises
    for one), so it needs attention and is graded again on the next run."""
    return _not_graded(job, f"grading failed ({type(error).__name__}): {str(error)[:300]}")


def killed_workers(job: GradingJob, times: int) -> GradingResult:
    """The result of a submission that took its grading worker down every time it ran: scored 0."""
    return _not_graded(job, f"the grading worker died {times} times while grading this submission")


def _not_graded(job: GradingJob, problem: str) -> GradingResult:
    return GradingResult(job.student, job.package.assignment, sha256(job.submission), Status.ERROR, problems=[problem])
