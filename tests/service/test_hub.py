"""A term on the course's JupyterHub, deployed from the shipped jupyterhub_config.py as README says: Unix
accounts with passwords (PAM) for an instructor and three students, each user's JupyterLab running as
themselves, the shared exchange, and the grading service that the hub runs as the instructor, checking
owners. In a real browser the instructor releases the assignment from Formgrader; two students log in,
fetch, write their answers in the notebook, validate, submit and read their feedback; neither gets at the
other's work; the instructor sees both in Formgrader and releases feedback. Then the hub is stopped, with
every server it started. The course is a copy in the instructor's closed home (COURSE_FOLDER), the
virtualenv every account runs is this checkout's.

Runs as root (CI does): it creates the accounts with useradd and removes them afterwards."""

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest

from course.layout import ASSIGNMENT, NOTEBOOK, ROSTER, Stage, copy_course, course_config
from public_tests import GRADED_FUNCTIONS
from tests import COURSE, COURSE_ROOT
from tests.browser import browser_page, log_tail, stop
from tests.servers import accounts_of_this_machine, free_port
from tests.service.test_accounts import run
from tests.service.test_service_browser import fetch, open_assignments, score, submit_and_read_feedback

pytestmark = pytest.mark.slow  # a hub, three JupyterLabs, a browser and two graded submissions

PREFIX = "h6"  # of every account and group this test makes
INSTRUCTOR = f"{PREFIX}-prof"
GROUP = f"{PREFIX}-class"  # the course's Unix group: who may log in
# account: (first name, last name, the sample submission whose answers they type); the third never logs in
STUDENTS = {
    f"{PREFIX}-ada": ("Ada", "Lovelace", "full-marks"),
    f"{PREFIX}-bob": ("Bob", "Mistry", "half-missing-in-cost"),
    f"{PREFIX}-cy": ("Cy", "Nakamura", None),
}
ADA, BOB, _ = STUDENTS
OUTSIDER = f"{PREFIX}-eve"  # an account of the machine outside the course's group
COURSE_ID = course_config(COURSE_ROOT).CourseDirectory.course_id
PROXY_HINT = "install it with `npm install -g configurable-http-proxy` (as .ci/run does)"
HUB_START_SECONDS = 120
# The hub stops each JupyterLab with SIGINT, which ends it without shutting its kernels down; a kernel
# notices that its server has gone (ipykernel's parent poller, once a second) and exits by itself.
KERNEL_EXIT_SECONDS = 30
BROWSER_TIMEOUT_MS = 240_000  # a user's first JupyterLab, a validation: slow on a busy 2-core machine


class Term(NamedTuple):
    exchange: Path
    scores: dict  # student: (points, out of) on the feedback page they read
    feedback: dict  # student: the feedback page's text
    seconds_to_score: dict  # student: from pressing Submit to reading their score
    validation: dict  # student: the text of the Validate dialog
    saved: dict  # student: (owner of the notebook the browser saved, its graded cells' sources)
    intruder: dict  # what Bob got asking the hub for Ada's files: {url: (status, page text)}
    fetched: dict  # student: the scores on the feedback pages Fetch Feedback put in their home
    bob_reads: dict  # {a command Bob ran on Ada's notebook or the exchange's folders: whether it worked}
    outsider_told: str  # what the login page said to an account outside the course, with its right password
    instructor_tools: dict  # student: (status of their /formgrader, Create Assignment tabs in their JupyterLab)
    released_assignment: str  # what Formgrader said when the instructor pressed Release
    submissions: dict  # student: (name, time handed in, score) on Formgrader's Manage Submissions
    released_feedback: str  # what Formgrader said when the instructor pressed Release Feedback
    log: str  # the hub's log, the grading service's included
    service: list  # the instructor's processes running the grading service, as ps lists them
    left_running: dict  # account: its processes still running KERNEL_EXIT_SECONDS after the hub stopped


@pytest.fixture(scope="module")
def term():
    if os.geteuid() != 0:
        pytest.fail("this test creates Unix accounts and runs a JupyterHub: run it as root (as CI does)")
    if not shutil.which("configurable-http-proxy"):
        pytest.fail(f"JupyterHub's proxy, configurable-http-proxy, is not installed: {PROXY_HINT}")
    with accounts_of_this_machine():
        return term_on_the_hub()


def remove_accounts() -> None:
    for name in [INSTRUCTOR, *STUDENTS, OUTSIDER]:
        run("userdel", "--remove", name, check=False)
    run("groupdel", GROUP, check=False)


