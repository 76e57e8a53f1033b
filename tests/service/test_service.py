"""The grading service: quick checks of its parts, then the real thing end to end. Students hand in
with stock `nbgrader submit` and read their feedback with `nbgrader fetch_feedback` (one Unix account
plays them all, with --student and a cache each) on an exchange the course released to;
`python -m course serve` runs as its own process, and is killed once in the middle of grading."""

import csv
import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from nbgrader.api import Gradebook

from course.grader.feedback import with_rules
from course.layout import ASSIGNMENT, EDITIONS, NOTEBOOK, Course, Stage, copy_course, course_config
from course.record.gradebook import db_url
from course.record.report import Exercise, StudentResult, write_grades_csv
from course.service import journal
from course.service.serve import held_until
from tests import COURSE, COURSE_ROOT, hostile
from tests.sample_grades import EXPECTED_POINTS
from tests.servers import free_port
from tests.translated import translated

COURSE_ID = course_config(COURSE_ROOT).CourseDirectory.course_id
ON_TIME = {  # student: the sample class's submission they hand in, before the due date
    "full-marks": "full-marks",
    "one-mistake": "half-missing-in-cost",
    "burst-a": "unscaled-dropout",
    "burst-b": "raises-in-function",
}
BROKEN = "broken"  # hands in a file that is not a notebook
CHINESE = EDITIONS[1]
IN_CHINESE = "zhang"  # hands in the Chinese edition's twin of the sample class's unscaled-dropout, on time
PERSISTENT = "persistent"  # hands in full marks six times, after the due date
CAP = 5
LATE_PENALTY = 4.0  # 10% per day begun of 40 points, the grace period set to 0 in the fixture's course


# ---------------------------------------------------------------------------------------------
# Quick checks of the parts


def test_the_journal_merges_each_submissions_lines_and_skips_one_cut_short(tmp_path):
    book = journal.Journal(tmp_path)
    book.note("a+regularization+t1+x", state="received", student="a", handed_in="2026-01-01 10:00:00")
    book.note("a+regularization+t1+x", state="grading", graded_day="2026-01-01")
    book.note("a+regularization+t1+x", state="graded", points=40)
    book.note("a+regularization+t2+y", state="received", student="a", handed_in="2026-01-01 11:00:00")
    with open(tmp_path / journal.JOURNAL_FILE, "a") as file:
        file.write('{"inbound": "a+regularization+t2+y", "state": "gra')  # killed while writing
    again = journal.Journal(tmp_path)
    assert again.records["a+regularization+t1+x"]["state"] == "graded"
    assert again.records["a+regularization+t1+x"]["student"] == "a"
    assert [record["inbound"] for record in again.waiting()] == ["a+regularization+t2+y"]
    assert again.graded_on("a", "2026-01-01") == 1
    assert journal.attempts(tmp_path) == {("a", "regularization"): 1}
    assert journal.attempts(tmp_path / "elsewhere") is None


def test_grades_csv_has_an_attempts_column_only_with_the_journal(tmp_path):
    exercises = [Exercise("test_f", "f", 10.0)]
    results = [StudentResult("s", "regularization-zh", {"f": 10.0}, 10.0, "1/1 passed")]
    write_grades_csv(tmp_path / "plain.csv", exercises, results)
    assert (tmp_path / "plain.csv").read_text() == "student_id,edition,f,total,max_total\ns,zh_CN,10,10,10\n"
    results[0].attempts = 3
    write_grades_csv(tmp_path / "counted.csv", exercises, results)
    counted = "student_id,edition,f,total,max_total,attempts\ns,zh_CN,10,10,10,3\n"
    assert (tmp_path / "counted.csv").read_text() == counted


