"""A sample class of submissions, each with one known mistake, to check that grading scores what it should.

Every submission is built from the release notebook, so it never drifts from what students get. The
correct code comes from the source notebook's solution blocks, and each mistake is a small edit of that
code that must find its target: a change to the source fails here instead of building a correct answer.

Run `python -m course.build.sample_class` to write submitted/<student>/<assignment>/<notebook>.ipynb, and beside
each the timestamp.txt that nbgrader collect would have written. A few students hand in the Chinese
edition: each is the twin of an English-edition student (the same code), so both are graded alike.
"""

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat

from course.layout import ASSIGNMENT, EDITIONS, Course, Stage, course_root

# The stub nbgrader_config.py puts in place of each solution block, indented like the block.
STUB_LINES = ("# YOUR CODE HERE", 'raise NotImplementedError("replace this line with your code")')
STUB = re.compile(rf"^([ \t]*){re.escape(STUB_LINES[0])}\n\1{re.escape(STUB_LINES[1])}$", re.MULTILINE)
SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)\n[ \t]*### END SOLUTION$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Edit:
    """Replace `old` by `new`, exactly once, in solution block `block` of cell `cell`.

    block=None edits the whole cell after its solutions are filled in: a student may also change
    the code the release provides around the stubs.
    """

    cell: str
    old: str
    new: str
    block: int | None = None


@dataclass(frozen=True)
class DeleteCell:
    """Remove the cell with this grade_id, as a student clearing out "noise" might."""

    cell: str


def in_each_block(cell: str, old: str, new: str, layers: tuple) -> list[Edit]:
    """The same edit in each solution block of `cell`, in order, "{layer}" standing for the layer the
    block is about (layers[0] for block 0, ...)."""
    return [
        Edit(cell, old.format(layer=layer), new.format(layer=layer), block=block) for block, layer in enumerate(layers)
    ]


UNFILLED = "unfilled"  # hand in the release as received: every stub still raises
TRUNCATED = "truncated"  # a broken upload: the file stops halfway through its JSON

STUDENTS = {
    "full-marks": [],
    "untouched": [UNFILLED],
    "half-missing-in-cost": [
        Edit("compute_cost_with_regularization", "lambd / (2 * m)", "lambd / m", block=0),
    ],
    "regularized-biases": [
        Edit(
            "backward_propagation_with_regularization",
            f"np.sum(dZ{layer}, axis=1, keepdims=True)\n",
            f"np.sum(dZ{layer}, axis=1, keepdims=True) + lambd / m * b{layer}\n",
        )
        for layer in (3, 2, 1)
    ],
    # Right in layer 1, forgets to scale layer 2: partial credit, the points of layer 1.
    "unscaled-dropout": [
        Edit("forward_propagation_with_dropout", "A2 = A2 * D2\n    A2 = A2 / keep_prob", "A2 = A2 * D2", block=1),
    ],
    "mask-on-activations": in_each_block(
        "backward_propagation_with_dropout",
        "dA{layer} = dA{layer} * D{layer}\n    dA{layer} = dA{layer} / keep_prob",
        "A{layer} = A{layer} * D{layer} / keep_prob",
        layers=(2, 1),
    ),
    "raises-in-function": [
        Edit("backward_propagation_with_regularization", "np.dot(dZ3, A2.T)", "np.dot(dZ3, A2)", block=0),
    ],
    # Masks one unit's row at a time but never moves on to the next row.
    "infinite-loop": [
        Edit(
            "backward_propagation_with_dropout",
            "dA2 = dA2 * D2\n",
            "i = 0\n    while i < dA2.shape[0]:  # mask unit by unit\n        dA2[i] = dA2[i] * D2[i]\n",
            block=0,
        ),
    ],
    "not-json": [TRUNCATED],
    "deleted-test-cell": [DeleteCell("test_forward_propagation_with_dropout")],
}
CHINESE_EDITION = EDITIONS[1].assignment
# Chinese-edition student: their English-edition twin, whose code they hand in.
TWINS = {"full-marks-zh": "full-marks", "unscaled-dropout-zh": "unscaled-dropout"}
STUDENTS.update({student: STUDENTS[twin] for student, twin in TWINS.items()})


