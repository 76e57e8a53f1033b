"""Partial credit: the parts' points come from nbgrader_config.py, a partly right test cell carries its
points as nbgrader's partial score, and its message lists the parts. The parts' verdicts on the whole
mutation catalogue are in test_catalogue_in_process.py; one real submission in test_unit.py."""

import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output
from nbgrader.utils import determine_grade

from course.grader import judge
from course.grader.helpers import TrustedHelpers
from course.grader.parts import PARTS, Mark, PartResult, configured_points
from course.layout import ASSIGNMENT, Stage, course_modules
from course.record.report import Exercise, failures_in
from public_tests import GRADED_FUNCTIONS
from tests import COURSE, COURSE_ROOT
from tests.sample_grades import POINTS_PER_EXERCISE

L2_BACKWARD = "backward_propagation_with_regularization"
TEST_POINTS = dict.fromkeys(GRADED_FUNCTIONS, POINTS_PER_EXERCISE)
RELEASE = COURSE.path(Stage.RELEASE, None, ASSIGNMENT)
FAILURE = AssertionError(f"{L2_BACKWARD}: dW2 is wrong.\nHint: dW2 has no regularization term; add (lambd/m) * W2.")


def grade_cell(outputs=()):
    cell = new_code_cell("backward_propagation_with_regularization_test(backward_propagation_with_regularization)")
    cell.metadata.nbgrader = {"grade": True, "solution": False, "grade_id": f"test_{L2_BACKWARD}", "points": 10}
    cell.outputs = list(outputs)
    cell.execution_count = 7
    return cell


def parts(wrong):
    points = configured_points(COURSE_ROOT, TEST_POINTS)[L2_BACKWARD]
    return [
        PartResult(part, Mark.WRONG, 0, value, f"{part} is off.")
        if part in wrong
        else PartResult(part, Mark.RIGHT, value, value)
        for part, value in points.items()
    ]


def judged_cell(wrong):
    cell = grade_cell([new_output("error", ename="AssertionError", evalue=str(FAILURE), traceback=[])])
    with course_modules(RELEASE):
        import handin

        judge._apply(cell, FAILURE, handin.JudgingError)
        judge._apply_parts(cell, FAILURE, parts(wrong))
    return cell


def test_a_partly_right_test_cell_scores_the_points_of_its_right_parts_in_nbgrader():
    cell = judged_cell(wrong=["dW2"])
    assert determine_grade(cell) == (7, 10)
    failure, listing = judge.judged(cell)
    assert failure == f"AssertionError: {FAILURE}"
    assert listing == (
        "Points by part: 7 of 10.\ndW3: 3 of 3, right.\ndW2: 0 of 3, wrong: dW2 is off.\ndW1: 4 of 4, right.\n"
    )


def test_a_test_cell_with_every_part_wrong_keeps_its_error_and_lists_the_parts():
    cell = judged_cell(wrong=["dW3", "dW2", "dW1"])
    assert determine_grade(cell) == (0, 10)
    failure, listing = judge.judged(cell)
    assert failure == f"AssertionError: {FAILURE}" and listing.startswith("Points by part: 0 of 10.\n")


def test_the_report_groups_a_failure_by_the_parts_it_got_wrong(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[judged_cell(wrong=["dW2"])])
    nbformat.write(nb, tmp_path / "graded.ipynb")
    exercises = [Exercise(f"test_{L2_BACKWARD}", L2_BACKWARD, 10)]
    points = configured_points(COURSE_ROOT, TEST_POINTS)
    (failure,) = failures_in(tmp_path / "graded.ipynb", exercises, points)
    assert failure.parts == ("dW2",) and failure.first_line == f"AssertionError: {L2_BACKWARD}: dW2 is wrong."
    assert failure.hint == "Hint: dW2 has no regularization term; add (lambd/m) * W2."


def test_a_result_the_kernel_left_in_a_test_cell_is_no_score(tmp_path):
    """A student's function can put a number in its test cell's result (sys.displayhook(10)); nbgrader
    would read it as the cell's score. The judge keeps only its own."""
    nb = nbformat.read(RELEASE / "Regularization.ipynb", as_version=4)
    cell = next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == f"test_{L2_BACKWARD}")
    cell.outputs = [new_output("execute_result", data={"text/plain": "10"}, execution_count=7)]
    cell.execution_count = 7
    judge.judge_test_cells(nb, TrustedHelpers(RELEASE), tmp_path, configured_points(COURSE_ROOT, TEST_POINTS))
    assert determine_grade(cell) == (0, 10)  # the kernel recorded no call: the verdict cannot be known
    assert not [output for output in cell.outputs if output.output_type == "execute_result"]


def course_with(tmp_path, line):
    shutil.copyfile(COURSE_ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    with open(tmp_path / "nbgrader_config.py", "a") as config:
        config.write(line + "\n")
    return tmp_path


def test_partial_credit_is_on_by_default_and_off_in_one_line(tmp_path):
    points = configured_points(COURSE_ROOT, TEST_POINTS)
    assert {exercise: tuple(parts) for exercise, parts in points.items()} == PARTS
    assert all(sum(parts.values()) == POINTS_PER_EXERCISE for parts in points.values())
    assert configured_points(course_with(tmp_path, "c.PartialCredit.enabled = False"), TEST_POINTS) == {}


def test_parts_that_do_not_add_up_to_the_test_cell_are_refused(tmp_path):
    line = f'c.PartialCredit.points["{L2_BACKWARD}"] = {{"dW3": 3, "dW2": 3, "dW1": 3}}'
    with pytest.raises(ValueError, match="adding up to the test cell's 10"):
        configured_points(course_with(tmp_path, line), TEST_POINTS)