def test_past_the_cap_a_submission_waits_for_the_next_day_or_the_due_date():
    now = datetime(2027, 1, 15, 20, 0)
    tomorrow, due_tonight = datetime(2027, 1, 16), datetime(2027, 1, 15, 23, 59)
    assert held_until(now, now, None, CAP - 1, CAP) is None
    assert held_until(now, now, None, CAP, CAP) == tomorrow
    assert held_until(now, now, due_tonight, CAP, CAP) == due_tonight  # on time: graded at the due date
    assert held_until(now, due_tonight + timedelta(seconds=1), due_tonight, CAP, CAP) is None
    late = datetime(2027, 1, 14)  # due the day before: a late submission waits for the next day
    assert held_until(now, now, late, CAP, CAP) == tomorrow


def test_the_rules_go_under_the_feedback_pages_title():
    page = b'<body>\n<div class="panel-heading">\n<h4>Regularization (Score: 40.0 / 40.0)</h4>\n<div id="toc">'
    marked = with_rules(page, ["Due date: <then>.", "Handed in: on time."]).decode()
    assert marked.index("</h4>") < marked.index("<p>Due date: &lt;then&gt;.</p><p>Handed in: on time.</p>")
    assert marked.index("on time.") < marked.index('<div id="toc">')


# ---------------------------------------------------------------------------------------------
# End to end


def nbgrader(cwd: Path, *args: str, wait: bool = True):
    command = [sys.executable, "-m", "nbgrader", *args]
    if not wait:
        return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


class Students:
    """Students on one exchange, each with a folder of their own (their assignment and nbgrader cache)."""

    def __init__(self, exchange: Path, home: Path):
        self.exchange, self.home = exchange, home

    def options(self, student: str) -> list[str]:
        return [
            f"--course={COURSE_ID}",
            f"--student={student}",
            f"--Exchange.root={self.exchange}",
            f"--Exchange.cache={self.home / student / '.cache'}",
        ]

    def hand_in(self, handed: dict[str, bytes], times: int = 1, assignment: str = ASSIGNMENT) -> None:
        """Each student hands in their notebook `times` times, all students at once."""
        running = []
        for student, notebook in handed.items():
            folder = self.home / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{NOTEBOOK}.ipynb").write_bytes(notebook)
            running += [
                nbgrader(folder.parent, "submit", assignment, *self.options(student), wait=False) for _ in range(times)
            ]
        for process in running:
            out, _ = process.communicate(timeout=120)
            assert process.returncode == 0, out

    def feedback(self, students, assignment: str = ASSIGNMENT) -> dict[str, dict[str, str]]:
        """{student: {time handed in: feedback page}} as `nbgrader fetch_feedback` brings it."""

        def fetch(student):
            nbgrader(self.home / student, "fetch_feedback", assignment, *self.options(student))
            folder = self.home / student / assignment / "feedback"
            return {path.parent.name: path.read_text() for path in folder.glob(f"*/{NOTEBOOK}.html")}

        with ThreadPoolExecutor(4) as pool:
            return dict(zip(students, pool.map(fetch, students)))


class Served(NamedTuple):
    root: Path
    students: Students
    feedback: dict  # {student: {time handed in: page}}
    journal_lines: list  # every line of the journal, in order
    killed_after: int  # how many journal lines the killed service had written
    due: datetime


def sample(student: str) -> bytes:
    return COURSE.notebook(Stage.SUBMITTED, student, ASSIGNMENT).read_bytes()