def edition_of(student: str) -> str:
    """The assignment (edition) the student hands in."""
    return CHINESE_EDITION if student in TWINS else ASSIGNMENT


# When each student handed in: fixed, so that the sample class and its grading reproduce byte for byte.
FIRST_HANDED_IN = datetime(2025, 3, 14, 9, 12, 5, 250000, tzinfo=UTC)
BETWEEN_STUDENTS = timedelta(minutes=47, seconds=31)
COLLECT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's ExchangeCollect.timestamp_format, in UTC


def handed_in(student: str) -> str:
    """The student's timestamp.txt, as nbgrader collect writes it: "2025-03-14 09:12:05.250000 UTC"."""
    return (FIRST_HANDED_IN + list(STUDENTS).index(student) * BETWEEN_STUDENTS).strftime(COLLECT_TIME_FORMAT)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def solution_blocks(source_nb) -> dict[str, list[str]]:
    """grade_id -> the correct code between each BEGIN/END SOLUTION pair of that cell, in order."""
    return {
        grade_id(cell): SOLUTION_BLOCK.findall(cell.source)
        for cell in source_nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def _replace_once(text: str, edit: Edit) -> str:
    """Apply one edit; fail loudly if its target is gone or ambiguous."""
    found = text.count(edit.old)
    assert found == 1, f"{edit.cell}: expected {edit.old!r} once, found it {found} times"
    return text.replace(edit.old, edit.new)


def _fill(cell_source: str, blocks: list[str]) -> str:
    """Put the k-th block in place of the k-th stub."""
    stubs = STUB.findall(cell_source)
    assert len(stubs) == len(blocks), f"{len(stubs)} stubs but {len(blocks)} solution blocks"
    answers = iter(blocks)
    return STUB.sub(lambda match: next(answers), cell_source)


def submission(release_nb, blocks: dict[str, list[str]], edits: list) -> bytes:
    """The bytes one student hands in: the release, solved, then changed by `edits`."""
    nb = copy.deepcopy(release_nb)
    by_cell = {cell_id: list(code) for cell_id, code in blocks.items()}
    for edit in edits:
        if isinstance(edit, Edit) and edit.block is not None:
            by_cell[edit.cell][edit.block] = _replace_once(by_cell[edit.cell][edit.block], edit)
    solution_cells = [cell for cell in nb.cells if grade_id(cell) in by_cell]
    assert sorted(grade_id(cell) for cell in solution_cells) == sorted(by_cell), "release and source cells differ"
    if UNFILLED not in edits:
        for cell in solution_cells:
            cell.source = _fill(cell.source, by_cell[grade_id(cell)])
    for edit in edits:
        if isinstance(edit, Edit) and edit.block is None:
            cell = next(cell for cell in solution_cells if grade_id(cell) == edit.cell)
            cell.source = _replace_once(cell.source, edit)
        elif isinstance(edit, DeleteCell):
            kept = [cell for cell in nb.cells if grade_id(cell) != edit.cell]
            assert len(kept) == len(nb.cells) - 1, f"no single cell {edit.cell} to delete"
            nb.cells = kept
    text = nbformat.writes(nb) + "\n"  # the same bytes nbformat.write puts on disk
    if TRUNCATED in edits:
        lines = text.splitlines(keepends=True)
        text = "".join(lines[: len(lines) // 2])  # cut at a line end: still UTF-8, no longer JSON
    return text.encode("utf-8")


def build_sample_class(root: Path, into: Path | None = None) -> list[str]:
    """Write every student's submission, made from the course at root, under (into or root)/submitted/;
    returns the student ids, in table order."""
    blocks = solution_blocks(nbformat.read(Course(root).notebook(Stage.SOURCE, None, ASSIGNMENT), as_version=4))
    for student, edits in STUDENTS.items():
        assignment = edition_of(student)
        release_nb = nbformat.read(Course(root).notebook(Stage.RELEASE, None, assignment), as_version=4)
        target = Course(into or root).notebook(Stage.SUBMITTED, student, assignment)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(submission(release_nb, blocks, edits))
        (target.parent / "timestamp.txt").write_text(handed_in(student))
    return list(STUDENTS)


if __name__ == "__main__":
    root = course_root()
    for student in build_sample_class(root):
        print(Course(root).notebook(Stage.SUBMITTED, student, edition_of(student)).relative_to(root))
