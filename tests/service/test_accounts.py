"""The grading service on an exchange shared by real Unix accounts, deployed as README says: the course
in the instructor's home, closed to others; the exchange world-writable; the service run as the
instructor's account, checking owners (its default). Four students fetch and submit with nbgrader's
commands as themselves; then one student with a shell writes straight into the inbound folder, trick
after trick. Each trick is refused with a message, nobody else's grade changes, and the service goes on
grading. The four students' points are those of every other door (tests/doors/test_doors.py).

Runs as root (CI does): it creates the accounts with useradd and removes them afterwards."""

import hashlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from course.layout import ASSIGNMENT, Course, Stage, copy_course, course_config
from course.service import journal
from tests import COURSE_ROOT, hostile
from tests.doors.test_doors import expected, points_per_cell
from tests.servers import accounts_of_this_machine

PREFIX = "w27"  # of every account this test makes
INSTRUCTOR = f"{PREFIX}-prof"
STUDENTS = {f"{PREFIX}-{name}": name for name in ("correct", "one-mistake", "hard-coded", "fake-tests")}
MALLORY = f"{PREFIX}-mallory"  # the student with a shell
COURSE_ID = course_config(COURSE_ROOT).CourseDirectory.course_id
CLASSMATE = next(iter(STUDENTS))  # whose submission the tricks aim at: the correct one
# Each trick, by the words its refusal must contain.
TRICKS = {
    "link-to-source": "symbolic link",
    "link-to-classmate": "symbolic link",
    "hard-link": "hard link",
    "linked-subfolder": "symbolic link",
    "linked-folder": "symbolic link",
    "named-for-classmate": f"not to your account {CLASSMATE}",
    "fifo": "not a regular file",
    "sparse-2GB": "larger than",
    "10000-files": "more than",
}

# Run as Mallory with the system's Python: each trick a folder of her own making in inbound/, complete
# as nbgrader submit leaves one (timestamp, secret, mode 777), one second apart.
TRICKS_SCRIPT = r"""
import datetime, json, os, sys
inbound, root, notebook, classmate, me, course = sys.argv[1:7]
home = os.path.expanduser("~")
start = datetime.datetime.now(datetime.timezone.utc)
names = {}

def make(trick, i, student=me, folder=None):
    stamp = (start + datetime.timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    name = f"{student}+regularization+{stamp}+trick{i}"
    path = folder or os.path.join(inbound, name)
    os.makedirs(path)
    with open(os.path.join(path, "timestamp.txt"), "w") as f:
        f.write(stamp)
    with open(os.path.join(path, "submission_secret.txt"), "w") as f:
        f.write(f"{i:02d}" * 64)
    names[trick] = name
    # what nbgrader submit keeps in her cache, so that fetch_feedback finds the page released for it
    cache = os.path.join(home, ".local/share/jupyter/nbgrader_cache", course, name.rsplit("+", 1)[0])
    os.makedirs(cache)
    for file, text in (("Regularization.ipynb", notebook), ("submission_secret.txt", f"{i:02d}" * 64)):
        with open(os.path.join(cache, file), "w") as f:
            f.write(text)
    return path, name

def notebook_in(path, name="Regularization.ipynb"):
    with open(os.path.join(path, name), "w") as f:
        f.write(notebook)

source = os.path.join(root, "source", "regularization", "Regularization.ipynb")
submitted = os.path.join(root, "submitted", classmate, "regularization", "Regularization.ipynb")
path, _ = make("link-to-source", 1); os.symlink(source, os.path.join(path, "Regularization.ipynb"))
path, _ = make("link-to-classmate", 2); os.symlink(submitted, os.path.join(path, "Regularization.ipynb"))
mine = os.path.join(home, "mine.ipynb")
with open(mine, "w") as f:
    f.write(notebook)
path, _ = make("hard-link", 3); os.link(mine, os.path.join(path, "Regularization.ipynb"))
path, _ = make("linked-subfolder", 4); notebook_in(path)
os.symlink(os.path.dirname(source), os.path.join(path, "datasets"))
decoy = os.path.join("/tmp", f"decoy-{me}")
path, name = make("linked-folder", 5, folder=decoy); notebook_in(path); os.chmod(decoy, 0o777)
os.symlink(decoy, os.path.join(inbound, name))
path, _ = make("named-for-classmate", 6, student=classmate); notebook_in(path)
path, _ = make("fifo", 7); os.mkfifo(os.path.join(path, "Regularization.ipynb"))
path, _ = make("sparse-2GB", 8); notebook_in(path)
with open(os.path.join(path, "huge.bin"), "wb") as f:
    f.truncate(2 * 2**30)
path, _ = make("10000-files", 9); notebook_in(path)
for n in range(10000):
    open(os.path.join(path, f"f{n}"), "w").close()
for trick, name in names.items():
    if trick != "linked-folder":
        os.chmod(os.path.join(inbound, name), 0o777)
print(json.dumps(names))
"""


