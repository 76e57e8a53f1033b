"""What about a student's grading needs the instructor: the kinds, how each is found, what to do.

One policy for every place that tells the instructor: the progress bar and closing lines of
`python -m course grade`, the class report, and the service's report. It is read from the grader's
note of a student's last grading (course.record.last_graded): the status grading ended with, and the test
cells the timeout stopped.
"""

from dataclasses import dataclass
from enum import StrEnum

from course.grader.execute import TIMEOUT
from course.grader.job import Status
from course.layout import NOTEBOOK


class Kind(StrEnum):
    """Most serious first; the first two leave nothing graded."""

    NOT_A_NOTEBOOK = "not a notebook"
    GRADING_ERROR = "grading error"
    DEAD_KERNEL = "dead kernel"
    TIMED_OUT = "timed out"


NOTHING_GRADED = (Kind.NOT_A_NOTEBOOK, Kind.GRADING_ERROR)
KIND_OF_STATUS = {
    Status.INVALID: Kind.NOT_A_NOTEBOOK,
    Status.ERROR: Kind.GRADING_ERROR,
    Status.KILLED: Kind.DEAD_KERNEL,
}
_REGRADE_ONE = "delete autograded/{student}/{assignment}/ and grade again"  # a run regrades what it has no record of
WHAT_TO_DO = {
    Kind.NOT_A_NOTEBOOK: "Ask the student for the notebook again, as Jupyter saves it (JupyterLab: File > Download), "
    "put it in submitted/{student}/{assignment}/ and grade again. Until then it scores 0; "
    "its feedback says why.",
    Kind.GRADING_ERROR: "Not the student's doing: fix what the reason names and grade again. A submission whose "
    "grading failed is graded again on every run until it succeeds.",
    Kind.DEAD_KERNEL: f"Open autograded/{{student}}/{{assignment}}/{NOTEBOOK}.ipynb: the cell where the kernel "
    "stopped says why, and the test cells after it scored 0. If the code was only slow, "
    + _REGRADE_ONE
    + " with a longer --timeout.",
    Kind.TIMED_OUT: "Most likely a loop that never ends, which the student's feedback names. If the code is only "
    "slow, " + _REGRADE_ONE + " with a longer --timeout.",
}


def _problem_prefix(kind: Kind) -> str:
    """How the problem noted for that kind starts: "not a notebook: <why>"."""
    return f"{kind}: "


def not_a_notebook(reason: str) -> str:
    """The problem noted for a file that is not a notebook (or a submission refused at collection)."""
    return _problem_prefix(Kind.NOT_A_NOTEBOOK) + reason


def why_not_a_notebook(problem: str) -> str | None:
    """The reason in a problem that not_a_notebook() made, else None."""
    prefix = _problem_prefix(Kind.NOT_A_NOTEBOOK)
    return problem.removeprefix(prefix) if problem.startswith(prefix) else None


@dataclass
class Attention:
    """Something about a student's grading the instructor should look at."""

    kind: Kind
    reason: str  # what happened, as the grader words it ("the file is not valid JSON (...)")
    what_to_do: str


def needs_attention(student: str, assignment: str, record: dict) -> list[Attention]:
    """What the grader's note of a student's last grading (course.record.last_graded) holds that the
    instructor should look at, most serious first; [] when all went normally."""
    found = []
    if kind := KIND_OF_STATUS.get(record.get("status")):
        reason = "; ".join(record.get("problems", [])).removeprefix(_problem_prefix(kind))
        found.append(Attention(kind, reason or kind, WHAT_TO_DO[kind].format(student=student, assignment=assignment)))
    stopped = {
        grade_id.removeprefix("test_"): failure.removeprefix(f"{TIMEOUT}:").strip()
        for grade_id, failure in sorted(record.get("failures", {}).items())
        if failure.startswith(f"{TIMEOUT}:")
    }
    if stopped:
        reason = "; ".join(f"the test of {function} {message}" for function, message in stopped.items())
        others = "the other tests kept their points" if len(stopped) == 1 else "the others kept their points"
        found.append(
            Attention(
                Kind.TIMED_OUT,
                f"{reason} {'It' if len(stopped) == 1 else 'They'} scored 0; {others}.",
                WHAT_TO_DO[Kind.TIMED_OUT].format(student=student, assignment=assignment),
            )
        )
    return found


def attention_rows(results) -> list:
    """Every (result, item) of results that carry `.student` and `.attention`, the most serious kinds
    first, then by student."""
    rows = [(result, item) for result in results for item in result.attention]
    return sorted(rows, key=lambda row: (list(Kind).index(row[1].kind), row[0].student))
