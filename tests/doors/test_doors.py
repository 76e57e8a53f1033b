"""Every door grades the same: one small class graded by `python -m course grade`, by `nbgrader autograde`
and by Formgrader's Autograde (its HTTP API, on a jupyter server the test starts) gets the same points
in every cell, and the hard-coded and fake-tests submissions lose theirs at each door. Everyone hands in
two days after the due date, one student with an extension: each door takes the same late penalty. The
grading service, the fourth door, grades the same class in tests/service/test_accounts.py."""

import csv
import html
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course.build.release import build_release
from course.layout import ASSIGNMENT, NOTEBOOK, Course, Stage, copy_course
from course.record.gradebook import db_url
from course.rules import extend
from tests import COURSE_ROOT, hostile
from tests.browser import formgrader, press_formgrader_button
from tests.sample_grades import points_losing

HANDED_IN = "2026-12-01 10:00:00.000000 UTC"
DUE = datetime(2026, 11, 29, 10, 0)  # two days before HANDED_IN: 20% off at 10% per day begun
EXTENDED = "one-mistake"  # given 1.5 days with `python -m course extend`: 12 hours late, 10% off
SNOOP = "reads-solutions"  # also handed in at nbgrader's door: prints which course files it could find


def course_with(folder: Path, students: dict[str, bytes]) -> Path:
    root = copy_course(folder, COURSE_ROOT, folders=("source", "release"))
    build_release(root)  # the gradebook knows the assignment, as after `python -m course build`
    with Gradebook(db_url(root)) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
        for student in students:
            gradebook.update_or_create_student(student)
    assert extend(root, EXTENDED, [ASSIGNMENT], 1.5) == 0
    for student, notebook in students.items():
        path = Course(root).notebook(Stage.SUBMITTED, student, ASSIGNMENT)
        path.parent.mkdir(parents=True)
        path.write_bytes(notebook)
        (path.parent / "timestamp.txt").write_text(HANDED_IN)
    return root


def points_per_cell(root: Path, students) -> dict[str, dict[str, float]]:
    with Gradebook(db_url(root)) as gradebook:
        return {
            student: {
                grade.name.removeprefix("test_"): grade.score
                for grade in gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student).grades
            }
            for student in students
        }


def expected(root) -> dict[str, dict[str, float]]:
    return {student: points_losing(lost) for student, (_, lost) in hostile.small_class(root).items()}


@pytest.fixture(scope="module")
def doors(tmp_path_factory):
    """{door: (course root, points per cell per student)} for the three instructor's doors."""
    tmp = tmp_path_factory.mktemp("doors")
    graded = {}

    root = course_with(tmp / "grade", {s: nb for s, (nb, _) in hostile.small_class(tmp / "grade").items()})
    from course.fanout.grade import grade_class

    grade_class(root, workers=2)
    graded["python -m course grade"] = root

    root = tmp / "nbgrader"
    students = {s: nb for s, (nb, _) in hostile.small_class(root).items()}
    students[SNOOP] = hostile.build(hostile.BY_NAME[SNOOP], root, 0)
    course_with(root, students)
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    graded["nbgrader autograde"] = root

    root = course_with(tmp / "formgrader", {s: nb for s, (nb, _) in hostile.small_class(tmp / "formgrader").items()})
    with formgrader(root) as url:
        for student in hostile.small_class(root):
            answer = press_formgrader_button(url, f"submission/{ASSIGNMENT}/{student}/autograde", timeout=300)
            assert answer["success"], answer.get("error", "") + answer.get("log", "")
    graded["Formgrader's Autograde"] = root
    return {door: (root, points_per_cell(root, hostile.small_class(root))) for door, root in graded.items()}


@pytest.mark.slow
@pytest.mark.parametrize("door", ["python -m course grade", "nbgrader autograde", "Formgrader's Autograde"])
def test_each_door_gives_the_same_points_in_every_cell(doors, door):
    root, points = doors[door]
    assert points == expected(root)


@pytest.mark.slow
@pytest.mark.parametrize("door", ["python -m course grade", "nbgrader autograde", "Formgrader's Autograde"])
def test_each_door_takes_the_same_late_penalty(doors, door):
    root, _ = doors[door]
    shares = {student: 0.1 if student == EXTENDED else 0.2 for student in expected(root)}
    with Gradebook(db_url(root)) as gradebook:
        late = {s: gradebook.find_submission(ASSIGNMENT, s).total_seconds_late for s in shares}
        penalties = {s: gradebook.find_submission(ASSIGNMENT, s).late_submission_penalty for s in shares}
    assert late == {s: (12 if s == EXTENDED else 48) * 3600 for s in shares}
    assert penalties == {s: round(share * sum(expected(root)[s].values()), 2) for s, share in shares.items()}
    assert penalties["correct"] == 8 and penalties[EXTENDED] == 3


@pytest.mark.slow
def test_grade_tells_how_late_and_what_it_cost(doors):
    root, _ = doors["python -m course grade"]
    page = html.unescape(Course(root).feedback_page(EXTENDED, ASSIGNMENT).read_text())
    for line in (
        "Due date: 2026-11-29 10:00:00 UTC.",
        "Your extension: 1 d 12 h 00 min, so your own due date is 2026-11-30 22:00:00 UTC.",
        "Handed in 2026-12-01 10:00:00 UTC: late by 12 h 00 min.",
        "Late penalty: 3 points off your score.",
        f"{NOTEBOOK} (Score: 27.0 / 40.0)",
        "Late submission penalty (Score: -3.0)",
    ):
        assert line in page, line
    with open(root / "grades.csv", newline="") as table:
        rows = {row["student_id"]: row for row in csv.DictReader(table)}
    assert [rows[EXTENDED][column] for column in ("total", "hours_late", "late_penalty")] == ["27", "12", "3"]
    assert [rows["correct"][column] for column in ("total", "hours_late", "late_penalty")] == ["32", "48", "8"]
    assert "late by 12 h (penalty 3)" in (root / "report" / "index.html").read_text()


@pytest.mark.slow
def test_nbgrader_autograde_runs_the_kernel_in_the_sandbox(doors):
    """The snooping submission looked for the source notebook, the gradebook and the config, by their
    paths relative to its folder and by their absolute paths: under nbgrader's own command, it found none."""
    root, _ = doors["nbgrader autograde"]
    graded = nbformat.read(Course(root).notebook(Stage.AUTOGRADED, SNOOP, ASSIGNMENT), as_version=4)
    printed = "".join(
        output.get("text", "") for cell in graded.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert f"{hostile.OUTCOME} read []" in printed
    assert (root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").exists()  # it was there to be read


def test_without_a_sandbox_nbgraders_door_refuses_and_names_the_command(monkeypatch):
    from course.doors import nbgrader_autograde as doors
    from course.grader import sandbox

    monkeypatch.setattr(sandbox, "unavailable_because", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(doors.NotGradedHere, match=r"Use `python -m course grade`"):
        doors.CourseGrade().preprocess(nbformat.v4.new_notebook(), {"nbgrader": {"assignment": ASSIGNMENT}})
