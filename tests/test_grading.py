"""End to end: the sample class through the real grading run, in a copy of the course."""
import csv
import shutil
import sqlite3

import pytest

from course import ASSIGNMENT, COURSE_ROOT, NOTEBOOK
from course.grading import NEEDS_ATTENTION, grade_class
from course.release import HELPER_FILES
from course.sample_class import EXERCISES, EXPECTED_POINTS

CELL_TIMEOUT = 15  # the infinite loop costs three of these; training cells need about 3 s


def course_copy(target, students=None):
    """The course under target, with the whole sample class or only `students`' submissions."""
    for name in ("nbgrader_config.py", *HELPER_FILES):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(COURSE_ROOT / name, target / name)
    for folder in ("source", "release", "submitted"):
        shutil.copytree(COURSE_ROOT / folder, target / folder)
    for submission in (target / "submitted").iterdir():
        if students is not None and submission.name not in students:
            shutil.rmtree(submission)
    return target


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = course_copy(tmp_path_factory.mktemp("course"))
    status = grade_class(root, workers=2, cell_timeout=CELL_TIMEOUT)
    return root, status


def grades(root):
    with open(root / "grades.csv", newline="") as table:
        return {row["student_id"]: row for row in csv.DictReader(table)}


def grade_rows(root):
    with sqlite3.connect(root / "gradebook.db") as db:
        return db.execute("select count(*) from grade").fetchone()[0]


def test_every_student_gets_what_their_work_deserves(graded):
    root, _ = graded
    table = grades(root)
    assert set(table) == set(EXPECTED_POINTS)
    for student, expected in EXPECTED_POINTS.items():
        expected = expected or dict.fromkeys(EXERCISES, 0)  # None: not a notebook, scored 0
        assert {exercise: float(table[student][exercise]) for exercise in expected} == expected, student
        assert float(table[student]["total"]) == sum(expected.values()), student


def test_a_broken_file_is_reported_and_the_run_says_so(graded):
    root, status = graded
    assert status == NEEDS_ATTENTION
    assert not (root / "autograded" / "not-json" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").exists()


def test_autograded_notebooks_are_the_committed_ones(graded):
    """Grading is reproducible, and the committed autograded/ is what the current code makes.
    The infinite loop is left out: where the interrupt lands in the loop varies."""
    root, _ = graded
    for student in EXPECTED_POINTS:
        if student in ("infinite-loop", "not-json"):
            continue
        name = f"autograded/{student}/{ASSIGNMENT}/{NOTEBOOK}.ipynb"
        assert (root / name).read_bytes() == (COURSE_ROOT / name).read_bytes(), student


def test_feedback_shows_failures_but_never_hidden_tests(graded):
    root, _ = graded
    for student in set(EXPECTED_POINTS) - {"not-json"}:
        html = (root / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
        assert "random_case(seed" not in html and "BEGIN HIDDEN TESTS" not in html, student
    html = (root / "feedback" / "half-missing-in-cost" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "the L2 term uses lambd/m; the cost needs lambd/(2m)." in html


def test_class_report(graded):
    root, _ = graded
    page = (root / "report" / "index.html").read_text()
    assert 'src="scores.png"' in page and 'src="pass_rate.png"' in page
    assert (root / "report" / "scores.png").read_bytes().startswith(b"\x89PNG")
    assert "not divided by keep_prob" in page  # the unscaled-dropout student's failure is listed


def test_rerunning_is_idempotent_and_regrades_only_what_changed(graded, capsys):
    root, _ = graded
    rows_before, table_before = grade_rows(root), grades(root)
    capsys.readouterr()
    grade_class(root, workers=2, cell_timeout=CELL_TIMEOUT)
    assert "0 to grade" in capsys.readouterr().out
    assert grade_rows(root) == rows_before and grades(root) == table_before

    fixed = root / "submitted" / "unscaled-dropout" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    shutil.copyfile(root / "submitted" / "full-marks" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", fixed)
    grade_class(root, workers=2, cell_timeout=CELL_TIMEOUT)
    assert "1 to grade" in capsys.readouterr().out
    table_after = grades(root)
    assert table_after["unscaled-dropout"]["total"] == "40"
    assert {k: v for k, v in table_after.items() if k != "unscaled-dropout"} == \
           {k: v for k, v in table_before.items() if k != "unscaled-dropout"}
    assert grade_rows(root) == rows_before