def run(
    *command, user: str | None = None, cwd=None, timeout=180, check=True, input: str | None = None
) -> subprocess.CompletedProcess:
    if user:
        command = ("runuser", "-u", user, "--", "env", f"HOME={pwd.getpwnam(user).pw_dir}", *command)
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, input=input)
    assert not check or done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}{done.stderr}"
    return done


def nbgrader_as(user: str, *args: str, exchange: Path) -> None:
    home = pwd.getpwnam(user).pw_dir
    options = [f"--course={COURSE_ID}", f"--Exchange.root={exchange}"]
    run(sys.executable, "-m", "nbgrader", *args, *options, user=user, cwd=home)


def remove_accounts() -> None:
    for name in [INSTRUCTOR, *STUDENTS, MALLORY]:
        run("userdel", "--remove", name, check=False)


def wait_for(root: Path, service: subprocess.Popen, log: Path, done, seconds: float = 180) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert service.poll() is None, log.read_text()[-3000:]
        records = journal.Journal(root).records if (root / journal.JOURNAL_FILE).exists() else {}
        if done(records):
            return records
        time.sleep(0.3)
    raise AssertionError(f"the service did not get there in {seconds} s:\n{log.read_text()[-3000:]}")


class Campus(NamedTuple):
    root: Path
    exchange: Path
    before: dict  # the four students' points per cell after their own submissions
    after: dict  # the same, after Mallory's tricks and her honest submission
    submitted_before: dict  # sha256 of each student's collected notebook, before the tricks
    tricks: dict  # trick: its inbound folder's name
    records: dict  # the journal at the end
    feedback: dict  # Mallory's feedback pages as fetch_feedback brings them: {time handed in: page}
    log: str
    submitted_after: dict
    course_bytes: int  # what the course folder holds at the end, in bytes on disk
    mallory_reads: dict  # {path: whether Mallory could read it}
    report: str  # the class report the service wrote


@pytest.fixture(scope="module")
def campus():
    if os.geteuid() != 0:
        pytest.fail("this test creates Unix accounts: run it as root (as CI does)")
    with accounts_of_this_machine():
        return term_on_real_accounts()