def serve(root: Path, exchange: Path, *options: str, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "course", "serve", "--exchange", str(exchange), "--workers", "2"]
    command.append("--no-check-owner")  # one account plays every student here (nbgrader's --student)
    with open(log, "a") as out:
        return subprocess.Popen(
            [*command, "--timeout", "15", "--poll", "0.3", *options],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def journal_lines(root: Path) -> list[dict]:
    """Every whole line of the journal (a kill may cut the last one short)."""
    path, lines = root / journal.JOURNAL_FILE, []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return lines


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    """The course released to a fresh exchange; six students hand in, four of them and a broken file
    before the due date, then one six times after it. The service starts, is killed with SIGKILL once
    it has recorded a result and is grading others, and is started again with --once."""
    tmp = tmp_path_factory.mktemp("service")
    root = copy_course(tmp / "course", COURSE_ROOT, folders=("source", "release"))
    with open(root / "nbgrader_config.py", "a") as config:
        config.write("c.LatePenalty.grace_minutes = 0\n")  # a few seconds late costs a day's share
    exchange = tmp / "exchange"
    for edition in EDITIONS:
        nbgrader(root, "release_assignment", edition.assignment, f"--Exchange.root={exchange}")
    students = Students(exchange, tmp / "home")
    students.hand_in({student: sample(handed) for student, handed in ON_TIME.items()} | {BROKEN: b"not a notebook"})
    chinese_twin = COURSE.notebook(Stage.SUBMITTED, "unscaled-dropout-zh", CHINESE.assignment).read_bytes()
    students.hand_in({IN_CHINESE: chinese_twin}, assignment=CHINESE.assignment)
    due = datetime.now(UTC).replace(tzinfo=None)
    nbgrader(root, "db", "assignment", "add", ASSIGNMENT, f"--duedate={due.isoformat(sep=' ')} UTC")
    students.hand_in({PERSISTENT: sample("full-marks")}, times=CAP + 1)

    log = tmp / "service.log"
    service = serve(root, exchange, log=log)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and service.poll() is None:
            states = Counter(record["state"] for record in journal.Journal(root).records.values())
            if states["graded"] >= 1 and states["grading"] >= 1:
                break
            time.sleep(0.1)
        assert service.poll() is None, log.read_text()
        os.kill(service.pid, signal.SIGKILL)  # the service only: its workers are orphaned mid-grade
        service.wait()
        killed_after = len(journal_lines(root))
    finally:
        try:
            os.killpg(service.pid, signal.SIGKILL)  # then what it left running
        except ProcessLookupError:
            pass
    assert states["grading"] >= 1, log.read_text()

    again = serve(root, exchange, "--once", log=log)
    assert again.wait(timeout=170) == 0, log.read_text()
    feedback = students.feedback([*ON_TIME, BROKEN, PERSISTENT]) | students.feedback([IN_CHINESE], CHINESE.assignment)
    return Served(root, students, feedback, journal_lines(root), killed_after, due)


def total(sample_student: str) -> float:
    """What the sample class's submission scores in all (tests/sample_grades.py)."""
    return sum(EXPECTED_POINTS[sample_student].values())


def score(page: str) -> str:
    return page.split(f"<h4>{NOTEBOOK} (Score: ", 1)[1].split(")", 1)[0]


@pytest.mark.slow
def test_each_student_fetches_feedback_with_their_score(served):
    expected = {student: f"{total(sample):.1f} / 40.0" for student, sample in ON_TIME.items()}
    for student, points in expected.items():
        (page,) = served.feedback[student].values()
        assert score(page) == points, student
        assert "random_case(seed" not in page
        (handed_in,) = served.feedback[student]
        handed_in = handed_in.split(".")[0]  # to the second, as the page says it
        assert f"Handed in {handed_in} UTC: on time." in page and "Late penalty" not in page
        assert f"Graded attempts left today (UTC): {CAP - 1} of {CAP}." in page
    assert "the L2 term uses lambd/m; the cost needs lambd/(2m)." in "".join(served.feedback["one-mistake"].values())
    with Gradebook(db_url(served.root)) as gradebook:
        for student, points in expected.items():
            submission = gradebook.find_submission(ASSIGNMENT, student)
            assert f"{submission.score:.1f} / {submission.max_score:.1f}" == points
            collected = served.root / "submitted" / student / ASSIGNMENT / "timestamp.txt"
            (handed_in,) = served.feedback[student]
            assert collected.read_text() == handed_in  # collected as nbgrader collect lays it out


@pytest.mark.slow
def test_a_student_of_the_chinese_edition_reads_their_feedback_in_chinese(served):
    """Graded as their English twin (burst-a hands in the same code), and told so in Chinese."""
    (page,) = served.feedback[IN_CHINESE].values()
    (english,) = served.feedback["burst-a"].values()
    hint = re.search(r"Hint: ([^\n<]+)", html.unescape(english)).group(1)
    assert translated(f"{NOTEBOOK} (Score: {total('unscaled-dropout-zh'):.1f} / 40.0)", CHINESE.language) in page
    assert translated(f"Hint: {hint}", CHINESE.language) in html.unescape(page) and "提示：" in html.unescape(page)
    with Gradebook(db_url(served.root)) as gradebook:
        assert gradebook.find_submission(CHINESE.assignment, IN_CHINESE).score == total("unscaled-dropout-zh")


@pytest.mark.slow
def test_a_burst_is_graded_side_by_side(served):
    """The on-time students handed in at once: two were on workers at the same time."""
    on_workers, most = set(), 0
    for line in served.journal_lines:
        if line["state"] == "grading":
            on_workers.add(line["inbound"])
        elif line["state"] == "graded":
            on_workers.discard(line["inbound"])
        most = max(most, len(on_workers))
    assert most >= 2
    assert all(len(served.feedback[student]) == 1 for student in ON_TIME)


@pytest.mark.slow
def test_a_file_that_is_not_a_notebook_gets_feedback_saying_so(served):
    (page,) = served.feedback[BROKEN].values()
    assert "not valid JSON" in page and "Score: 0.0 / 40.0" in page
    graded = [line["inbound"].split("+")[0] for line in served.journal_lines if line["state"] == "graded"]
    assert graded.index(BROKEN) < len(graded) - 1  # the service went on grading after it


@pytest.mark.slow
def test_past_the_days_cap_a_submission_is_kept_not_graded_and_told_so(served):
    pages = served.feedback[PERSISTENT]
    assert len(pages) == CAP + 1  # one page per submission, fetched by the times they were handed in
    *graded, last = [pages[handed_in] for handed_in in sorted(pages)]
    assert [score(page) for page in graded] == [f"{40 - LATE_PENALTY:.1f} / 40.0"] * CAP
    left = [re.search(r"Graded attempts left today \(UTC\): (\d) of 5\.", page).group(1) for page in graded]
    assert left == ["4", "3", "2", "1", "0"]
    assert "kept, not graded yet" in last and f"at most {CAP} submissions per student are graded per day" in last
    assert "Score:" not in last and f"Graded attempts left today (UTC): 0 of {CAP}." in last
    assert f"Due date: {served.due:%Y-%m-%d %H:%M:%S} UTC." in last
    records = [r for r in journal.Journal(served.root).records.values() if r["student"] == PERSISTENT]
    assert Counter(record["state"] for record in records) == {"graded": CAP, "held": 1}
    inbound = served.students.exchange / COURSE_ID / "inbound"
    assert len(list(inbound.glob(f"{PERSISTENT}+*"))) == CAP + 1  # kept
    with open(served.root / "grades.csv", newline="") as table:
        attempts = {row["student_id"]: row["attempts"] for row in csv.DictReader(table)}
    assert attempts == {student: "1" for student in [*ON_TIME, BROKEN, IN_CHINESE]} | {PERSISTENT: str(CAP)}


@pytest.mark.slow
def test_after_the_due_date_feedback_says_late_and_what_it_cost(served):
    graded = [html.unescape(page) for page in served.feedback[PERSISTENT].values() if "Score:" in page]
    assert len(graded) == CAP
    for page in graded:
        assert f"Due date: {served.due:%Y-%m-%d %H:%M:%S} UTC." in page and ": late by 0 h " in page
        assert f"Late penalty: {LATE_PENALTY:g} points off your score." in page
        assert f"Late submission penalty (Score: -{LATE_PENALTY})" in page
    with Gradebook(db_url(served.root)) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, PERSISTENT).late_submission_penalty == LATE_PENALTY


