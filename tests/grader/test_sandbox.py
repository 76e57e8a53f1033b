"""Hostile submissions graded, sandboxed, in one run with two ordinary students: each hostile one gets
exactly the points its code earns, the course tree is untouched, nothing reaches the network, no secret
of the grader's gets into what grading writes, and the ordinary students are graded byte for byte as in
the committed run without the hostile ones."""

import csv
import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from course.fanout.course_grader import sandbox_notice
from course.fanout.grade import NEEDS_ATTENTION, grade_class
from course.grader.execute import KILLED
from course.grader.job import Status
from course.grader.sandbox import Limits, kernel_command, kernel_environment
from course.layout import ASSIGNMENT, Course, Stage
from course.record import last_graded
from public_tests import GRADED_FUNCTIONS
from tests import COURSE, COURSE_ROOT, hostile
from tests.courses import CELL_TIMEOUT, course_copy, grades
from tests.sample_grades import points_losing

pytestmark = pytest.mark.slow  # grades the hostile class end to end

ORDINARY = ("full-marks", "half-missing-in-cost")
OUTPUTS = {"autograded", "feedback", "report", "grades.csv", "gradebook.db"}  # what a grading run writes
SECRET = hostile.SECRET
SECRET_VALUE = secrets.token_hex(16)  # random, so that finding it anywhere means it leaked
PROGRESS_LINE = re.compile(r"\[[#.]{30}\] \d+/\d+  elapsed .*")  # course.record.progress.Progress, off a terminal


