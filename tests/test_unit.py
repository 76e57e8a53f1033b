"""One submission through the grading unit: what travels in the package, bad files, no sandbox.
Stuck, dying and hostile kernels are in test_sandbox.py."""
import tempfile
from pathlib import Path

import pytest

from course import COURSE_ROOT
from course.release import assignment_dir, template_gradebook
from course.sample_class import EXPECTED_POINTS, notebook_path
from course.unit import GradingJob, grade_submission, package_from


@pytest.fixture(scope="module")
def package():
    with tempfile.TemporaryDirectory() as scratch:
        return package_from(assignment_dir(COURSE_ROOT, "release"), template_gradebook(COURSE_ROOT, Path(scratch)))


def test_package_carries_the_release_helpers_but_no_notebook(package):
    assert sorted(package.files) == ["datasets/data.mat", "handin.py", "public_tests.py", "reg_utils.py", "testCases.json",
                                   "testCases.py"]
    assert package.gradebook.startswith(b"SQLite format 3")


@pytest.mark.parametrize("data", [b"", b"{\"cells\": [", b"\xff\xfe not utf-8", b"{\"just\": \"json\"}"])
def test_a_file_that_is_not_a_notebook_is_reported_not_raised(package, data):
    result = grade_submission(GradingJob("someone", data, package))
    assert result.status == "invalid" and result.needs_attention and result.scores == []
    assert result.problems[0].startswith("not a notebook")


def test_without_the_sandbox_a_submission_is_graded_the_same(package):
    """--no-sandbox, for debugging: same kernel, same verdicts, no bubblewrap."""
    data = notebook_path(COURSE_ROOT, "submitted", "unscaled-dropout").read_bytes()
    result = grade_submission(GradingJob("unscaled-dropout", data, package, sandbox=False))
    assert result.status == "graded"
    assert {score.grade_id: score.points for score in result.scores} == {
        f"test_{exercise}": points for exercise, points in EXPECTED_POINTS["unscaled-dropout"].items()}
