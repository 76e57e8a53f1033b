"""The gradebook on a real PostgreSQL server: a throwaway cluster made with initdb, on loopback."""

import os
import subprocess
import sys

import pytest

from course.fanout.grade import NEEDS_ATTENTION, grade_class
from course.grader.job import GradingResult
from course.layout import ASSIGNMENT, copy_course
from course.record import gradebook, last_graded
from course.record.report import write_report
from course.record.results import ResultWriter
from tests import COURSE_ROOT
from tests.courses import CELL_TIMEOUT, course_copy, grades
from tests.servers import free_port, postgres_server

pytestmark = pytest.mark.slow  # grades classes into a PostgreSQL server

# grade_class in a process of its own, as `python -m course grade` runs, on the course copy argv[1]
GRADE = (
    "import sys; from pathlib import Path; from course.fanout.grade import grade_class; "
    f"sys.exit(grade_class(Path(sys.argv[1]), workers=1, cell_timeout={CELL_TIMEOUT}))"
)


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as server:
        yield server


def committed(students) -> dict:
    rows = grades(COURSE_ROOT)
    return {student: rows[student] for student in students}


def grading_process(root, url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", GRADE, str(root)],
        cwd=COURSE_ROOT,
        text=True,
        env={**os.environ, "COURSE_DB_URL": url, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_the_main_command_grades_into_postgresql(postgres, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DB_URL", postgres.new_database("sample_class"))
    students = ["full-marks", "half-missing-in-cost", "not-json", "deleted-test-cell"]
    root = course_copy(tmp_path, students)
    assert grade_class(root, workers=2, cell_timeout=CELL_TIMEOUT) == NEEDS_ATTENTION
    assert grades(root) == committed(students)
    assert not (root / "gradebook.db").exists()

    capsys.readouterr()
    grade_class(root, workers=2, cell_timeout=CELL_TIMEOUT)
    assert "0 to grade" in capsys.readouterr().out
    assert grades(root) == committed(students)


def test_two_runs_at_once_on_one_database_lose_nothing(postgres, tmp_path, monkeypatch):
    """Two graders, each with their own students, start together on a new database."""
    url = postgres.new_database("two_graders")
    halves = (["full-marks", "half-missing-in-cost"], ["unscaled-dropout", "deleted-test-cell"])
    roots = [course_copy(tmp_path / f"grader{i}", half) for i, half in enumerate(halves)]
    runs = [grading_process(root, url) for root in roots]
    for run in runs:
        output = run.communicate()[0]
        assert run.returncode == 0, output

    monkeypatch.setenv("COURSE_DB_URL", url)
    write_report(roots[0])  # its grades.csv now lists everyone in the gradebook
    assert grades(roots[0]) == committed(halves[0] + halves[1])


def test_a_database_restart_mid_run_is_waited_out(postgres, tmp_path):
    url = postgres.new_database("restarted")
    students = ["full-marks", "half-missing-in-cost", "unscaled-dropout"]
    root = course_copy(tmp_path, students)
    run, output = grading_process(root, url), []

    def read_until(text):
        for line in run.stdout:
            output.append(line)
            if text in line:
                return

    read_until(f"1/{len(students)}")  # the first result is graded; the gradebook goes away before it is saved
    postgres.pg_ctl("stop", "-m", "fast")
    read_until("gradebook unreachable")  # the next one waits
    postgres.pg_ctl("start")
    output.append(run.communicate()[0])
    assert run.returncode == 0, "".join(output)
    assert "gradebook unreachable while recording" in "".join(output)
    assert grades(root) == committed(students)


def test_a_gradebook_that_stays_away_stops_the_run_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(gradebook, "RETRY_SECONDS", 0)
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/gone"
    root = copy_course(tmp_path, COURSE_ROOT, folders=())  # its nbgrader_config.py names the late penalty
    with pytest.raises(gradebook.GradebookUnreachable, match="could not record someone: .* run the command again"):
        with ResultWriter(root, nowhere, {ASSIGNMENT: "fingerprint"}) as results_writer:
            results_writer.add(GradingResult("someone", ASSIGNMENT, "0" * 64, "error"))
    assert last_graded.read(root, "someone", ASSIGNMENT) == {}  # so the next run grades them again
