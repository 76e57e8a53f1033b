"""The course's rules: the late-penalty policy nbgrader_config.py sets, an extension granted with
`python -m course extend` as nbgrader's gradebook sees it, and the due date in the notebook that
`nbgrader release_assignment` puts in the exchange (while release/ holds no date)."""

import shutil
import subprocess
import sys
from datetime import datetime, timedelta

import nbformat
import pytest
from nbgrader.api import Gradebook

from course.build.release import build_release
from course.i18n.catalogue import SOURCE_LANGUAGE
from course.layout import EDITIONS, NOTEBOOK, Course, Stage, copy_course, course_config
from course.record.gradebook import db_url
from course.rules import DAY_SECONDS, LatePenalty, due_dates_and_extensions, penalty_plugin, policy_sentences, utc_text
from tests import COURSE, COURSE_ROOT
from tests.translated import translated

DUE = datetime(2027, 1, 15, 23, 59)
STUDENT = "amy"


def said(text: str, language: str) -> str:
    return text if language == SOURCE_LANGUAGE else translated(text, language)


def run(root, *command: str) -> str:
    done = subprocess.run([sys.executable, "-m", *command], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_configured_policy_takes_a_share_per_day_begun_after_the_grace_up_to_the_cap():
    plugin = penalty_plugin(course_config(COURSE_ROOT))
    assert isinstance(plugin, LatePenalty)
    assert (plugin.share_per_day, plugin.max_share, plugin.grace_minutes) == (0.1, 0.5, 15)
    grace = 15 * 60
    penalties = [
        plugin.late_submission_penalty(STUDENT, 30.0, seconds)
        for seconds in (grace, grace + 1, grace + DAY_SECONDS, grace + DAY_SECONDS + 1, 30 * DAY_SECONDS)
    ]
    assert penalties == [0, 3.0, 3.0, 6.0, 15.0]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A built course with both editions due at DUE in its gradebook and one student on its roster."""
    root = copy_course(tmp_path_factory.mktemp("rules") / "course", COURSE_ROOT, folders=("source", "release"))
    build_release(root)
    (root / "students.csv").write_text(f"id,first_name,last_name,email\n{STUDENT},Amy,Lee,\n")
    for edition in EDITIONS:
        run(root, "nbgrader", "db", "assignment", "add", edition.assignment, f"--duedate={DUE.isoformat(sep=' ')} UTC")
    return root


@pytest.mark.slow
def test_an_extension_granted_with_extend_is_nbgraders_and_moves_lateness(course):
    edition = EDITIONS[0].assignment
    printed = run(course, "course", "extend", STUDENT, "--days", "2")
    assert f"{STUDENT}: {edition}: 2 days after {utc_text(DUE)}, until {utc_text(DUE + timedelta(days=2))}" in printed
    with Gradebook(db_url(course)) as gradebook:
        assert [gradebook.find_submission(e.assignment, STUDENT).extension for e in EDITIONS] == [timedelta(days=2)] * 2
        gradebook.update_or_create_submission(edition, STUDENT, timestamp=DUE + timedelta(days=1))
        assert gradebook.find_submission(edition, STUDENT).total_seconds_late == 0
    run(course, "course", "extend", STUDENT, "--days", "0.5", "--assignment", edition)
    with Gradebook(db_url(course)) as gradebook:
        assert gradebook.find_submission(edition, STUDENT).total_seconds_late == DAY_SECONDS / 2
        assert gradebook.find_submission(EDITIONS[1].assignment, STUDENT).extension == timedelta(days=2)
        # what the grading service reads to hold a submission until the student's own due date
        due, extensions = due_dates_and_extensions(gradebook)
    assert due == {e.assignment: DUE for e in EDITIONS}
    assert extensions == {(STUDENT, edition): timedelta(days=0.5), (STUDENT, EDITIONS[1].assignment): timedelta(days=2)}


@pytest.mark.slow
def test_extend_refuses_a_student_the_gradebook_does_not_know(course):
    done = subprocess.run(
        [sys.executable, "-m", "course", "extend", "nobody", "--days", "1"], cwd=course, capture_output=True, text=True
    )
    assert done.returncode == 2 and "No such student: nobody" in done.stderr


@pytest.mark.slow
def test_releasing_through_the_exchange_writes_the_due_date_under_the_title(course, tmp_path):
    due = f"**Due: {utc_text(DUE)}.** Your instructor may give you an extension; your feedback shows your own due date."
    policy = policy_sentences(course_config(course), SOURCE_LANGUAGE)
    assert "10% of its points per day late" in policy[0] and "first 15 minutes" in policy[1]
    for edition in EDITIONS:
        run(course, "nbgrader", "release_assignment", edition.assignment, f"--Exchange.root={tmp_path}")
        course_id = course_config(course).CourseDirectory.course_id
        released = tmp_path / course_id / "outbound" / edition.assignment / f"{NOTEBOOK}.ipynb"
        top = nbformat.read(released, as_version=4).cells[0].source.split("\n\n")
        assert top[1] == " ".join(said(text, edition.language) for text in (due, *policy))
        release = Course(course).notebook(Stage.RELEASE, None, edition.assignment)
        assert release.read_bytes() == COURSE.notebook(Stage.RELEASE, None, edition.assignment).read_bytes()
    download = tmp_path / "download"  # a copy handed out without the exchange
    shutil.copytree(release.parent, download)
    run(course, "course", "stamp", edition.assignment, str(download))
    assert nbformat.read(download / f"{NOTEBOOK}.ipynb", as_version=4).cells[0] == nbformat.read(released, 4).cells[0]
