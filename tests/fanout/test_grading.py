"""End to end: the sample class through the real grading run, in a copy of the course, and what it shows
on the terminal, in the report, in the feedback and in Formgrader (the pages in a real browser)."""

import contextlib
import csv
import io
import re
import shutil
import sqlite3
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from nbgrader.api import Gradebook
from playwright.sync_api import expect

from course.build.sample_class import CHINESE_EDITION, TWINS, edition_of, handed_in
from course.fanout.grade import NEEDS_ATTENTION, grade_class
from course.layout import ASSIGNMENT, NOTEBOOK, ROSTER, Course, Stage
from course.record.gradebook import NOT_GRADED, db_url, submitted_at
from public_tests import GRADED_FUNCTIONS
from tests import COURSE, COURSE_ROOT
from tests.browser import browser_page, formgrader
from tests.courses import CELL_TIMEOUT, course_copy, grades
from tests.notebooks import failed_test_cells
from tests.sample_grades import EXPECTED_POINTS
from tests.translated import translated_error

pytestmark = pytest.mark.slow  # grades the sample class end to end

ENGLISH_EDITION = [student for student in EXPECTED_POINTS if edition_of(student) == ASSIGNMENT]


HIDDEN_CODE = ("BEGIN HIDDEN", "random_case(seed", "planned_calls(", "Traceback (most recent call last)")
PROGRESS_LINE = re.compile(r"\[[#.]{30}\] \d+/\d+  elapsed .*  \(.*\)")  # course.record.progress, off a terminal


