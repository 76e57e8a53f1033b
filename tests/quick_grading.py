"""The mutation check's catalogue judged in this process, in seconds rather than minutes.

Each entry's graded functions run here instead of in a sandboxed kernel, and each test cell is judged
the way course/judge.py judges it: the public test runs once on the functions with every call
recorded as data, as the kernel hands them in (handin.py), and the hidden cases' planned calls are
made; then the cell runs again against those records, the hidden cases by course.hidden_tests.judge.
What this checks is the judges in public_tests.py and their planned calls, not the grading machinery,
which tests/mutations.py grades for real.

    python -m tests.quick_grading

prints the same score as `python -m tests.mutations`.
"""
import copy
import sys

import nbformat
import numpy as np

from course import COURSE_ROOT
from course.sample_class import EXERCISES, POINTS_PER_EXERCISE, grade_id, notebook_path
from tests import mutations

sys.path.insert(0, str(COURSE_ROOT))  # the helpers, imported by their plain names as in the notebook

import handin  # noqa: E402
import public_tests  # noqa: E402
import reg_utils  # noqa: E402
import testCases  # noqa: E402
from course import hidden_tests  # noqa: E402


def _as_handed_in(value):
    """value after the trip from the kernel to the grader: encoded as data, then decoded."""
    arrays = []
    return handin.decode(handin.encode(value, arrays), arrays)


class _Kernel:
    """A graded function as the kernel runs it: every call recorded as handin records one."""

    def __init__(self, function, target):
        self.function, self.target, self.records = function, target, []

    def __call__(self, *args):
        before = handin.encode(args)
        record = {"function": self.function, "arguments": handin.call_key(args)}
        try:
            result = self.target(*args)
        except Exception as error:
            record["raised"] = [type(error).__name__, str(error)]
            raise
        else:
            record["returned"] = _as_handed_in(result)
            return result
        finally:
            if handin.encode(args) != before:
                record["arguments_after"] = _as_handed_in(args)
            self.records.append(record)


def _kernel_hidden_tests(function, target):
    """handin.hidden_tests under autograding: make the planned calls, check nothing."""
    for arguments, seed in _as_handed_in([list(call) for call in hidden_tests.planned_calls(function)]):
        if seed is not None:
            np.random.seed(seed)
        try:
            target(*arguments)
        except Exception:
            pass


def _namespace():
    """What the notebook's imports give the graded functions and the test cells."""
    names = {}
    for module in (reg_utils, testCases, public_tests):
        names.update({name: value for name, value in vars(module).items() if not name.startswith("_")})
    return {**names, "np": np}


def _test_cells():
    source = nbformat.read(notebook_path(COURSE_ROOT, "source"), as_version=4)
    return {exercise: next(cell.source for cell in source.cells if grade_id(cell) == f"test_{exercise}")
            for exercise in EXERCISES}


def _failure(code, namespace) -> str:
    """The error that stops `code`, as "<name>: <message>"; empty when it runs to its end."""
    try:
        exec(code, copy.copy(namespace))
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return ""


def judge(submission: bytes, cells=None) -> dict:
    """{exercise: the error its test cell ends with, or ""} for one submitted notebook."""
    cells = cells or _test_cells()
    namespace = _namespace()
    for cell in nbformat.reads(submission.decode("utf-8"), as_version=4).cells:
        if grade_id(cell) in EXERCISES:
            exec(cell.source, namespace)
    messages = {}
    for exercise, code in cells.items():
        kernel = _Kernel(exercise, namespace[exercise])
        _failure(code, {**namespace, exercise: kernel, "hidden_tests": _kernel_hidden_tests})
        replay = handin.Replay(exercise, kernel.records)
        messages[exercise] = _failure(code, {**namespace, exercise: replay, "hidden_tests": hidden_tests.judge})
    return messages


def grade(catalogue=mutations.CATALOGUE) -> dict:
    """{name: mutations.Outcome} for every entry."""
    cells = _test_cells()
    by_name = {mutant.name: mutant for mutant in catalogue}
    outcomes = {}
    for name, submission in mutations.submissions(catalogue).items():
        messages = judge(submission, cells)
        points = {exercise: 0 if message else POINTS_PER_EXERCISE for exercise, message in messages.items()}
        outcomes[name] = mutations.Outcome(points, messages[by_name[name].exercise] if by_name[name].exercise else "")
    return outcomes


if __name__ == "__main__":
    lines, clean = mutations.report(grade())
    print("\n".join(lines))
    sys.exit(0 if clean else 1)