def term_on_real_accounts() -> Campus:
    """The service and the class on real accounts, Mallory's tricks, and what came of it; the accounts are
    removed at the end."""
    remove_accounts()  # a run that was killed may have left them
    base = Path(tempfile.mkdtemp(prefix="course-accounts-"))
    base.chmod(0o755)
    service = None
    try:
        for name in [INSTRUCTOR, *STUDENTS, MALLORY]:
            run("useradd", "--create-home", "--shell", "/bin/bash", name)
        reachable = run(sys.executable, "-c", "pass", user=INSTRUCTOR, check=False)
        if reachable.returncode:
            pytest.fail(
                f"other accounts cannot run this Python ({sys.executable}: {reachable.stderr.strip()}): make the "
                "virtualenv from a Python every account can run, such as Debian's /usr/bin/python3 "
                "(tests/run does, as root), in a checkout whose folders every account may enter"
            )
        # README's deployment: the course in the instructor's home, closed to others; the exchange world-writable.
        home = Path(pwd.getpwnam(INSTRUCTOR).pw_dir)
        root = copy_course(home / "regularization", COURSE_ROOT, folders=("source", "release"))
        run("chown", "-R", f"{INSTRUCTOR}:{INSTRUCTOR}", str(home))
        run("chmod", "700", str(home))
        run("chmod", "-R", "go-rwx", str(root))
        exchange = base / "exchange"
        exchange.mkdir()
        exchange.chmod(0o777)
        python = sys.executable
        run(
            python,
            "-m",
            "nbgrader",
            "release_assignment",
            ASSIGNMENT,
            f"--Exchange.root={exchange}",
            user=INSTRUCTOR,
            cwd=root,
        )
        log = base / "service.log"
        with open(log, "wb") as out:
            service = subprocess.Popen(
                ["runuser", "-u", INSTRUCTOR, "--", "env", f"HOME={home}", python, "-m", "course", "serve"]
                + ["--exchange", str(exchange), "--workers", "2", "--timeout", "15", "--poll", "0.3"]
                + ["--attempts-per-day", "20"],
                cwd=root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        # The four students, each as themselves with nbgrader's commands.
        notebooks = hostile.small_class(root)
        for student, name in STUDENTS.items():
            nbgrader_as(student, "fetch_assignment", ASSIGNMENT, exchange=exchange)
            path = Path(pwd.getpwnam(student).pw_dir) / ASSIGNMENT / "Regularization.ipynb"
            path.write_bytes(notebooks[name][0])
            run("chown", student, str(path))
            nbgrader_as(student, "submit", ASSIGNMENT, exchange=exchange)
        wait_for(root, service, log, lambda records: sum(r["state"] == "graded" for r in records.values()) == 4)
        before = points_per_cell(root, STUDENTS)
        submitted_before = {
            s: hashlib.sha256(Course(root).notebook(Stage.SUBMITTED, s, ASSIGNMENT).read_bytes()).hexdigest()
            for s in STUDENTS
        }

        # Mallory's tricks, straight into inbound/, then one honest submission, which must be graded.
        script = base / "tricks.py"
        script.write_text(TRICKS_SCRIPT)
        made = run(
            "python3",
            str(script),
            str(exchange / COURSE_ID / "inbound"),
            str(root),
            notebooks["correct"][0].decode(),
            CLASSMATE,
            MALLORY,
            COURSE_ID,
            user=MALLORY,
            cwd="/tmp",
        )
        tricks = json.loads(made.stdout)
        wait_for(
            root,
            service,
            log,
            lambda records: all(n in records and records[n]["state"] not in journal.WAITING for n in tricks.values()),
        )
        nbgrader_as(MALLORY, "fetch_assignment", ASSIGNMENT, exchange=exchange)
        path = Path(pwd.getpwnam(MALLORY).pw_dir) / ASSIGNMENT / "Regularization.ipynb"
        path.write_bytes(notebooks["correct"][0])
        run("chown", MALLORY, str(path))
        nbgrader_as(MALLORY, "submit", ASSIGNMENT, exchange=exchange)
        records = wait_for(
            root,
            service,
            log,
            lambda records: (
                sum(r["state"] == "graded" and r["student"] == MALLORY and "trick" not in n for n, r in records.items())
                == 1
            ),
        )
        nbgrader_as(MALLORY, "fetch_feedback", ASSIGNMENT, exchange=exchange)
        pages = Path(pwd.getpwnam(MALLORY).pw_dir) / ASSIGNMENT / "feedback"
        feedback = {p.parent.name: p.read_text() for p in pages.glob("*/Regularization.html")}
        report = root / "report" / "index.html"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Refused at collection" not in (
            report.read_text() if report.exists() else ""
        ):
            time.sleep(0.3)
        assert service.poll() is None
        submitted_after = {
            s: hashlib.sha256(Course(root).notebook(Stage.SUBMITTED, s, ASSIGNMENT).read_bytes()).hexdigest()
            for s in STUDENTS
        }
        course_bytes = int(run("du", "-s", "--block-size=1", str(root)).stdout.split()[0])
        secrets = [
            Course(root).notebook(Stage.SOURCE, None, ASSIGNMENT),
            Course(root).notebook(Stage.SUBMITTED, CLASSMATE, ASSIGNMENT),
            root / "gradebook.db",
        ]
        reads = {str(path): run("cat", str(path), user=MALLORY, check=False).returncode == 0 for path in secrets}
        return Campus(
            root,
            exchange,
            before,
            points_per_cell(root, STUDENTS),
            submitted_before,
            tricks,
            records,
            feedback,
            log.read_text(),
            submitted_after,
            course_bytes,
            reads,
            report.read_text(),
        )
    finally:
        if service is not None:
            try:
                os.killpg(service.pid, signal.SIGTERM)
                service.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(service.pid, signal.SIGKILL)
        shutil.rmtree(f"/tmp/decoy-{MALLORY}", ignore_errors=True)
        remove_accounts()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_the_service_gives_the_class_the_points_of_every_other_door(campus):
    problems = {n: r.get("problems") for n, r in campus.records.items() if r["student"] in STUDENTS}
    assert campus.before == {student: expected(campus.root)[name] for student, name in STUDENTS.items()}, problems