class GradedRun(NamedTuple):
    root: Path
    status: int
    out: str  # what the run printed on stdout
    err: str  # and on stderr, off a terminal


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The whole sample class graded once for this module (about 90 s on 2 cores)."""
    root = course_copy(tmp_path_factory.mktemp("course"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = grade_class(root, workers=2, cell_timeout=CELL_TIMEOUT)
    return GradedRun(root, status, out.getvalue(), err.getvalue())


def roster():
    with open(COURSE_ROOT / ROSTER, newline="") as table:
        return list(csv.DictReader(table))


def grade_rows(root):
    with sqlite3.connect(root / "gradebook.db") as db:
        return db.execute("select count(*) from grade").fetchone()[0]


def test_every_student_gets_what_their_work_deserves(graded):
    root = graded.root
    table = grades(root)
    assert set(table) == set(EXPECTED_POINTS)
    for student, expected in EXPECTED_POINTS.items():
        expected = expected or dict.fromkeys(GRADED_FUNCTIONS, 0)  # None: not a notebook, scored 0
        assert {exercise: float(table[student][exercise]) for exercise in expected} == expected, student
        assert float(table[student]["total"]) == sum(expected.values()), student
        assert table[student]["edition"] == ("zh_CN" if student in TWINS else "en"), student


@pytest.mark.parametrize("student", TWINS)
def test_a_chinese_edition_twin_scores_what_its_english_twin_scores_and_is_told_so_in_chinese(graded, student):
    with Gradebook(db_url(graded.root)) as gradebook:
        chinese = gradebook.find_submission_notebook(NOTEBOOK, CHINESE_EDITION, student).grades
        english = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, TWINS[student]).grades
        assert {grade.name: grade.score for grade in chinese} == {grade.name: grade.score for grade in english}
    english, chinese = (
        failed_test_cells(nbformat.read(Course(graded.root).notebook(Stage.AUTOGRADED, who, assignment), as_version=4))
        for who, assignment in ((TWINS[student], ASSIGNMENT), (student, CHINESE_EDITION))
    )
    assert chinese == {cell: translated_error(error, "zh_CN") for cell, error in english.items()}


def test_a_broken_file_is_reported_and_stands_in_as_the_release_saying_why(graded):
    assert graded.status == NEEDS_ATTENTION
    stand_in = Course(graded.root).notebook(Stage.AUTOGRADED, "not-json", ASSIGNMENT).read_text()
    assert "not valid JSON" in stand_in and f'"ename": "{NOT_GRADED}"' in stand_in
    with Gradebook(db_url(graded.root)) as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "not-json")
        assert notebook.score == 0 and notebook.comments
        assert all("not valid JSON" in comment.auto_comment for comment in notebook.comments)


def test_the_gradebook_knows_names_and_when_each_submission_was_handed_in(graded):
    with Gradebook(db_url(graded.root)) as gradebook:
        for student in roster():
            assert gradebook.find_student(student["id"]).first_name == student["first_name"]
            assert gradebook.find_student(student["id"]).email == student["email"]
            assignment = edition_of(student["id"])
            submission = gradebook.find_submission(assignment, student["id"])
            assert submission.timestamp == submitted_at(graded.root, student["id"], assignment) is not None


def test_autograded_notebooks_and_feedback_pages_are_the_committed_ones(graded):
    """Grading is reproducible, and the committed autograded/ and feedback/ are what the current code makes.
    The infinite loop is left out: where the interrupt lands in the loop varies."""
    root = graded.root
    for student in EXPECTED_POINTS:
        if student == "infinite-loop":
            continue
        assignment = edition_of(student)
        assert (
            Course(root).notebook(Stage.AUTOGRADED, student, assignment).read_bytes()
            == COURSE.notebook(Stage.AUTOGRADED, student, assignment).read_bytes()
        ), student
        assert (
            Course(root).feedback_page(student, assignment).read_bytes()
            == COURSE.feedback_page(student, assignment).read_bytes()
        ), student


def test_feedback_shows_failures_but_never_hidden_tests(graded):
    root = graded.root
    for student in EXPECTED_POINTS:
        html = Course(root).feedback_page(student, edition_of(student)).read_text()
        assert "random_case(seed" not in html and "BEGIN HIDDEN TESTS" not in html, student
    html = Course(root).feedback_page("half-missing-in-cost", ASSIGNMENT).read_text()
    assert "the L2 term uses lambd/m; the cost needs lambd/(2m)." in html


def test_class_report(graded):
    root = graded.root
    page = (root / "report" / "index.html").read_text()
    assert 'src="scores.png"' in page and 'src="pass_rate.png"' in page
    assert (root / "report" / "scores.png").read_bytes().startswith(b"\x89PNG")
    assert "not divided by keep_prob" in page  # the unscaled-dropout student's failure is listed
    assert "12 rows: 11 graded, 1 not graded (see Needs attention), editions: 10 en, 2 zh_CN" in page


def test_the_terminal_names_what_was_written_and_who_needs_attention(graded):
    """stdout ends with the files written and the students needing attention; stderr, off a terminal,
    holds the progress lines and nothing else."""
    closing = graded.out[graded.out.index("\nwritten:") :]
    for written in ("grades.csv", "report/index.html", "feedback/", "autograded/"):
        assert f"  {graded.root}/{written}  " in closing, written  # absolute: the course is not below the cwd
    attention = closing[closing.index("2 students need attention") :].splitlines()[1:]
    assert attention[0] == (
        "needs attention: not-json: the file is not valid JSON (truncated or edited outside Jupyter?) [not a notebook]"
    )
    assert attention[1].startswith(
        f"needs attention: infinite-loop: the test of backward_propagation_with_dropout stopped after {CELL_TIMEOUT} s"
    ) and attention[1].endswith("[timed out]")
    progress = graded.err.splitlines()
    assert len(progress) == len(EXPECTED_POINTS) and all(PROGRESS_LINE.fullmatch(line) for line in progress), progress
    assert any("(infinite-loop: timed out, 30 points)" in line for line in progress)
    assert any("(not-json: not a notebook, 0 points)" in line for line in progress)


def test_the_report_in_a_browser_shows_what_needs_attention_first_and_fits_the_window(graded):
    with browser_page() as page:
        page.goto((graded.root / "report" / "index.html").as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
        headings = page.locator("h2").all_inner_texts()
        assert headings[0] == "Needs attention: 2 students", headings
        rows = [row.split("\t") for row in page.locator("#needs-attention tr").all_inner_texts()[1:]]
        assert [row[:2] for row in rows] == [["not-json", "not a notebook"], ["infinite-loop", "timed out"]]
        assert all(len(row) == 4 and row[2] and row[3] for row in rows)  # what happened, and what to do
        assert page.locator("#needs-attention").is_visible()
        assert page.evaluate("[...document.images].every(image => image.complete && image.naturalWidth > 0)")


def test_feedback_in_a_browser_shows_the_failure_but_no_hidden_test_code(graded):
    feedback = Course(graded.root).feedback_page("infinite-loop", ASSIGNMENT)
    with browser_page() as page:
        page.goto(feedback.as_uri())
        text = page.locator("body").inner_text()
    assert f"Timeout: stopped after {CELL_TIMEOUT} s, the per-cell limit: an endless loop?" in text
    for code in HIDDEN_CODE:
        assert code not in text, code


def test_formgrader_lists_every_student_by_name_with_the_time_handed_in(graded, tmp_path):
    """Formgrader, served from a copy of the graded course: names from the roster, times from
    timestamp.txt, each score as graded (a partly right exercise's points too), the file that is not a
    notebook listed with 0 points and a comment saying why."""
    root = Path(shutil.copytree(graded.root, tmp_path / "course"))
    with Gradebook(db_url(root)) as gradebook:
        not_json = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "not-json").id
    with formgrader(root) as url, browser_page() as page:
        page.goto(f"{url}/formgrader/manage_submissions/{ASSIGNMENT}")
        page.locator("td.student-id", has_text="not-json").wait_for()
        rows = {row.locator("td.student-id").inner_text(): row for row in page.locator("tbody tr").all()}
        assert set(rows) == set(ENGLISH_EDITION)
        for student in (student for student in roster() if student["id"] in ENGLISH_EDITION):
            row = rows[student["id"]]
            assert row.locator("td.student-name").inner_text() == f"{student['last_name']}, {student['first_name']}"
            assert row.locator("td.timestamp").inner_text() == re.sub(r"\.\d+", "", handed_in(student["id"]))
            assert row.locator("td.status").inner_text() == "graded"
            total = sum((EXPECTED_POINTS[student["id"]] or {}).values())  # with unscaled-dropout's partial 35
            assert row.locator("td.score").inner_text() == f"{total:g} / 40"
        assert rows["not-json"].locator("td.score").inner_text() == "0 / 40"

        page.goto(f"{url}/formgrader/gradebook/{ASSIGNMENT}/{NOTEBOOK}")
        page.get_by_text(f"Submission #{len(ENGLISH_EDITION)}", exact=True).wait_for()
        assert page.locator("tbody tr").count() == len(ENGLISH_EDITION)  # the manual grading list

        page.goto(f"{url}/formgrader/manage_submissions/{CHINESE_EDITION}")  # the other edition, on its own
        page.locator("td.student-id", has_text=next(iter(TWINS))).wait_for()
        names = page.locator("tbody tr td.student-name").all_inner_texts()
        assert sorted(names) == sorted(f"{s['last_name']}, {s['first_name']}" for s in roster() if s["id"] in TWINS)

        page.goto(f"{url}/formgrader/submissions/{not_json}/")
        # Formgrader draws the comment boxes first and fills in their text once the comments load.
        expect(page.locator("textarea").first).to_have_attribute(
            "placeholder", re.compile("not valid JSON"), timeout=15_000
        )


def test_rerunning_is_idempotent_and_regrades_only_what_changed(graded, capsys):
    """Runs last: it changes the graded course. A notebook handed in again with a new timestamp.txt, and
    one whose timestamp.txt alone changed (handed in again, same file), are graded again."""
    root = graded.root
    rows_before, table_before = grade_rows(root), grades(root)
    capsys.readouterr()
    grade_class(root, workers=2, cell_timeout=CELL_TIMEOUT)
    assert "0 to grade" in capsys.readouterr().out
    assert grade_rows(root) == rows_before and grades(root) == table_before

    fixed = root / "submitted" / "unscaled-dropout" / ASSIGNMENT
    shutil.copyfile(
        Course(root).notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT),
        Course(root).notebook(Stage.SUBMITTED, "unscaled-dropout", ASSIGNMENT),
    )
    (fixed / "timestamp.txt").write_text("2025-03-15 08:00:00.000000 UTC")
    (root / "submitted" / "untouched" / ASSIGNMENT / "timestamp.txt").write_text("2025-03-15 09:30:00.000000 UTC")
    grade_class(root, workers=2, cell_timeout=CELL_TIMEOUT)
    assert "2 to grade" in capsys.readouterr().out
    table_after = grades(root)
    assert table_after["unscaled-dropout"]["total"] == "40"
    assert {k: v for k, v in table_after.items() if k != "unscaled-dropout"} == {
        k: v for k, v in table_before.items() if k != "unscaled-dropout"
    }
    assert grade_rows(root) == rows_before
    with Gradebook(db_url(root)) as gradebook:
        assert str(gradebook.find_submission(ASSIGNMENT, "untouched").timestamp) == "2025-03-15 09:30:00"