def answers(sample_student: str) -> dict:
    """{graded function: its cell's source} in a sample submission: what the student types."""
    nb = nbformat.read(COURSE.notebook(Stage.SUBMITTED, sample_student, ASSIGNMENT), as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in nb.cells}
    return {function: cells[function] for function in GRADED_FUNCTIONS}


def term_on_the_hub() -> Term:
    remove_accounts()  # a run that was killed may have left them
    base = Path(tempfile.mkdtemp(prefix="course-hub-"))
    base.chmod(0o755)
    passwords = {name: secrets.token_urlsafe(12) for name in [INSTRUCTOR, *STUDENTS, OUTSIDER]}
    hub = None
    try:
        run("groupadd", GROUP)
        for name in passwords:  # the students in the course's group; the instructor, not in it, may log in too
            group = ["--groups", GROUP] if name in STUDENTS else []
            run("useradd", "--create-home", "--key", "HOME_MODE=0700", *group, "--shell", "/bin/bash", name)
        run("chpasswd", input="".join(f"{name}:{password}\n" for name, password in passwords.items()))
        home = Path(pwd.getpwnam(INSTRUCTOR).pw_dir)
        course = copy_course(home / "regularization", COURSE_ROOT, folders=("source", "release"))
        (course / ROSTER).write_text(
            "id,first_name,last_name,email\n"
            + "".join(f"{s},{first},{last},{s}@example.edu\n" for s, (first, last, _) in STUDENTS.items())
        )
        run("chown", "-R", f"{INSTRUCTOR}:{INSTRUCTOR}", str(home))
        run("chmod", "-R", "go-rwx", str(course))

        # README's one command, on ports of its own; the exchange does not exist yet: the hub makes it.
        exchange, url = base / "exchange", f"http://127.0.0.1:{free_port()}"
        state = base / "hub"
        state.mkdir()
        log = base / "hub.log"
        with open(log, "wb") as output:
            hub = subprocess.Popen(
                [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(COURSE_ROOT / "jupyterhub_config.py")]
                + [f"--JupyterHub.bind_url={url}", f"--JupyterHub.hub_bind_url=http://127.0.0.1:{free_port()}"]
                + [f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}"],
                cwd=state,
                env={
                    **os.environ,
                    "COURSE_INSTRUCTOR": INSTRUCTOR,
                    "COURSE_FOLDER": str(course),
                    "COURSE_EXCHANGE": str(exchange),
                    "COURSE_GROUP": GROUP,
                },
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_hub(url, hub, log)
        formgrader = f"{url}/user/{INSTRUCTOR}/formgrader"
        with browser_page() as page:
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            submit_login_form(page, url, OUTSIDER, passwords[OUTSIDER])
            outsider_told = page.locator(".login_error").inner_text()
            log_in(page, url, INSTRUCTOR, passwords[INSTRUCTOR])
            released_assignment = press_in_manage_assignments(page, formgrader, "release")
            page.goto(f"{url}/user/{INSTRUCTOR}/lab")
            page.locator(".lm-TabBar-tab", has_text="Create Assignment").wait_for()

        scores, feedback, seconds, validation, saved, intruder, instructor_tools = {}, {}, {}, {}, {}, {}, {}
        for student in (ADA, BOB):
            with browser_page() as page:
                page.set_default_timeout(BROWSER_TIMEOUT_MS)
                try:
                    log_in(page, url, student, passwords[student])
                    open_assignments(page)
                    instructor_tools[student] = (
                        page.request.get(f"{url}/user/{student}/formgrader").status,
                        page.locator(".lm-TabBar-tab", has_text="Create Assignment").count(),
                    )
                    fetch(page)
                    write_answers(page, answers(STUDENTS[student][2]))
                    saved[student] = saved_notebook(student)
                    validation[student] = validate(page)
                    started = time.monotonic()
                    feedback[student] = submit_and_read_feedback(page, submissions=1)
                    seconds[student] = time.monotonic() - started
                    scores[student] = score(feedback[student])
                    print(f"{student}: score read {seconds[student]:.1f} s after pressing Submit")
                    if student == BOB:
                        intruder = visit_adas_files(page, url)
                except Exception:
                    shot = base.parent / f"hub-{student}-failure.png"
                    page.screenshot(path=str(shot), full_page=True)
                    print(f"screenshot: {shot}\nhub log:\n{log_tail(log, 80)}")
                    raise
        # nbgrader's exchange: folders anyone can hand files into but nobody else can list; what is in them is
        # readable by name (the instructor's account collects it), each name with a part only its student knows.
        bob_reads = {
            f"ls {path}": run("ls", str(path), user=BOB, check=False).returncode == 0
            for path in (exchange / COURSE_ID / "inbound", exchange / COURSE_ID / "feedback")
        }
        adas = Path(pwd.getpwnam(ADA).pw_dir) / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        bob_reads[f"cat {adas}"] = run("cat", str(adas), user=BOB, check=False).returncode == 0
        with browser_page() as page:
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            log_in(page, url, INSTRUCTOR, passwords[INSTRUCTOR])
            submissions = submissions_in_formgrader(page, formgrader)
            released_feedback = press_in_manage_assignments(page, formgrader, "release-feedback")
        service = [line for line in running(INSTRUCTOR) if " -m course serve " in line]
        stop(hub, seconds=120)
        left_running = left_running_after_the_hub(passwords)
        return Term(
            exchange,
            scores,
            feedback,
            seconds,
            validation,
            saved,
            intruder,
            {s: [score(page.read_text()) for page in feedback_pages(s)] for s in (ADA, BOB)},
            bob_reads,
            outsider_told,
            instructor_tools,
            released_assignment,
            submissions,
            released_feedback,
            log.read_text(errors="replace"),
            service,
            left_running,
        )
    finally:
        if hub is not None and hub.poll() is None:
            stop(hub, seconds=120)
        for name in passwords:  # whatever the hub left behind, so that userdel can remove the accounts
            run("pkill", "--signal", "KILL", "-u", name, check=False)
        remove_accounts()
        shutil.rmtree(base, ignore_errors=True)


def wait_for_hub(url: str, hub: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + HUB_START_SECONDS
    while time.monotonic() < deadline:
        assert hub.poll() is None, f"the hub exited with status {hub.returncode}:\n{log_tail(log, 80)}"
        try:
            with urllib.request.urlopen(f"{url}/hub/api/", timeout=5) as answer:
                if "version" in json.load(answer):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the hub did not answer within {HUB_START_SECONDS} s:\n{log_tail(log, 80)}")


def feedback_pages(student: str) -> list[Path]:
    return sorted((Path(pwd.getpwnam(student).pw_dir) / ASSIGNMENT / "feedback").glob(f"*/{NOTEBOOK}.html"))


def left_running_after_the_hub(accounts) -> dict:
    """{account: its processes} once none is left, or as they are KERNEL_EXIT_SECONDS after the hub stopped."""
    deadline = time.monotonic() + KERNEL_EXIT_SECONDS
    left = {name: running(name) for name in accounts}
    while any(left.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
        left = {name: running(name) for name in accounts}
    return left


def running(account: str) -> list[str]:
    """The account's processes, but for those that ended and wait for this machine's init to reap them."""
    listed = run("ps", "-ww", "--no-headers", "-o", "stat=,args=", "-u", account, check=False).stdout.splitlines()
    return [line.split(None, 1)[1] for line in listed if not line.startswith("Z")]


def submit_login_form(page, url: str, account: str, password: str) -> None:
    page.goto(f"{url}/hub/login")
    page.locator("#username_input").fill(account)
    page.locator("#password_input").fill(password)
    page.locator("#login_submit").click()


def log_in(page, url: str, account: str, password: str) -> None:
    """The hub's login form; then wait for the account's JupyterLab, which the hub starts."""
    submit_login_form(page, url, account, password)
    page.wait_for_url(f"{url}/user/{account}/lab**")
    page.locator("#jp-main-dock-panel").wait_for()


def write_answers(page, sources: dict) -> None:
    """Open the fetched notebook from the Assignments panel, replace each graded function's cell with the
    student's answer, typed into the cell's editor, and save."""
    fetched = page.locator("#fetched_assignments_list")
    fetched.locator(".assignment-notebooks-link", has_text=ASSIGNMENT).click()
    fetched.get_by_role("link", name=NOTEBOOK, exact=True).click()
    notebook = page.locator(".jp-NotebookPanel:visible")
    for function, source in sources.items():
        editor = notebook.locator(".jp-CodeCell", has_text=f"# GRADED FUNCTION: {function}").locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(source)
    page.keyboard.press("Control+s")
    page.locator(".jp-mod-current.jp-mod-dirty").wait_for(state="detached")


def saved_notebook(student: str) -> tuple[str, dict]:
    path = Path(pwd.getpwnam(student).pw_dir) / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in nb.cells}
    return pwd.getpwuid(path.stat().st_uid).pw_name, {function: cells[function] for function in GRADED_FUNCTIONS}


def validate(page) -> str:
    """Validate in the Assignments panel; returns what its dialog says, and closes it."""
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Assignments").click()
    page.locator("#fetched_assignments_list").get_by_role("button", name="Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.locator(".validation-success, .validation-failed").wait_for()
    text = dialog.locator(".jp-Dialog-body").inner_text()
    dialog.get_by_role("button", name="Ok").click()
    return text


def visit_adas_files(page, url: str) -> dict:
    """Bob, logged in, asks the hub for Ada's notebook and her feedback folder."""
    seen = {}
    for path in (
        f"user/{ADA}/api/contents/{ASSIGNMENT}/{NOTEBOOK}.ipynb",
        f"user/{ADA}/files/{ASSIGNMENT}/{NOTEBOOK}.ipynb",
        f"user/{ADA}/lab/tree/{ASSIGNMENT}/feedback",
    ):
        answer = page.request.get(f"{url}/{path}")
        seen[path] = (answer.status, answer.text())
    return seen


def submissions_in_formgrader(page, formgrader: str) -> dict:
    """Manage Submissions' rows: {student: (name, time handed in, score)}."""
    page.goto(f"{formgrader}/manage_submissions/{ASSIGNMENT}")
    page.locator("td.student-id", has_text=BOB).wait_for()
    return {
        row.locator("td.student-id").inner_text(): tuple(
            row.locator(f"td.{column}").inner_text() for column in ("student-name", "timestamp", "score")
        )
        for row in page.locator("tbody tr").all()
    }


def press_in_manage_assignments(page, formgrader: str, column: str) -> str:
    """Press the assignment's button in a column of Formgrader's Manage Assignments; returns what it then says."""
    page.goto(f"{formgrader}/manage_assignments")
    row = page.locator("tbody tr").filter(has=page.locator("td.name").get_by_text(ASSIGNMENT, exact=True))
    row.locator(f"td.{column} a").click()
    message = page.locator("#success-modal, #error-modal")
    message.wait_for()
    return message.inner_text()


def test_each_student_reads_their_own_score_after_submitting(term):
    assert term.scores == {ADA: (40, 40), BOB: (30, 40)}, term.feedback
    assert "the L2 term uses lambd/m; the cost needs lambd/(2m)." in term.feedback[BOB]
    assert all(seconds < 120 for seconds in term.seconds_to_score.values()), term.seconds_to_score


def test_the_browser_wrote_each_answer_into_the_students_own_notebook(term):
    for student in (ADA, BOB):
        assert term.saved[student] == (student, answers(STUDENTS[student][2]))


def test_validate_tells_the_student_before_they_submit(term):
    assert "Success! Your notebook passes all the tests." in term.validation[ADA]
    assert "Success" not in term.validation[BOB]
    assert "compute_cost_with_regularization" in term.validation[BOB], term.validation[BOB]


def test_only_the_course_logs_in(term):
    """The instructor (outside the course's group) and the students did; an account outside the course may not."""
    assert term.outsider_told == "Invalid username or password"
    assert f"User {OUTSIDER!r} not allowed." in term.log  # her password was right: the group kept her out


def test_students_get_no_instructor_tools(term):
    """Formgrader and Create Assignment are the instructor's (whose JupyterLab has them, see the fixture)."""
    assert term.instructor_tools == {ADA: (404, 0), BOB: (404, 0)}


def test_a_student_cannot_open_anothers_work(term):
    ada_wrote = answers("full-marks")["backward_propagation_with_regularization"].splitlines()[-1]
    for path, (status, text) in term.intruder.items():
        assert status == 403, (path, status, text[:300])
        assert ada_wrote not in text
    assert len(term.bob_reads) == 3 and not any(term.bob_reads.values()), term.bob_reads
    assert term.fetched == {ADA: [(40, 40)], BOB: [(30, 40)]}  # what Fetch Feedback brought each: their own


def test_the_instructor_releases_sees_both_in_formgrader_and_releases_feedback(term):
    assert f"Successfully released '{ASSIGNMENT}'" in term.released_assignment, term.released_assignment
    rows = term.submissions
    assert set(rows) == {ADA, BOB}, rows
    for student in (ADA, BOB):
        first, last, _ = STUDENTS[student]
        name, handed_in, points = rows[student]
        assert name == f"{last}, {first}"
        assert handed_in.startswith(time.strftime("%Y-%m-%d", time.gmtime())), handed_in
        assert points == f"{term.scores[student][0]:g} / 40"
    assert f"Successfully released feedback of '{ASSIGNMENT}'" in term.released_feedback, term.released_feedback


def test_the_grading_service_ran_as_the_instructor_checking_owners(term):
    """The service and its grading workers, as the instructor, with the owner check (no --no-check-owner)."""
    assert term.service
    for line in term.service:
        assert line == f"{Path(sys.executable).parent}/python3 -m course serve --exchange {term.exchange}", line


def test_stopping_the_hub_stops_every_server_it_started(term):
    assert term.left_running == dict.fromkeys(term.left_running, []), term.left_running