@pytest.mark.slow
def test_killed_mid_grade_the_service_grades_the_rest_and_nothing_twice(served):
    lines = served.journal_lines
    before, after = lines[: served.killed_after], lines[served.killed_after :]
    graded_before = {line["inbound"] for line in before if line["state"] == "graded"}
    assert graded_before and any(line["state"] == "grading" for line in after)  # killed mid-grade
    assert not any(line["inbound"] in graded_before for line in after)  # not graded again
    graded = Counter(line["inbound"] for line in lines if line["state"] == "graded")
    assert len(graded) == len(ON_TIME) + 1 + CAP + 1 and set(graded.values()) == {1}  # + 1: in Chinese
    with Gradebook(db_url(served.root)) as gradebook:
        assert len(gradebook.find_assignment(ASSIGNMENT).submissions) == len(ON_TIME) + 2
    assert journal.attempts(served.root)[PERSISTENT, ASSIGNMENT] == CAP


@pytest.mark.slow
def test_the_idle_service_wakes_when_a_submission_lands(tmp_path):
    """Looking at the exchange only every ten minutes, the service still grades a hand-in at once:
    nbgrader submit's last step wakes it."""
    root = copy_course(tmp_path / "course", COURSE_ROOT, folders=("source", "release"))
    exchange = tmp_path / "exchange"
    nbgrader(root, "release_assignment", ASSIGNMENT, f"--Exchange.root={exchange}")
    log = tmp_path / "service.log"
    service = serve(root, exchange, "--poll", "600", log=log)
    try:
        deadline = time.monotonic() + 120
        while "watching" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # let its first look at the exchange pass: what comes next is for the watch alone
        Students(exchange, tmp_path / "home").hand_in({"early": sample("full-marks")})
        deadline = time.monotonic() + 300  # half the polling interval: only the watch can make it
        while time.monotonic() < deadline and service.poll() is None:
            if [r["state"] for r in journal.Journal(root).records.values()] == [journal.State.GRADED]:
                break
            time.sleep(0.2)
        assert [r["state"] for r in journal.Journal(root).records.values()] == ["graded"], log.read_text()
        assert "cannot watch" not in log.read_text()
    finally:
        os.killpg(service.pid, signal.SIGKILL)


