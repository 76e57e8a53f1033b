"""Reach each test cell's verdict in the grader's process, not in the student's kernel.

The kernel ran the test cells and, through handin.py, recorded what the student's
functions returned on every call. Here the same test cells run again against those
records: reference values, inputs and judges come from the released helpers as the
grader loaded them, from a folder the kernel never saw, so nothing the student's code
did in the kernel (replacing numpy.allclose or the test functions, hiding tracebacks,
printing "All tests passed.") can change the verdict. The verdict replaces the kernel's
errors in the cell: an error output when the test fails, none when it passes, which is
what nbgrader scores. A test that made calls the kernel never recorded fails: its
verdict cannot be known.
"""
import contextlib
import io
import sys
from pathlib import Path

import nbformat
from nbgrader import utils as nbgrader_utils


@contextlib.contextmanager
def course_modules(folder: Path):
    """The helper modules of `folder` importable by their plain names (reg_utils, ...), for the
    duration only: another job may bring other versions of them."""
    names = [path.stem for path in folder.glob("*.py")]
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def judge_test_cells(nb, helpers: Path, records: Path):
    """Rerun every grade cell of the executed notebook `nb` in this process against the kernel's
    records (the folder `records`), with the helpers from the trusted folder `helpers`."""
    with course_modules(helpers):
        import handin
        import public_tests

        namespace = {}
        exec("import numpy as np\n" + "".join(f"from {path.stem} import *\n" for path in sorted(helpers.glob("*.py"))),
             namespace)
        by_cell = handin.read_records(records)
        for cell in nb.cells:
            if nbgrader_utils.is_grade(cell) and cell.cell_type == "code":
                calls = by_cell.get(cell.get("execution_count") or -1, [])
                replays = {name: handin.Replay(name, [call for call in calls if call.get("function") == name])
                           for name in public_tests.GRADED_FUNCTIONS}
                verdict = _run_test_cell(cell, {**namespace, **replays})
                _apply(cell, verdict, handin.JudgingError)
    return nb


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
