"""One submission through the grading unit: bad files, stuck kernels, tampered notebooks."""
import tempfile
from pathlib import Path

import nbformat
import pytest

from course import COURSE_ROOT
from course.release import assignment_dir, template_gradebook
from course.unit import KILLED, GradingJob, grade_submission, package_from
from tests.notebooks import SOURCE_NOTEBOOK, grade_id


@pytest.fixture(scope="module")
def package():
    with tempfile.TemporaryDirectory() as scratch:
        return package_from(assignment_dir(COURSE_ROOT, "release"), template_gradebook(COURSE_ROOT, Path(scratch)))


def test_package_carries_the_release_helpers_but_no_notebook(package):
    assert sorted(package.files) == ["datasets/data.mat", "public_tests.py", "reg_utils.py", "testCases.py"]
    assert package.gradebook.startswith(b"SQLite format 3")


@pytest.mark.parametrize("data", [b"", b"{\"cells\": [", b"\xff\xfe not utf-8", b"{\"just\": \"json\"}"])
def test_a_file_that_is_not_a_notebook_is_reported_not_raised(package, data):
    result = grade_submission(GradingJob("someone", data, package))
    assert result.status == "invalid" and result.needs_attention and result.scores == []
    assert result.problems[0].startswith("not a notebook")


def test_a_kernel_that_ignores_interrupts_is_killed_and_earlier_points_are_kept(package):
    nb = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    position = next(i for i, cell in enumerate(nb.cells) if grade_id(cell) == "test_backward_propagation_with_regularization")
    nb.cells.insert(position + 1, nbformat.v4.new_code_cell(
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)"))
    job = GradingJob("stubborn", nbformat.writes(nb).encode(), package, cell_timeout=10, interrupt_grace=3)
    result = grade_submission(job)
    assert result.status == "killed" and "ignored the interrupt" in result.problems[0]
    points = {score.grade_id: score.points for score in result.scores}
    assert points == {"test_compute_cost_with_regularization": 10, "test_backward_propagation_with_regularization": 10,
                      "test_forward_propagation_with_dropout": 0, "test_backward_propagation_with_dropout": 0}
    assert all(score.failure.startswith(KILLED) for score in result.scores if not score.points)