@pytest.mark.slow
@pytest.mark.parametrize("trick", TRICKS)
def test_each_trick_is_refused_with_a_message(campus, trick):
    record = campus.records[campus.tricks[trick]]
    said = json.dumps(record)
    assert record["state"] in ("refused", "graded"), said
    assert TRICKS[trick] in said, said
    if record["state"] == "graded":  # her own, refused at collection: scored 0 and told why
        assert record["status"] == "invalid" and record["points"] == 0, said
    assert f"REFUSED {campus.tricks[trick]}" in campus.log


@pytest.mark.slow
def test_the_refusals_reach_the_student_who_handed_in(campus):
    """What Mallory fetches with nbgrader fetch_feedback: a page per trick that kept its secret readable
    (the linked folder's was never read: the folder was not followed), each saying why."""
    refused = [page for page in campus.feedback.values() if "was refused" in page]
    assert len(refused) == len(TRICKS) - 1, list(campus.feedback)
    assert any("Score: 40.0 / 40.0" in page for page in campus.feedback.values())  # her honest one


@pytest.mark.slow
def test_nobody_elses_grade_or_submission_changed(campus):
    assert campus.after == campus.before
    assert campus.submitted_after == campus.submitted_before


@pytest.mark.slow
def test_the_service_kept_going_and_no_trick_filled_the_disk(campus):
    graded = [r for n, r in campus.records.items() if r["student"] == MALLORY and "trick" not in n]
    assert [r["points"] for r in graded] == [40]
    assert campus.course_bytes < 100 * 2**20


@pytest.mark.slow
def test_students_cannot_read_the_course(campus):
    assert campus.mallory_reads == dict.fromkeys(campus.mallory_reads, False)
    assert "can be read by other accounts" not in campus.log


@pytest.mark.slow
def test_the_class_report_names_every_refusal(campus):
    """The service's report lists every trick under Refused at collection, with its reason, though her
    latest submission, the honest one, is what the gradebook holds."""
    refused = campus.report.split("Refused at collection", 1)[1]
    assert f"Refused at collection: {len(TRICKS)}" in campus.report
    for words in TRICKS.values():
        assert words in refused
