"""Feedback hides the hidden tests but keeps the failure message; the report adds up the gradebook and
says first what needs attention.

Most tests build a course by hand (a gradebook filled through nbgrader's API, autograded notebooks
with made-up outputs, the grader's records), which takes a second; one runs the real `nbgrader
autograde` on a submission.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Gradebook

from course.build.release import build_release
from course.grader import feedback
from course.grader.execute import TIMEOUT
from course.grader.feedback import FeedbackExporter, HideHiddenTests, ShortenGradeCellErrors, render_feedback
from course.layout import ASSIGNMENT, EDITIONS, NOTEBOOK, Course, Stage, copy_course
from course.record import last_graded
from course.record.attention import Kind, needs_attention
from course.record.report import (
    collect,
    summary_text,
    write_report,
)
from tests import COURSE, COURSE_ROOT
from tests.notebooks import RELEASE_NOTEBOOK, SOURCE_NOTEBOOK, cell_by_id, grade_id

HIDDEN_CODE = ("BEGIN HIDDEN", "random_case(seed", "numeric_gradient(", "dropout_cache(X")
COST, FORWARD = "test_compute_cost_with_regularization", "test_forward_propagation_with_dropout"
BACKWARD_DROPOUT = "test_backward_propagation_with_dropout"
COST_HINT = "Hint: the L2 term uses lambd/m; the cost needs lambd/(2m)."
FORWARD_ERROR = (
    "forward_propagation_with_dropout: A1 was masked but not divided by keep_prob.\n"
    "Hint: activations were not divided by keep_prob: inverted dropout scales the kept units up."
)
STOPPED = "stopped after 30 s, the per-cell limit: an endless loop?"
NOT_JSON = "not a notebook: the file is not valid JSON (truncated or edited outside Jupyter?)"
# student -> {failing grade cell: (ename, evalue)}; every other test cell passes
FAILURES = {
    "ann": {},
    "ben": {
        COST: (
            "AssertionError",
            f"compute_cost_with_regularization: the cost is 1.97, but it should be 1.79.\n{COST_HINT}",
        ),
        FORWARD: ("AssertionError", FORWARD_ERROR),
    },
    "cat": {
        COST: (
            "AssertionError",
            f"compute_cost_with_regularization: the cost is 2.4, but it should be 1.8.\n{COST_HINT}",
        )
    },
    "fay": {BACKWARD_DROPOUT: (TIMEOUT, STOPPED)},
}


def ipython_traceback(cell, ename, evalue):
    """An IPython-like traceback that quotes the test cell, hidden tests included."""
    return [
        "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
        f"\x1b[31m{ename}\x1b[39m                            Traceback (most recent call last)",
        "Cell \x1b[32mIn[16], line 12\x1b[39m\n" + cell.source,
        f"\x1b[31m{ename}\x1b[39m: {evalue}",
    ]


def autograded_notebook(failures):
    """The source notebook (test cells hold the hidden tests, as after autograde) with test outputs."""
    nb = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if utils.is_grade(cell):
            ename, evalue = failures.get(grade_id(cell), (None, None))
            cell.outputs = [
                new_output("error", ename=ename, evalue=evalue, traceback=ipython_traceback(cell, ename, evalue))
                if evalue
                else new_output("stream", name="stdout", text="All tests passed.\n")
            ]
    return nb


def write_record(root, student, status="graded", problems=(), failures=None):
    """What the grader notes beside an autograded notebook (course.record.last_graded reads it)."""
    folder = Course(root).path(Stage.AUTOGRADED, student, ASSIGNMENT)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / last_graded.NOTE_FILE).write_text(
        json.dumps(
            {
                "status": status,
                "problems": list(problems),
                "failures": {cell: f"{ename}: {evalue}" for cell, (ename, evalue) in (failures or {}).items()},
            }
        )
    )


# nbgrader's own Gradebook.add_submission (autograde's too) trips SQLAlchemy's autoflush warnings.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture(scope="module")
def built_course(tmp_path_factory):
    """A course with the gradebook the grader would hold after grading ann, ben, cat, dan, eve and fay:
    dan's autograded notebook is missing, eve's file was not a notebook, fay's last test timed out;
    ivy is on the roster but handed nothing in."""
    tmp_path = tmp_path_factory.mktemp("course")
    shutil.copyfile(COURSE_ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    Course(tmp_path).notebook(Stage.SOURCE, None, ASSIGNMENT).parent.mkdir(parents=True)
    shutil.copyfile(SOURCE_NOTEBOOK, Course(tmp_path).notebook(Stage.SOURCE, None, ASSIGNMENT))
    source = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT)
        gradebook.update_or_create_notebook(NOTEBOOK, ASSIGNMENT)
        for cell in source.cells:  # what generate_assignment records
            if utils.is_grade(cell):
                gradebook.update_or_create_grade_cell(
                    grade_id(cell),
                    NOTEBOOK,
                    ASSIGNMENT,
                    cell_type=cell.cell_type,
                    max_score=cell.metadata.nbgrader["points"],
                )
            if utils.is_solution(cell):
                gradebook.update_or_create_solution_cell(grade_id(cell), NOTEBOOK, ASSIGNMENT)
        for student in (*FAILURES, "dan", "eve"):  # what autograde records
            gradebook.add_student(student)
            gradebook.add_submission(ASSIGNMENT, student)
            for grade in gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student).grades:
                passed = student in FAILURES and grade.name not in FAILURES[student]  # dan, eve: nothing to grade
                grade.auto_score = grade.max_score if passed else 0.0
                grade.needs_manual_grade = False
        gradebook.add_student("ivy")
        gradebook.db.commit()
    for student, failures in FAILURES.items():
        write_record(tmp_path, student, failures=failures)
        path = Course(tmp_path).notebook(Stage.AUTOGRADED, student, ASSIGNMENT)
        nbformat.write(autograded_notebook(failures), path)
    write_record(tmp_path, "eve", status="invalid", problems=[NOT_JSON])
    return tmp_path


@pytest.fixture
def course(built_course, tmp_path):
    """A fresh copy of the built course for each test (creating a gradebook takes seconds)."""
    return Path(shutil.copytree(built_course, tmp_path / "course"))


def test_grades_csv_has_one_row_per_student_and_round_numbers(course):
    write_report(course)
    assert (course / "grades.csv").read_text().splitlines() == [
        "student_id,edition,compute_cost_with_regularization,backward_propagation_with_regularization,"
        "forward_propagation_with_dropout,backward_propagation_with_dropout,total,max_total",
        "ann,en,10,10,10,10,40,40",
        "ben,en,0,10,0,10,20,40",
        "cat,en,0,10,10,10,30,40",
        "dan,en,0,0,0,0,0,40",
        "eve,en,0,0,0,0,0,40",
        "fay,en,10,10,10,0,30,40",
        "ivy,,,,,,,40",
    ]


def test_summary_shows_points_and_status(course):
    lines = summary_text(*collect(course)).splitlines()
    assert lines[0].split() == ["student", "edition", "ex1", "ex2", "ex3", "ex4", "total", "status"]
    assert lines[1].split() == ["ann", "en", "10", "10", "10", "10", "40/40", "4/4", "passed"]
    assert lines[2].split() == ["ben", "en", "0", "10", "0", "10", "20/40", "2/4", "passed"]
    assert lines[4].split() == ["dan", "en", "0", "0", "0", "0", "0/40", "no", "autograded", "notebook"]
    assert lines[5].endswith("0/40  not graded: not a notebook")
    assert lines[6].endswith("30/40  3/4 passed; timed out")
    assert lines[7].split() == ["ivy", "-", "-", "-", "-", "-", "-", "no", "submission"]
    assert "ex1 = compute_cost_with_regularization" in lines


def test_what_needs_attention_says_what_happened_and_what_to_do(course):
    _, results = collect(course)
    attention = {r.student: [(item.kind, item.reason) for item in r.attention] for r in results if r.attention}
    assert attention == {
        "eve": [(Kind.NOT_A_NOTEBOOK, "the file is not valid JSON (truncated or edited outside Jupyter?)")],
        "fay": [
            (
                Kind.TIMED_OUT,
                f"the test of backward_propagation_with_dropout {STOPPED} It scored 0; "
                "the other tests kept their points.",
            )
        ],
    }
    eve = next(r for r in results if r.student == "eve")
    assert "submitted/eve/regularization/" in eve.attention[0].what_to_do
    assert [r.student for r in results if r.graded] == ["ann", "ben", "cat", "dan", "fay"]


def test_needs_attention_names_dead_kernels_and_grading_errors():
    killed = needs_attention(
        "gus",
        ASSIGNMENT,
        {
            "status": "killed",
            "problems": [
                "a cell ran past the timeout and the kernel ignored the interrupt, so it was killed; "
                "the test cells left were scored 0"
            ],
        },
    )
    assert [(item.kind, item.reason) for item in killed] == [
        (
            Kind.DEAD_KERNEL,
            (
                "a cell ran past the timeout and the kernel ignored the interrupt, so it was killed; "
                "the test cells left were scored 0"
            ),
        )
    ]
    assert "autograded/gus/regularization/Regularization.ipynb" in killed[0].what_to_do
    failed = needs_attention(
        "hal", ASSIGNMENT, {"status": "error", "problems": ["grading failed (OSError): disk full"]}
    )
    assert [(item.kind, item.reason) for item in failed] == [
        (Kind.GRADING_ERROR, "grading failed (OSError): disk full")
    ]
    assert "graded again" in failed[0].what_to_do
    graded = {"status": "graded", "problems": [], "failures": {COST: "AssertionError: x"}}
    assert needs_attention("ann", ASSIGNMENT, graded) == []
    assert needs_attention("new", ASSIGNMENT, {}) == []


def test_report_shows_what_needs_attention_first_and_counts_only_the_graded(course):
    write_report(course)
    page = (course / "report" / "index.html").read_text()
    assert (
        "<p>7 rows: 5 graded, 1 not graded (see Needs attention), 1 without a submission, editions: 6 en, 0 zh_CN; "
        in page
    )
    assert page.index('<section id="needs-attention">') < page.index("<h2>Scores</h2>")
    section = page[page.index('<section id="needs-attention">') : page.index("</section>")]
    assert "<h2>Needs attention: 2 students</h2>" in section
    assert (
        "<td>eve</td><td>not a notebook</td><td>The file is not valid JSON (truncated or edited outside Jupyter?).</td>"
    ) in section  # what happened, as a sentence
    assert section.index("<td>eve</td><td>not a notebook</td>") < section.index("<td>fay</td><td>timed out</td>")
    assert "Timeout: stopped after # s, the per-cell limit: an endless loop?" in page  # a failure named as such
    assert (
        "NotGraded" not in page and "<td>eve</td><td>en</td><td>0</td>" in page
    )  # eve's 0s are listed, not her failures


def test_a_class_without_problems_says_so(course):
    for student in ("eve", "fay"):
        shutil.rmtree(course / "autograded" / student)
    exercises, results = write_report(course)
    assert "<p>Nothing: every submission was graded in full.</p>" in (course / "report" / "index.html").read_text()
    assert all(not r.attention for r in results) and "not graded" not in summary_text(exercises, results)


def test_failures_are_grouped_across_different_numbers(course):
    _, results = collect(course)
    ben = next(r for r in results if r.student == "ben")
    assert [f.first_line for f in ben.failures] == [
        "AssertionError: compute_cost_with_regularization: the cost is 1.97, but it should be 1.79.",
        "AssertionError: forward_propagation_with_dropout: A1 was masked but not divided by keep_prob.",
    ]
    write_report(course)
    page = (course / "report" / "index.html").read_text()
    assert (
        "<td>AssertionError: compute_cost_with_regularization: the cost is #, but it should be #."
        f"<br><i>{COST_HINT}</i></td><td>2</td><td>ben, cat</td>"
    ) in page
    assert "<td>1</td><td>ben</td>" in page
    assert page.index("ben, cat") < page.index("<td>1</td><td>ben</td>")  # most frequent first
    assert 'src="scores.png"' in page and 'src="pass_rate.png"' in page


def test_report_is_byte_identical_when_run_again(course):
    write_report(course)
    report = course / "report"
    first = {name: (report / name).read_bytes() for name in ("index.html", "scores.png", "pass_rate.png")}
    assert first["scores.png"].startswith(b"\x89PNG") and first["pass_rate.png"].startswith(b"\x89PNG")
    write_report(course)
    assert {name: (report / name).read_bytes() for name in first} == first


def feedback_of(root: Path, student: str) -> str:
    """The feedback page of the student's autograded notebook on disk (the English edition's)."""
    return render_feedback(
        nbformat.read(Course(root).notebook(Stage.AUTOGRADED, student, ASSIGNMENT), as_version=4), student, ASSIGNMENT
    ).decode()


def test_pages_rendered_one_after_another_are_each_as_rendered_alone(monkeypatch):
    """A worker's feedback exporter remembers the code cells it highlighted, the markdown cells it rendered and
    each cell's BeautifulSoup pass (most are the release's): the sample class's pages, rendered in turn and
    again, are what nbconvert's highlighting, markdown and pass over the whole page give each alone. Two
    markdown cells alike but for their attachments show each its own."""
    graded = [(student, EDITIONS[0]) for student in ("full-marks", "unscaled-dropout", "raises-in-function")]
    graded.append(("full-marks-zh", EDITIONS[1]))
    graded = [
        (nbformat.read(COURSE.notebook(Stage.AUTOGRADED, student, edition.assignment), as_version=4), student, edition)
        for student, edition in graded
    ]
    for number, image in enumerate(("AA==", "AQ==")):  # base64 of two different bytes
        attached = nbformat.v4.new_markdown_cell("![a dot](attachment:dot.png)", id=f"attached-{number}")
        attached.attachments = {"dot.png": {"image/png": image}}
        graded[0][0].cells.append(attached)

    def pages():
        return [render_feedback(nb, student, edition.assignment, edition.language) for nb, student, edition in graded]

    remembered = pages() + pages()
    monkeypatch.setattr(FeedbackExporter, "register_filter", HTMLExporter.register_filter)
    monkeypatch.setattr(FeedbackExporter, "from_notebook_node", HTMLExporter.from_notebook_node)
    monkeypatch.setattr(FeedbackExporter, "markdown2html", HTMLExporter.markdown2html)
    feedback._feedback_exporter.cache_clear()
    try:
        alone = pages()
    finally:
        feedback._feedback_exporter.cache_clear()
    assert remembered == alone + alone
    assert len(set(alone)) == len(alone)


# HTML in a markdown cell and an HTML output (and a raw cell, which the page shows as text), and whether the
# page is made of each cell's own BeautifulSoup pass (False: rendered whole, as what parses otherwise alone
# than in the page, or reaches across cells, must be).
CELL_HTML = {
    "opens-a-div": ("<div class='open'>left open", False, False),
    "closes-what-it-did-not-open": ("</div></div>closed twice", False, False),
    "opens-pre": ("<pre>  kept   as is", False, False),
    "opens-textarea": ("<textarea>\n", False, False),
    "opens-template": ("<template><b>x</b>", False, False),
    "opens-script": ("<script>var x = 1;", False, False),
    "opens-a-comment": ("<!-- never closed", False, False),
    "ends-an-empty-element": ("<br></br>", False, False),
    "jp-notebook": ("<div class='jp-Notebook'><div class='jp-Cell-inputWrapper'>x</div></div>", False, False),
    "raw-text-then-markup": ("text <b>bold</b> text", True, False),
    "raw-spaces-then-text": ("   \n   text <b>bold</b> text   \n   ", True, False),
    "fake-placeholder": ("<!--feedback-cell-0123456789abcdef-->", False, True),
    "image-without-alt": ("<img src='plot.png'>", False, True),
    "self-closed": ("<p>a line<br/>the next<img src='plot.png' alt='a plot'/></p><div class='empty'/>", False, True),
    "larger-than-remembered": ("<p>" + "word &amp; " * 20000 + "</p>", False, True),
}


@pytest.mark.parametrize("markup, raw, spliced", CELL_HTML.values(), ids=CELL_HTML.keys())
def test_a_page_whose_cells_carry_odd_html_is_nbconverts_page_byte_for_byte(markup, raw, spliced, monkeypatch):
    """A cell's HTML that would parse otherwise on its own than in the page, or a class that reaches across
    cells, gets the page nbconvert's pass over the whole page makes; the rest is spliced from each cell's
    own pass, and is that page too."""
    nb = nbformat.read(COURSE.notebook(Stage.AUTOGRADED, "full-marks", ASSIGNMENT), as_version=4)
    shown = nbformat.v4.new_code_cell("show()", id="odd-output")
    shown.outputs = [new_output("display_data", data={"text/html": markup, "text/plain": "odd"})]
    nb.cells[5:5] = [nbformat.v4.new_markdown_cell(markup, id="odd-markdown"), shown]
    if raw:
        nb.cells.insert(5, nbformat.v4.new_raw_cell(markup, id="odd-raw", metadata={"raw_mimetype": "text/html"}))
    render_feedback(nb, "odd", ASSIGNMENT)  # the cells it can reuse are remembered
    pages, splice = [], FeedbackExporter._spliced

    def recorded(*args):  # None: the page was rendered whole
        pages.append(splice(*args))
        return pages[-1]

    monkeypatch.setattr(FeedbackExporter, "_spliced", recorded)
    page = render_feedback(nb, "odd", ASSIGNMENT).decode()
    whole, _ = HTMLExporter.from_notebook_node(
        feedback._feedback_exporter(feedback.SOURCE_LANGUAGE),
        nb,
        resources={"nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "student": "odd"}},
    )
    assert page == whole
    assert (pages[0] is not None) == spliced


def test_feedback_hides_hidden_tests_and_keeps_the_message(course):
    graded = [
        student
        for student in Course(course).students(Stage.AUTOGRADED, ASSIGNMENT)
        if Course(course).notebook(Stage.AUTOGRADED, student, ASSIGNMENT).exists()
    ]
    assert sorted(graded) == ["ann", "ben", "cat", "fay"]  # dan and eve have no autograded notebook

    def page_of(student: str) -> bytes:
        return render_feedback(
            nbformat.read(Course(course).notebook(Stage.AUTOGRADED, student, ASSIGNMENT), as_version=4),
            student,
            ASSIGNMENT,
        )

    page = page_of("ben").decode()
    for code in (*HIDDEN_CODE, "Traceback (most recent call last)", "In[16], line 12"):
        assert code not in page
    assert "AssertionError: forward_propagation_with_dropout: A1 was masked but not divided by keep_prob." in page
    assert "Hint: activations were not divided by keep_prob" in page
    assert "Score: 20.0 / 40.0" in page  # nbgrader's own header, from the gradebook
    assert feedback_of(course, "ben") == page


def test_hide_hidden_tests_keeps_indentation_and_hides_an_unterminated_block():
    cell = nbformat.v4.new_code_cell(
        "check(f)\nif True:\n    ### BEGIN HIDDEN TESTS\n    secret()\n"
        "    ### END HIDDEN TESTS\nafter()\n### BEGIN HIDDEN TESTS\nmore_secret()"
    )
    HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.source == (
        "check(f)\nif True:\n    # hidden tests are not shown\nafter()\n# hidden tests are not shown"
    )


def test_only_grade_cells_lose_their_traceback():
    error = dict(ename="ValueError", evalue="bad\nHint: h", traceback=["frame", "ValueError: bad"])
    grade = nbformat.v4.new_code_cell(
        "t()",
        outputs=[new_output("error", **error)],
        metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1}},
    )
    plain = nbformat.v4.new_code_cell("f()", outputs=[new_output("error", **error)])
    for cell in (grade, plain):
        ShortenGradeCellErrors().preprocess_cell(cell, {}, 0)
    assert grade.outputs[0].traceback == ["ValueError: bad\nHint: h"]
    assert plain.outputs[0].traceback == ["frame", "ValueError: bad"]


@pytest.mark.slow
def test_real_autograde_output(tmp_path):
    """generate_assignment, one submission through `nbgrader autograde`, then feedback and report (~20 s)."""
    copy_course(tmp_path, COURSE_ROOT)
    build_release(tmp_path)
    submission = nbformat.read(RELEASE_NOTEBOOK, as_version=4)
    solution = cell_by_id(nbformat.read(SOURCE_NOTEBOOK, as_version=4), "forward_propagation_with_dropout")
    cell_by_id(submission, "forward_propagation_with_dropout").source = re.sub(
        r" *### (BEGIN|END) SOLUTION\n", "", solution.source
    ).replace("A1 = A1 / keep_prob", "pass")  # the classic mistake, in layer 1 only; the other three stay stubs
    folder = Course(tmp_path).path(Stage.SUBMITTED, "zoe", ASSIGNMENT)
    folder.mkdir(parents=True)
    nbformat.write(submission, folder / f"{NOTEBOOK}.ipynb")
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--create", "--quiet"], cwd=tmp_path, check=True
    )

    # layer 2 is right given the student's own A1: its part's 5 points (partial credit)
    assert summary_text(*collect(tmp_path)).splitlines()[1].split() == [
        "zoe",
        "en",
        "0",
        "0",
        "5",
        "0",
        "5/40",
        "0/4",
        "passed",
    ]
    write_report(tmp_path)
    page = (tmp_path / "report" / "index.html").read_text()
    assert "A1 was masked but not divided by keep_prob." in page
    assert page.count("NotImplementedError: replace this line with your code") == 3

    feedback = feedback_of(tmp_path, "zoe")
    for code in HIDDEN_CODE:
        assert code not in feedback
    assert FORWARD_ERROR.splitlines()[0] in feedback and FORWARD_ERROR.splitlines()[1] in feedback
