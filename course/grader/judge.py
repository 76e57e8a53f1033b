"""Reach each test cell's verdict in the grader's process, not in the student's kernel.

The kernel ran the test cells and, through handin.py, recorded what the student's
functions returned on every call, the hidden cases' calls included. Here the same test
cells run again against those records: inputs and judges come from the released helpers
as the grader loaded them, from a folder the kernel never saw, and `hidden_tests` is
course.grader.hidden_tests.judge, whose expected values exist only here. So nothing the
student's code did in the kernel (replacing numpy.allclose or the test functions, hiding
tracebacks, printing "All tests passed.") can change the verdict. The verdict replaces the
kernel's errors in the cell: an error output when the test fails, none when it passes,
which is what nbgrader scores. A test that made calls the kernel never recorded fails:
its verdict cannot be known. A test cell stopped by the timeout, or whose function's cell
could not be compiled, says so in words.
"""

import contextlib
import io
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils

from course.grader import hidden_tests
from course.grader.execute import TIMEOUT
from course.layout import course_modules

# What a solution cell that could not even be compiled shows: its function was never defined.
COMPILE_ERRORS = ("SyntaxError", "IndentationError", "TabError")


def judge_test_cells(nb: NotebookNode, helpers: Path, workdir: Path) -> NotebookNode:
    """Rerun every grade cell of the executed notebook `nb` in this process against the records the
    kernel left in its folder `workdir`, with the helpers from the trusted folder `helpers`."""
    with course_modules(helpers):
        import handin
        import public_tests

        namespace = {}
        exec(
            "import numpy as np\n" + "".join(f"from {path.stem} import *\n" for path in sorted(helpers.glob("*.py"))),
            namespace,
        )
        namespace["hidden_tests"] = hidden_tests.judge
        by_cell = handin.read_records(workdir / handin.FOLDER)
        for cell in nb.cells:
            if not (nbgrader_utils.is_grade(cell) and cell.cell_type == "code"):
                continue
            if any(output.get("ename") == TIMEOUT for output in cell.outputs):
                cell.outputs = [output for output in cell.outputs if output.get("ename") == TIMEOUT]
                continue  # the test never finished in the kernel: it fails as it is
            replays = handin.replays(by_cell.get(cell.get("execution_count") or -1, []), public_tests.GRADED_FUNCTIONS)
            verdict = _run_test_cell(cell, {**namespace, **replays})
            if verdict is not None and (not_run := _definition_not_run(nb, _tested_function(cell))):
                verdict = not_run
            _apply(cell, verdict, handin.JudgingError)
    return nb


class NotRun(Exception):
    """The cell that defines the tested function could not run at all."""


def _tested_function(cell) -> str:
    return cell.metadata.nbgrader["grade_id"].removeprefix("test_")


def _definition_not_run(nb, function: str):
    """A NotRun naming the compile error of the solution cell that defines `function`, if it had one,
    in the release's language (called inside course_modules(helpers), whose translation module knows it)."""
    from translation import _

    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade_id") == function:
            for output in cell.get("outputs", []):
                if output.output_type == "error" and output.ename in COMPILE_ERRORS:
                    line = re.search(r"line (\d+)", output.evalue)
                    details = {"function": function, "error": output.ename, "reason": output.evalue.split(" (")[0]}
                    if line:
                        message = _("the cell that defines {function} did not run: {error} at line {line} ({reason})")
                        return NotRun(message.format(line=line.group(1), **details))
                    return NotRun(
                        _("the cell that defines {function} did not run: {error} ({reason})").format(**details)
                    )
    return None


def _run_test_cell(cell, namespace):
    """None if the cell runs to its end, else the exception that stopped it."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            exec(compile(cell.source, f"<{cell.metadata.nbgrader['grade_id']}>", "exec"), namespace)
        except Exception as error:
            return error
    return None


def _apply(cell, verdict, judging_error):
    """Make the cell's error outputs say the verdict. When the test could not finish on the records
    (a judging_error), the kernel's own errors stay too: they tell why it stopped there."""
    kernel_errors = [output for output in cell.outputs if output.output_type == "error"]
    if verdict is None:
        cell.outputs = [output for output in cell.outputs if output.output_type != "error"]
        return
    name, message = type(verdict).__name__, str(verdict)
    if any(output.ename == name and output.evalue == message for output in kernel_errors):
        return  # the kernel told the same story, with a traceback into the student's code
    if not isinstance(verdict, judging_error):
        cell.outputs = [output for output in cell.outputs if output.output_type != "error"]
    cell.outputs.append(nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"]))
