"""A student hands in through nbgrader's Assignments panel in JupyterLab and reads the feedback the grading
service releases: a real browser, a real JupyterLab, a real exchange, and `python -m course serve` running
as the instructor would run it. The student uses only what stock nbgrader gives them."""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from course.layout import ASSIGNMENT, NOTEBOOK, ROSTER, Stage, copy_course, course_config
from tests import COURSE, COURSE_ROOT
from tests.browser import browser_page, jupyterlab, log_tail, stop

pytestmark = pytest.mark.slow  # a JupyterLab server, a browser and two graded submissions

COURSE_ID = course_config(COURSE_ROOT).CourseDirectory.course_id
STUDENT = "lab-student"  # nbgrader would take the Unix user name; the student's config fixes it instead
FEEDBACK_SECONDS = 60  # the service's target is a few seconds; this leaves room on a loaded machine
SCORE = re.compile(rf"{NOTEBOOK} \(Score: ([\d.]+) / ([\d.]+)\)")  # the heading of nbgrader's feedback page


def nbgrader(cwd: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


@pytest.fixture
def exchange(tmp_path):
    """An exchange where the instructor (a copy of the course) has released the assignment, and the
    grading service watching it; yields the exchange root. The service is stopped at teardown."""
    root = tmp_path / "exchange"
    root.mkdir()
    course = copy_course(tmp_path / "course", COURSE_ROOT, folders=("source", "release"))
    shutil.copyfile(COURSE_ROOT / ROSTER, course / ROSTER)
    nbgrader(course, "release_assignment", ASSIGNMENT, f"--Exchange.root={root}")
    log = tmp_path / "service.log"
    with open(log, "wb") as output:
        service = subprocess.Popen(
            # one account plays the student here (the student's config names them): no owner to check
            [sys.executable, "-m", "course", "serve", "--exchange", str(root), "--no-check-owner"],
            cwd=course,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield root
    finally:
        stop(service)


def fetch(page) -> None:
    """Press Fetch on the released assignment in the Assignments panel; wait until it is listed as fetched."""
    released = page.locator("#released_assignments_list")
    released.locator(".list_item", has_text=ASSIGNMENT).get_by_role("button", name="Fetch", exact=True).click()
    page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()


def save_as_student(home: Path, sample_student: str) -> None:
    """The fetched notebook, overwritten by a sample submission: as a student who wrote and saved that."""
    shutil.copyfile(
        COURSE.notebook(Stage.SUBMITTED, sample_student, ASSIGNMENT),
        home / ASSIGNMENT / f"{NOTEBOOK}.ipynb",
    )


def open_assignments(page) -> None:
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
    page.locator("#released_assignments_list").wait_for()


def submit_and_read_feedback(page, submissions: int) -> str:
    """Press Submit in the Assignments panel, refresh it until it says feedback can be fetched, fetch it,
    open the newest submission's feedback page in JupyterLab, close it and return its text."""
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Assignments").click()
    page.locator("#fetched_assignments_list").get_by_role("button", name="Submit", exact=True).click()
    submitted = page.locator("#submitted_assignments_list")
    rows = submitted.locator(".nested_list_item")  # one per submission, oldest first
    rows.nth(submissions - 1).wait_for()
    assert rows.count() == submissions
    deadline = time.monotonic() + FEEDBACK_SECONDS
    while "feedback available to fetch" not in rows.last.inner_text():
        assert time.monotonic() < deadline, f"no feedback to fetch {FEEDBACK_SECONDS} s after submitting"
        page.wait_for_timeout(1000)
        page.locator("#refresh_assignments_list").click()
        rows.nth(submissions - 1).wait_for()
    submitted.get_by_role("button", name="Fetch Feedback", exact=True).click()
    folder = page.locator("#filebrowser .jp-BreadCrumbs")
    shown = folder.inner_text()  # the file browser may still show an earlier submission's feedback folder
    rows.last.get_by_text("(view feedback)").click()  # shows this one's feedback folder in the file browser
    expect(folder).not_to_have_text(shown, timeout=FEEDBACK_SECONDS * 1000)
    page.locator(".jp-DirListing-itemText", has_text=f"{NOTEBOOK}.html").dblclick()
    feedback = page.frame_locator(".jp-HTMLViewer:visible iframe")
    feedback.locator(".panel-heading h4").wait_for()
    text = feedback.locator("body").inner_text()
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    return text


def score(text: str) -> tuple[float, float]:
    found = SCORE.search(text)
    assert found, f"no score on the feedback page:\n{text[:500]}"
    return float(found[1]), float(found[2])


def test_a_student_submits_from_jupyterlab_and_reads_the_feedback(exchange, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "nbgrader_config.py").write_text(  # the course, the exchange and the student id
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.CourseDirectory.student_id = {STUDENT!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        f"c.Exchange.cache = {str(home / '.nbgrader-cache')!r}\n"
    )
    with jupyterlab(home) as url, browser_page() as page:
        try:
            page.goto(url)
            open_assignments(page)
            fetch(page)
            assert (home / ASSIGNMENT / f"{NOTEBOOK}.ipynb").exists()

            save_as_student(home, "full-marks")
            assert score(submit_and_read_feedback(page, submissions=1)) == (40, 40)

            save_as_student(home, "half-missing-in-cost")
            text = submit_and_read_feedback(page, submissions=2)
            assert score(text) == (30, 40)
            assert "the L2 term uses lambd/m; the cost needs lambd/(2m)." in text
        except Exception:
            shot = tmp_path / "assignments-failure.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}\nservice log:\n{log_tail(tmp_path / 'service.log')}")
            raise
