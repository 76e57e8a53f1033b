"""The mutation check's catalogue judged in this process, in seconds rather than minutes.

Each entry's graded functions run here instead of in a sandboxed kernel, and each test cell is judged
the way course/grader/judge.py judges it: the test cell runs once with handin.py recording as it does in the
kernel under autograding (the public test's calls and the hidden cases' planned calls); then it runs
again against those records, the hidden cases by course.grader.hidden_tests.judge. Most entries change one
exercise, so an exercise's verdict on code judged before is reused (judge's `verdicts`).
What this checks is the judges in public_tests.py and their planned calls, not the grading machinery,
which tests/mutations.py grades for real.

    python -m tests.quick_grading

prints the same score as `python -m tests.mutations`.
"""

import contextlib
import copy
import os
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np

from course.build.sample_class import grade_id
from course.grader import hidden_tests
from course.grader.judge import scored_parts
from course.grader.parts import configured_points
from course.layout import ASSIGNMENT, Stage, course_modules
from public_tests import GRADED_FUNCTIONS
from tests import COURSE, COURSE_ROOT, mutations
from tests.sample_grades import POINTS_PER_EXERCISE


@contextlib.contextmanager
def _autograding(handin, records: Path, plans: Path):
    """handin as it runs in the kernel under autograding: its records in `records`, the hidden cases'
    planned calls read from `plans` (hidden_tests.write_plans there)."""
    saved = handin.RECORDS, handin.PLANS, os.environ.get("NBGRADER_EXECUTION")
    handin.RECORDS, handin.PLANS = records / handin.FOLDER, plans / handin.PLANS_FOLDER
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        yield
    finally:
        handin.RECORDS, handin.PLANS = saved[:2]
        if saved[2] is None:
            del os.environ["NBGRADER_EXECUTION"]
        else:
            os.environ["NBGRADER_EXECUTION"] = saved[2]


def _namespace(*modules):
    """What the notebook's imports of `modules` give the graded functions and the test cells."""
    names = {}
    for module in modules:
        names.update({name: value for name, value in vars(module).items() if not name.startswith("_")})
    return {**names, "np": np}


def _test_cells():
    source = nbformat.read(COURSE.notebook(Stage.SOURCE, None, ASSIGNMENT), as_version=4)
    return {
        exercise: next(cell.source for cell in source.cells if grade_id(cell) == f"test_{exercise}")
        for exercise in GRADED_FUNCTIONS
    }


def _failure(code, namespace):
    """The error that stops `code`; None when it runs to its end."""
    try:
        exec(code, copy.copy(namespace))
    except Exception as error:
        return error
    return None


def judge(submission: bytes, cells, handin, namespace, plans: Path, verdicts=None, points=None) -> dict:
    """{exercise: (the error its test cell ends with as "<name>: <message>", or ""; its parts as
    course.grader.judge.scored_parts gives them, or None)} for one submitted notebook, judged with the helper
    module handin, the names the notebook's imports give, the planned calls in `plans` and the parts'
    `points` ({exercise: {part: points}}, none for all or nothing).
    verdicts, when given, keeps each verdict by what it depends on: the exercise and the graded cells
    its function's cell names (its own and any other graded function it calls). The judges are
    seeded, so an exercise whose code is the same as in an earlier submission gets the same verdict,
    and only the exercises a submission changes are run again."""
    graded = {
        grade_id(cell): cell.source
        for cell in nbformat.reads(submission.decode("utf-8"), as_version=4).cells
        if grade_id(cell) in GRADED_FUNCTIONS
    }
    for source in graded.values():
        exec(source, namespace)
    messages = {}
    for exercise, code in cells.items():
        own = graded.get(exercise, "")
        key = (exercise, *((name, source) for name, source in graded.items() if name == exercise or name in own))
        if verdicts is not None and key in verdicts:
            messages[exercise] = verdicts[key]
            continue
        with tempfile.TemporaryDirectory(prefix="quick-grading-") as folder, _autograding(handin, Path(folder), plans):
            _failure(code, {**namespace, "hidden_tests": handin.hidden_tests})  # the kernel's run, recorded
            calls = handin.read_records(handin.RECORDS).get(0, [])  # outside IPython every call is in "cell" 0
        verdict = _failure(code, {**namespace, **handin.replays(calls, [exercise]), "hidden_tests": hidden_tests.judge})
        parts = None
        if verdict is not None and points and not isinstance(verdict, handin.JudgingError):
            parts = scored_parts(exercise, verdict, handin.replays(calls, [exercise])[exercise], points[exercise])
        messages[exercise] = (f"{type(verdict).__name__}: {verdict}" if verdict else "", parts)
        if verdicts is not None:
            verdicts[key] = messages[exercise]
    return messages


def grade(catalogue=mutations.CATALOGUE, assignment: str = ASSIGNMENT) -> dict:
    """{name: mutations.Outcome} for every entry, judged by the helpers of the edition `assignment`
    as released, so in its language."""
    with course_modules(COURSE.path(Stage.RELEASE, None, assignment)):
        import handin
        import public_tests
        import reg_utils
        import testCases

        points = configured_points(COURSE_ROOT, dict.fromkeys(GRADED_FUNCTIONS, POINTS_PER_EXERCISE))
        return _grade(catalogue, handin, _namespace(reg_utils, testCases, public_tests), points)


def _grade(catalogue, handin, namespace, points) -> dict:
    cells = _test_cells()
    by_name = {mutant.name: mutant for mutant in catalogue}
    outcomes, verdicts = {}, {}
    with tempfile.TemporaryDirectory(prefix="quick-grading-plans-") as plans:
        hidden_tests.write_plans(Path(plans))  # the same planned calls for every submission, written once
        for name, submission in mutations.submissions(catalogue).items():
            judged = judge(submission, cells, handin, namespace, Path(plans), verdicts, points)
            earned = {
                exercise: {part.part: part.points for part in parts}
                if parts
                else {part: 0 if message else value for part, value in points[exercise].items()}
                for exercise, (message, parts) in judged.items()
            }
            exercise = by_name[name].exercise
            outcomes[name] = mutations.Outcome(
                {exercise: sum(by_part.values()) for exercise, by_part in earned.items()},
                judged[exercise][0] if exercise else "",
                parts=earned,
            )
    return outcomes


if __name__ == "__main__":
    lines, clean = mutations.report(grade())
    print("\n".join(lines))
    sys.exit(0 if clean else 1)