# The hostile submissions aimed at whatever runs the kernel: its worker, the service, the gradebook. The
# others (reading, patching, fooling the tests) meet the same grading unit in tests/grader/test_sandbox.py.
AIMED_AT_THE_GRADER = [
    "tampers-with-gradebook",
    "kills-other-processes",
    "os-exit-in-function",
    "sys-exit-in-function",
    "loop-ignoring-interrupts",
    "memory-bomb",
    "fork-bomb",
    "floods-output",
]


@pytest.mark.slow
def test_the_service_survives_submissions_aimed_at_the_grader(tmp_path):
    """Those hostile submissions handed in at once: the service grades them all, gives each its
    feedback, and is still there to exit normally."""
    root = copy_course(tmp_path / "course", COURSE_ROOT, folders=("source", "release"))
    exchange = tmp_path / "exchange"
    nbgrader(root, "release_assignment", ASSIGNMENT, f"--Exchange.root={exchange}")
    students = Students(exchange, tmp_path / "home")
    students.hand_in({name: hostile.build(hostile.BY_NAME[name], root, free_port()) for name in AIMED_AT_THE_GRADER})
    log = tmp_path / "service.log"
    service = serve(root, exchange, "--once", log=log)
    try:
        assert service.wait(timeout=400) == 0, log.read_text()[-3000:]
    finally:
        try:
            os.killpg(service.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    states = {record["student"]: record["state"] for record in journal.Journal(root).records.values()}
    assert states == dict.fromkeys(AIMED_AT_THE_GRADER, "graded")
    feedback = students.feedback(AIMED_AT_THE_GRADER)
    assert all(len(pages) == 1 for pages in feedback.values()), {name: len(p) for name, p in feedback.items()}


def test_the_service_knows_when_others_can_read_the_solutions(tmp_path):
    import tempfile

    from course.service.serve import readable_by_others

    base = Path(tempfile.mkdtemp(prefix="course-perm-"))
    try:
        base.chmod(0o755)
        root = copy_course(base / "course", COURSE_ROOT, folders=("source",))
        source = Course(root).notebook(Stage.SOURCE, None, ASSIGNMENT)
        source.chmod(0o644)
        assert readable_by_others(root) == source
        root.chmod(0o700)
        assert readable_by_others(root) is None
    finally:
        subprocess.run(["rm", "-rf", str(base)])
