"""Reach each test cell's verdict in the grader's process, not in the student's kernel.

The kernel ran the test cells and, through handin.py, recorded what the student's
functions returned on every call, the hidden cases' calls included. Here the same test
cells run again against those records: inputs and judges come from the released helpers
as the grader loaded them, from a folder the kernel never saw (helpers.py), and `hidden_tests`
is course.grader.hidden_tests.judge, whose expected values exist only here. So nothing the
student's code did in the kernel (replacing numpy.allclose or the test functions, hiding
tracebacks, printing "All tests passed.") can change the verdict. The verdict replaces the
kernel's errors in the cell: an error output when the test fails, none when it passes,
which is what nbgrader scores. A test that made calls the kernel never recorded fails:
its verdict cannot be known. A test cell stopped by the timeout, or whose function's cell
could not be compiled, says so in words.

With partial credit (course/grader/parts.py), a failed test is followed by the list of its exercise's parts,
each with its points and, when wrong, why. A partly right exercise keeps no error output: its failure
and that list are printed, and the cell's result is the points earned, which nbgrader's determine_grade
reads as the cell's partial score. Only the judge gives a test cell a result: any the kernel left (a
student's function can call sys.displayhook) is dropped.
"""

import contextlib
import io
import re
from dataclasses import replace
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils

from course.grader.execute import TIMEOUT
from course.grader.helpers import TrustedHelpers
from course.grader.parts import Mark, judge_parts
from course.i18n.catalogue import N_

# What a solution cell that could not even be compiled shows: its function was never defined.
COMPILE_ERRORS = ("SyntaxError", "IndentationError", "TabError")
# The lines of the list of parts (course/record/report.py reads which parts are wrong from it).
PARTS_HEADER = N_("Points by part: {points} of {max_points}.")
RIGHT_PART = N_("{part}: {points} of {max_points}, right.")
WRONG_PART = N_("{part}: {points} of {max_points}, wrong: {reason}")


def judge_test_cells(
    nb: NotebookNode, helpers: TrustedHelpers, workdir: Path, points: dict | None = None
) -> NotebookNode:
    """Rerun every grade cell of the executed notebook `nb` in this process against the records the
    kernel left in its folder `workdir`, with the grader's own helpers.
    points: {exercise: {part: points}} for partial credit; none grades each test all or nothing."""
    with helpers.imported():
        import handin
        import public_tests

        namespace = {**helpers.namespace, "hidden_tests": helpers.judge}
        by_cell = handin.read_records(workdir / handin.FOLDER)
        for cell in nb.cells:
            if not (nbgrader_utils.is_grade(cell) and cell.cell_type == "code"):
                continue
            cell.outputs = [output for output in cell.outputs if output.output_type != "execute_result"]
            if any(output.get("ename") == TIMEOUT for output in cell.outputs):
                cell.outputs = [output for output in cell.outputs if output.get("ename") == TIMEOUT]
                continue  # the test never finished in the kernel: it fails as it is
            records = by_cell.get(cell.get("execution_count") or -1, [])
            verdict = _run_test_cell(cell, {**namespace, **handin.replays(records, public_tests.GRADED_FUNCTIONS)})
            function = _tested_function(cell)
            if verdict is not None and (not_run := _definition_not_run(nb, function)):
                verdict = not_run
            _apply(cell, verdict, handin.JudgingError)
            if verdict is not None and points and not isinstance(verdict, (handin.JudgingError, NotRun)):
                parts = scored_parts(function, verdict, handin.replays(records, [function])[function], points[function])
                if parts is not None:
                    _apply_parts(cell, verdict, parts)
    return nb


def scored_parts(function: str, verdict: Exception, replay, points: dict):
    """The parts of a failed test's exercise, judged on the kernel's calls (replay); None when they
    cannot be judged (a call the kernel did not make). A test that failed with every part right failed
    on something no part covers: then no part is credited."""
    import handin
    from translation import _

    try:
        parts = judge_parts(function, replay, points)
    except handin.JudgingError:
        return None
    if all(part.mark is Mark.RIGHT for part in parts):
        reason = _("the test failed on something no part covers, so no part is credited.")
        parts = [replace(part, mark=Mark.WRONG, points=0, reason=reason) for part in parts]
    return parts


def part_lines(parts) -> str:
    """The list of an exercise's parts with their points, as the student reads it (translated)."""
    from translation import _

    earned, total = sum(part.points for part in parts), sum(part.max_points for part in parts)
    lines = [_(PARTS_HEADER).format(points=f"{earned:g}", max_points=f"{total:g}")]
    for part in parts:
        values = {"part": part.part, "points": f"{part.points:g}", "max_points": f"{part.max_points:g}"}
        if part.mark is Mark.RIGHT:
            lines.append(_(RIGHT_PART).format(**values))
        else:
            lines.append(_(WRONG_PART).format(reason=part.reason, **values))
    return "\n".join(lines) + "\n"


def _apply_parts(cell, verdict, parts):
    """After _apply: list the parts; a partly right exercise's failure is printed instead of raised,
    and the cell's result is its points."""
    listing = nbformat.v4.new_output("stream", name="stdout", text=part_lines(parts))
    earned = sum(part.points for part in parts)
    if not earned:
        cell.outputs.append(listing)
        return
    failure = nbformat.v4.new_output("stream", name="stdout", text=f"{type(verdict).__name__}: {verdict}\n")
    cell.outputs = [output for output in cell.outputs if output.output_type != "error"]
    result = nbformat.v4.new_output("execute_result", data={"text/plain": f"{earned:g}"})
    result.execution_count = cell.get("execution_count")
    cell.outputs += [failure, listing, result]


def judged(cell) -> tuple[str, str]:
    """(the failure, the list of parts) a judged grade cell shows: "ExceptionName: message" of its error,
    or of a partly right exercise the text printed before the list; "" for what it does not show."""
    outputs = cell.get("outputs", [])
    if len(outputs) >= 3 and outputs[-1].output_type == "execute_result":
        return outputs[-3].text.removesuffix("\n"), outputs[-2].text
    errors = [output for output in outputs if output.output_type == "error"]
    if not errors:
        return "", ""
    listing = outputs[-1].text if outputs[-1].output_type == "stream" else ""
    return f"{errors[0].ename}: {errors[0].evalue}", listing


class NotRun(Exception):
    """The cell that defines the tested function could not run at all."""


def _tested_function(cell) -> str:
    return cell.metadata.nbgrader["grade_id"].removeprefix("test_")


def _definition_not_run(nb, function: str):
    """A NotRun naming the compile error of the solution cell that defines `function`, if it had one,
    in the release's language (called inside helpers.imported(), whose translation module knows it)."""
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