def checksums(root):
    """sha256 of every file of the course tree except what grading writes."""
    sums = {}
    for folder, dirs, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        dirs[:] = [name for name in dirs if not (relative == "." and name in OUTPUTS) and name != "__pycache__"]
        for name in files:
            if not (relative == "." and name in OUTPUTS):
                path = os.path.join(folder, name)
                sums[os.path.relpath(path, root)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return sums


class Listener:
    """A TCP server on loopback that remembers whoever connects."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port, self.connections = self.server.getsockname()[1], []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, address = self.server.accept()
            except OSError:
                return
            self.connections.append(address)
            connection.close()


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = course_copy(tmp_path_factory.mktemp("course"), students=ORDINARY)
    listener = Listener()
    for case in hostile.CATALOGUE:
        path = Course(root).notebook(Stage.SUBMITTED, case.name, ASSIGNMENT)
        path.parent.mkdir(parents=True)
        path.write_bytes(hostile.build(case, root, listener.port))
    before = checksums(root)
    os.environ[SECRET] = SECRET_VALUE
    try:
        status = grade_class(root, workers=2, cell_timeout=10)
    finally:
        del os.environ[SECRET]
    listener.server.close()
    return root, status, before, listener


def outcome(root, student) -> str:
    nb = nbformat.read(Course(root).notebook(Stage.AUTOGRADED, student, ASSIGNMENT), as_version=4)
    printed = "".join(output.get("text", "") for cell in nb.cells for output in cell.get("outputs", []))
    return printed.split(hostile.OUTCOME, 1)[1].splitlines()[0].strip() if hostile.OUTCOME in printed else ""


@pytest.mark.parametrize("case", hostile.CATALOGUE, ids=lambda case: case.name)
def test_a_hostile_submission_gets_only_the_points_its_code_earns(hostile_run, case):
    root, _, _, _ = hostile_run
    row = grades(root)[case.name]
    status = last_graded.read(root, case.name, ASSIGNMENT)["status"]
    killed_itself = case.may_kill_its_kernel and status == Status.KILLED
    lost = GRADED_FUNCTIONS if killed_itself else case.lost
    assert {exercise: float(row[exercise]) for exercise in GRADED_FUNCTIONS} == points_losing(lost)
    if case.outcome:
        assert re.fullmatch(case.outcome, outcome(root, case.name)), outcome(root, case.name)


def test_the_fork_bomb_stops_at_the_process_cap(hostile_run):
    root, _, _, _ = hostile_run
    forked = int(outcome(root, "fork-bomb").split()[-1])
    assert 0 < forked < Limits.processes


def test_the_output_flood_is_cut_and_reported(hostile_run):
    root, _, _, _ = hostile_run
    nb = nbformat.read(Course(root).notebook(Stage.AUTOGRADED, "floods-output", ASSIGNMENT), as_version=4)
    assert len(nbformat.writes(nb)) < 2 * Limits.output_bytes
    flood = next(cell for cell in nb.cells if 'print("x"' in cell.source)
    # Cut by the grader, or the kernel died of its own buffers at the memory cap: either way, said so.
    assert {output.get("ename") for output in flood.outputs} & {"OutputLimit", KILLED}


def test_the_run_completes_and_names_the_killed_kernels(hostile_run):
    root, status, _, _ = hostile_run
    assert status == NEEDS_ATTENTION
    report = (root / "report" / "index.html").read_text()
    for student in ("os-exit-in-function", "loop-ignoring-interrupts"):
        assert student in report


def test_nothing_outside_the_scratch_copies_changed(hostile_run):
    root, _, before, _ = hostile_run
    assert checksums(root) == before
    assert not (root / "pwned.txt").exists() and not (root / "autograded" / "full-marks" / "pwned.txt").exists()


def test_nothing_reached_the_network(hostile_run):
    _, _, _, listener = hostile_run
    assert listener.connections == []


def test_no_secret_of_the_grader_gets_into_what_grading_writes(hostile_run):
    """reads-secrets printed every environment and command line it could read into its notebook."""
    root, _, _, _ = hostile_run
    written = [path for name in OUTPUTS for path in [root / name, *(root / name).rglob("*")] if path.is_file()]
    assert Course(root).notebook(Stage.AUTOGRADED, "reads-secrets", ASSIGNMENT) in written
    assert [path for path in written if SECRET_VALUE.encode() in path.read_bytes()] == []


def test_a_grading_run_writes_nothing_from_the_kernels_to_stderr(tmp_path, capfd):
    """The instructor's terminal shows the progress bar, not the kernels' warnings (IPython's about an
    unwritable HOME came once per submission)."""
    root = course_copy(tmp_path, students=ORDINARY)
    grade_class(root, workers=2, cell_timeout=CELL_TIMEOUT)
    grader_lines = [PROGRESS_LINE, re.compile(re.escape(sandbox_notice(True)[1]))]  # the notice, when a warning
    others = [
        line
        for line in capfd.readouterr().err.splitlines()
        if not any(pattern.fullmatch(line) for pattern in grader_lines)
    ]
    assert others == []


def test_the_ordinary_students_are_graded_as_without_the_hostile_ones(hostile_run):
    root, _, _, _ = hostile_run
    with open(COURSE_ROOT / "grades.csv", newline="") as table:
        committed = {row["student_id"]: row for row in csv.DictReader(table)}
    for student in ORDINARY:
        assert grades(root)[student] == committed[student]
        assert (
            Course(root).notebook(Stage.AUTOGRADED, student, ASSIGNMENT).read_bytes()
            == COURSE.notebook(Stage.AUTOGRADED, student, ASSIGNMENT).read_bytes()
        ), student


def test_the_run_says_whether_the_sandbox_is_on(monkeypatch):
    assert sandbox_notice(True) == (True, sandbox_notice(True)[1]) and "sandbox: on" in sandbox_notice(True)[1]
    assert sandbox_notice(False)[0] is False and sandbox_notice(False)[1].startswith("WARNING")
    monkeypatch.setattr("course.fanout.course_grader.process_cap_kind", lambda: "")
    assert sandbox_notice(True)[1].startswith("WARNING: sandbox on, but NO PROCESS CAP")
    monkeypatch.setattr("course.fanout.course_grader.unavailable_because", lambda: "bwrap is not installed")
    sandboxed, notice = sandbox_notice(True)
    assert not sandboxed and notice.startswith("WARNING: NO SANDBOX: bwrap is not installed")


def test_a_sandboxed_process_sees_only_its_folder_and_the_environment(tmp_path):
    """What the kernel's command line gives, checked with a plain python in it (it runs in a second):
    its folder, the Python environment, a writable HOME, only the allow-listed variables, and of /etc
    nothing that only root may read."""
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "solutions.txt").write_text("next to the work folder")
    code = (
        "import json, os, sys, numpy\n"
        "try:\n    shadow = repr(open('/etc/shadow').read())\nexcept PermissionError:\n    shadow = 'unreadable'\n"
        f"print(os.listdir('.'), os.path.exists({str(tmp_path / 'solutions.txt')!r}), os.path.exists(sys.prefix),"
        " os.access(os.environ['HOME'], os.W_OK), shadow)\n"
        "print(json.dumps(sorted(os.environ)))\n"
        "open('written.txt', 'w').write('ok')"
    )
    done = subprocess.run(
        [*kernel_command(work, Limits()), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, SECRET: SECRET_VALUE},
    )
    assert done.returncode == 0, done.stderr
    listing, environment = done.stdout.splitlines()
    assert listing.split() == ["[]", "False", "True", "True", "unreadable"]  # /etc/shadow, even as root
    assert json.loads(environment) == sorted({*kernel_environment(), "PWD"})  # bwrap sets PWD
    assert (work / "written.txt").read_text() == "ok"


def test_a_private_file_of_etc_that_comes_and_goes_does_not_stop_the_next_sandbox(tmp_path):
    """useradd makes /etc/shadow.lock and removes it again. A grader (a fresh process here) whose first
    sandbox started meanwhile covered it; its next sandboxes, started when it is gone, must not try to
    (bubblewrap would fail on the read-only /etc, for the rest of the grader's life)."""
    if os.geteuid() != 0:
        pytest.fail("this test writes a file into /etc: run it as root (as CI does)")
    lock = Path("/etc") / f"course-test-{secrets.token_hex(4)}.lock"
    grader = f"""
import os, pathlib, subprocess, sys
from course.grader.sandbox import Limits, kernel_command
lock = pathlib.Path({str(lock)!r})
lock.write_text("")
lock.chmod(0o600)
try:
    first = subprocess.run([*kernel_command(pathlib.Path({str(tmp_path)!r}), Limits()), sys.executable, "-c", "pass"])
finally:
    lock.unlink()
second = subprocess.run([*kernel_command(pathlib.Path({str(tmp_path)!r}), Limits()), sys.executable, "-c", "pass"])
print(first.returncode, second.returncode)
"""
    try:
        started = subprocess.run([sys.executable, "-c", grader], cwd=COURSE_ROOT, capture_output=True, text=True)
    finally:
        lock.unlink(missing_ok=True)
    assert started.stdout.split() == ["0", "0"], started.stderr
