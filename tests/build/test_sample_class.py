"""The sample class is reproducible and every student differs from the solution only where intended.

No notebook runs here; grading the class for real is tested elsewhere.
"""

import json
import re

import nbformat
import pytest

from course.build.sample_class import CHINESE_EDITION, STUDENTS, TWINS, build_sample_class, edition_of, grade_id
from course.layout import ASSIGNMENT, Stage
from public_tests import GRADED_FUNCTIONS
from tests import COURSE, COURSE_ROOT
from tests.sample_grades import EXPECTED_POINTS, POINTS_PER_EXERCISE

CORRECT_ALL_ALONG = ("full-marks", "deleted-test-cell")


def files_under(folder):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def solution_code(student):
    """grade_id -> source of each graded function's cell in the student's submission."""
    nb = nbformat.read(COURSE.notebook(Stage.SUBMITTED, student, edition_of(student)), as_version=4)
    return {grade_id(cell): cell.source for cell in nb.cells if grade_id(cell) in GRADED_FUNCTIONS}


def test_build_reproduces_the_committed_submissions(tmp_path):
    written = build_sample_class(COURSE_ROOT, into=tmp_path)
    assert written == list(STUDENTS) == list(EXPECTED_POINTS)
    assert files_under(tmp_path / "submitted") == files_under(COURSE_ROOT / "submitted")


def test_full_marks_is_the_source_without_its_markers():
    """Filling the stubs gives back the source code: release and source agree, blocks went to the right stubs."""
    source = nbformat.read(COURSE.notebook(Stage.SOURCE, None, ASSIGNMENT), as_version=4)
    markers = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION\n", re.MULTILINE)
    expected = {
        grade_id(cell): markers.sub("", cell.source) for cell in source.cells if grade_id(cell) in GRADED_FUNCTIONS
    }
    assert solution_code("full-marks") == expected


@pytest.mark.parametrize("student", [s for s in STUDENTS if EXPECTED_POINTS[s] is not None])
def test_only_the_exercises_that_lose_points_differ_from_the_solution(student):
    correct = solution_code("full-marks")
    changed = {name for name, code in solution_code(student).items() if code != correct[name]}
    assert changed == {name for name, points in EXPECTED_POINTS[student].items() if points < POINTS_PER_EXERCISE}


def test_deleted_test_cell_lacks_only_that_cell():
    full = nbformat.read(COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT), as_version=4)
    deleted = nbformat.read(COURSE.notebook(Stage.SUBMITTED, "deleted-test-cell", ASSIGNMENT), as_version=4)
    assert [c for c in full.cells if grade_id(c) != "test_forward_propagation_with_dropout"] == deleted.cells


def test_untouched_is_the_release_byte_for_byte():
    untouched = COURSE.notebook(Stage.SUBMITTED, "untouched", ASSIGNMENT).read_bytes()
    assert untouched == COURSE.notebook(Stage.RELEASE, None, ASSIGNMENT).read_bytes()


def test_not_json_is_not_json():
    raw = COURSE.notebook(Stage.SUBMITTED, "not-json", ASSIGNMENT).read_bytes()
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)


def test_expected_points_sum_to_the_brief():
    totals = {s: None if p is None else sum(p.values()) for s, p in EXPECTED_POINTS.items()}
    assert totals == {
        "full-marks": 40,
        "untouched": 0,
        "half-missing-in-cost": 30,
        "regularized-biases": 30,
        "unscaled-dropout": 35,  # layer 1 of the dropout forward pass is right: 5 of its 10
        "mask-on-activations": 30,
        "raises-in-function": 30,
        "infinite-loop": 30,
        "not-json": None,
        "deleted-test-cell": 40,
        "full-marks-zh": 40,
        "unscaled-dropout-zh": 35,
    }


@pytest.mark.parametrize("student", TWINS)
def test_a_chinese_edition_student_hands_in_the_code_of_their_twin_in_the_chinese_release(student):
    assert solution_code(student) == solution_code(TWINS[student])
    release = nbformat.read(COURSE.notebook(Stage.RELEASE, None, CHINESE_EDITION), as_version=4)
    submitted = nbformat.read(COURSE.notebook(Stage.SUBMITTED, student, CHINESE_EDITION), as_version=4)
    markdown = [cell.source for cell in release.cells if cell.cell_type == "markdown"]
    assert [cell.source for cell in submitted.cells if cell.cell_type == "markdown"] == markdown


def test_the_graded_notebooks_name_no_interpreter_version():
    """The kernel writes its Python's version into each notebook it runs; grading drops it, so the class
    regrades to these bytes whichever Python 3.11 grades it."""
    graded = sorted((COURSE_ROOT / Stage.AUTOGRADED).glob("*/*/*.ipynb"))
    assert len(graded) == len(STUDENTS)
    for path in graded:
        language = nbformat.read(path, as_version=4).metadata.get("language_info", {})
        assert "version" not in language, path
