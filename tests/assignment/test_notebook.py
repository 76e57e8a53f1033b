"""The source notebook teaches what it claims, and the release fails until the student works."""

import re
import subprocess
import sys

import pytest

from tests import COURSE_ROOT, notebooks

TEST_CELLS = [f"test_{name}" for name in notebooks.GRADED_FUNCTIONS]


def training_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code" and "Accuracy:" in notebooks.stdout(cell)]


def test_source_runs_top_to_bottom_without_errors(executed_source):
    failing = [cell.source[:60] for cell in executed_source.cells if notebooks.errors(cell)]
    assert failing == []


def test_every_expected_output_is_what_its_cell_prints(executed_source):
    pairs = notebooks.expected_outputs(executed_source)
    assert len(pairs) == 8
    for cell, expected in pairs:
        assert notebooks.same_text_and_numbers(notebooks.stdout(cell), expected), cell.source


def test_the_four_public_tests_pass_on_the_solutions(executed_source):
    for grade_id in TEST_CELLS:
        assert "All tests passed." in notebooks.stdout(notebooks.cell_by_id(executed_source, grade_id))


def test_the_story_baseline_overfits_and_both_regularizers_help(executed_source):
    baseline, l2, dropout = (notebooks.accuracies(cell) for cell in training_cells(executed_source))
    assert baseline[0] - baseline[1] >= 0.02
    assert l2[1] - baseline[1] >= 0.015
    assert dropout[1] - baseline[1] >= 0.015


def test_conclusions_table_shows_the_printed_accuracies(executed_source):
    table = next(cell.source for cell in executed_source.cells if cell.source.startswith("## 7 - Conclusions"))
    rows = re.findall(r"\| ([\d.]+)% \| ([\d.]+)% \|", table)
    printed = [notebooks.accuracies(cell) for cell in training_cells(executed_source)]
    assert [(float(train), float(test)) for train, test in rows] == [
        (round(100 * train, 1), round(100 * test, 1)) for train, test in printed
    ]


def test_graded_cells_carry_nbgrader_metadata():
    import nbformat

    nb = nbformat.read(notebooks.SOURCE_NOTEBOOK, as_version=4)
    for name in notebooks.GRADED_FUNCTIONS:
        solution = notebooks.cell_by_id(nb, name)
        assert solution.source.startswith(f"# GRADED FUNCTION: {name}") and solution.metadata.nbgrader["solution"]
        test = notebooks.cell_by_id(nb, f"test_{name}")
        assert test.metadata.nbgrader["points"] == 10 and test.metadata.nbgrader["locked"]
        assert test.source.splitlines()[1:] == [
            f"{name}_test({name})",
            f'hidden_tests("{name}", {name})  # more cases, judged at grading time',
        ]


def test_untouched_release_fails_exactly_the_four_exercises(executed_release):
    for grade_id in TEST_CELLS:
        (error,) = notebooks.errors(notebooks.cell_by_id(executed_release, grade_id))
        assert error.ename == "NotImplementedError" and error.evalue == "replace this line with your code"
    data_cell = next(cell for cell in executed_release.cells if "load_2D_dataset()" in cell.source)
    assert not notebooks.errors(data_cell) and training_cells(executed_release)  # the baseline still trains


def nbgrader_validate(path):
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(path)], cwd=COURSE_ROOT, capture_output=True, text=True
    )


@pytest.mark.slow
def test_validate_passes_the_source():
    result = nbgrader_validate(notebooks.SOURCE_NOTEBOOK)
    assert result.returncode == 0 and "Success! Your notebook passes all the tests." in result.stdout


@pytest.mark.slow
def test_validate_reports_the_release_without_crashing():
    result = nbgrader_validate(notebooks.RELEASE_NOTEBOOK)
    assert "VALIDATION FAILED ON 4 CELL(S)!" in result.stdout
    assert result.stdout.count("NotImplementedError: replace this line with your code") == 4
    assert "ERROR" not in result.stderr
