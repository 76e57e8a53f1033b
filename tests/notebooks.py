"""Reading and running the course notebooks from the tests."""

import os
import re
from pathlib import Path

import nbformat
import numpy as np
from nbclient import NotebookClient

from course.grader.judge import judged
from course.layout import ASSIGNMENT, Stage
from public_tests import GRADED_FUNCTIONS
from tests import COURSE

SOURCE_NOTEBOOK = COURSE.notebook(Stage.SOURCE, None, ASSIGNMENT)
RELEASE_NOTEBOOK = COURSE.notebook(Stage.RELEASE, None, ASSIGNMENT)
NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?")


def execute(path: Path, timeout: int = 300):
    """Run a notebook top to bottom in its own folder, errors recorded rather than raised."""
    return run(nbformat.read(path, as_version=4), path.parent, timeout=timeout)


def run(nb, folder: Path, env: dict | None = None, timeout: int = 300):
    """Run nb's cells in folder, its kernel's environment this one's with env's variables set over it."""
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    ).execute(env={**os.environ, **(env or {})})
    return nb


def stdout(cell) -> str:
    return "".join(
        out.get("text", "") for out in cell.get("outputs", []) if out.output_type == "stream" and out.name == "stdout"
    )


def errors(cell) -> list:
    return [out for out in cell.get("outputs", []) if out.output_type == "error"]


def failed_test_cells(nb) -> dict:
    """{grade_id: its errors as "ExceptionName: message" lines} of each grade cell that failed; for a
    partly right exercise, the failure it prints instead (course.grader.judge.judged)."""
    found = {}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and errors(cell):
            found[cell.metadata.nbgrader["grade_id"]] = "\n".join(f"{e.ename}: {e.evalue}" for e in errors(cell))
        elif cell.metadata.get("nbgrader", {}).get("grade") and (failure := judged(cell)[0]):
            found[cell.metadata.nbgrader["grade_id"]] = failure
    return found


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def cell_by_id(nb, wanted):
    return next(cell for cell in nb.cells if grade_id(cell) == wanted)


def expected_outputs(nb):
    """(code cell, expected text) for every "**Expected output**" block, paired with the code cell above it."""
    pairs, last_code = [], None
    for cell in nb.cells:
        if cell.cell_type == "code":
            last_code = cell
        elif cell.source.startswith("**Expected output**"):
            pairs.append((last_code, cell.source.split("```")[1].strip("\n")))
    return pairs


def same_text_and_numbers(got: str, expected: str, rtol: float = 1e-6) -> bool:
    """Equal text, with numbers compared to a relative tolerance (last digits vary across CPUs)."""
    got, expected = got.strip(), expected.strip()
    got_numbers = [float(x) for x in NUMBER.findall(got)]
    expected_numbers = [float(x) for x in NUMBER.findall(expected)]
    same_words = NUMBER.sub("#", got).split() == NUMBER.sub("#", expected).split()
    return (
        same_words
        and len(got_numbers) == len(expected_numbers)
        and bool(np.allclose(got_numbers, expected_numbers, rtol=rtol, atol=1e-12))
    )


def accuracies(cell) -> tuple[float, float]:
    """(train, test) accuracy printed by a training cell."""
    train, test = (float(x) for x in re.findall(r"Accuracy: (\S+)", stdout(cell)))
    return train, test


def reference_solutions() -> dict:
    """The four graded functions as the source notebook defines them."""
    import reg_utils

    nb = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    namespace = {"np": np, **{name: getattr(reg_utils, name) for name in dir(reg_utils)}}
    for cell in nb.cells:
        if grade_id(cell) in GRADED_FUNCTIONS:
            exec(compile(cell.source, f"<{grade_id(cell)}>", "exec"), namespace)
    return {name: namespace[name] for name in GRADED_FUNCTIONS}
