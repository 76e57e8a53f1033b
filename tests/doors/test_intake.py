"""Collecting trusts nothing a student wrote: course.doors.intake's copy, each refusal, on real files."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course.doors import intake
from course.doors.intake import MAX_FILE_BYTES, MAX_FILES, Refusal, Refused, copy_submission, read_note
from tests.servers import accounts_of_this_machine

TIME = "2026-12-01 10:00:00.000000 UTC"
SECRET = "ab" * 64


def submission(folder: Path) -> Path:
    """A submission as nbgrader submit writes it: the notebook, a helper folder, and the exchange's files."""
    (folder / "datasets").mkdir(parents=True)
    (folder / "Regularization.ipynb").write_text("{}")
    (folder / "datasets" / "data.mat").write_bytes(b"\0" * 1000)
    (folder / intake.TIMESTAMP).write_text(TIME)
    (folder / intake.SECRET).write_text(SECRET)
    return folder


def refusal_of(source: Path, destination: Path, owner=None) -> Refused:
    with pytest.raises(Refused) as refused:
        copy_submission(source, destination, owner)
    assert not destination.exists()
    assert not any(p.name.startswith(".collecting-") for p in destination.parent.iterdir())
    return refused.value


def test_a_plain_submission_is_copied_file_for_file(tmp_path):
    source = submission(tmp_path / "in" / "s+regularization+t+x")
    copy_submission(source, tmp_path / "out")
    assert (tmp_path / "out" / "datasets" / "data.mat").read_bytes() == b"\0" * 1000
    assert read_note(tmp_path / "out", intake.TIMESTAMP) == TIME


@pytest.mark.parametrize(
    "attack, kind",
    [
        (
            lambda f, t: (f / "Regularization.ipynb").unlink() or os.symlink(t / "secret", f / "Regularization.ipynb"),
            Refusal.LINK,
        ),
        (lambda f, t: os.link(f / "Regularization.ipynb", f / "copy.ipynb"), Refusal.HARD_LINK),
        (lambda f, t: os.mkfifo(f / "pipe"), Refusal.SPECIAL),
        (lambda f, t: os.symlink(t, f / "linked-folder"), Refusal.LINK),
        (lambda f, t: os.truncate(f / "datasets" / "data.mat", 2 * 2**30), Refusal.TOO_BIG),
        (lambda f, t: [(f / f"n{i}").touch() for i in range(MAX_FILES + 1)], Refusal.TOO_MANY),
        (lambda f, t: (f / intake.TIMESTAMP).write_text("yesterday"), Refusal.MALFORMED),
        (lambda f, t: (f / intake.SECRET).write_text("x" * 10_000), Refusal.MALFORMED),
        (lambda f, t: (f / intake.SECRET).unlink() or os.mkfifo(f / intake.SECRET), Refusal.SPECIAL),
    ],
    ids=[
        "link",
        "hard-link",
        "fifo",
        "linked-folder",
        "sparse-2GB",
        "too-many",
        "bad-time",
        "huge-secret",
        "fifo-secret",
    ],
)
def test_each_trick_refuses_the_whole_submission_without_waiting_or_filling_the_disk(tmp_path, attack, kind):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret").write_text("solutions")
    source = submission(tmp_path / "in" / "s+regularization+t+x")
    attack(source, elsewhere)
    (tmp_path / "submitted").mkdir()
    started = time.monotonic()
    refused = refusal_of(source, tmp_path / "submitted" / "regularization")
    assert time.monotonic() - started < 5
    assert refused.kind == kind, refused
    assert "refused" in refused.message("en")


def test_a_submission_folder_that_is_a_link_is_refused(tmp_path):
    real = submission(tmp_path / "someone-elses")
    (tmp_path / "in").mkdir()
    os.symlink(real, tmp_path / "in" / "s+regularization+t+x")
    (tmp_path / "submitted").mkdir()
    assert refusal_of(tmp_path / "in" / "s+regularization+t+x", tmp_path / "submitted" / "x").kind == Refusal.LINK


def test_a_file_over_the_cap_is_refused(tmp_path):
    source = submission(tmp_path / "in" / "s")
    with open(source / "big.bin", "wb") as big:
        big.truncate(MAX_FILE_BYTES + 1)
    (tmp_path / "submitted").mkdir()
    assert refusal_of(source, tmp_path / "submitted" / "x").kind == Refusal.TOO_BIG


@pytest.fixture(scope="module")
def account():
    """A throwaway Unix account (the tests run as root in CI)."""
    if os.geteuid() != 0:
        pytest.fail("these tests create a Unix account: run them as root (as CI does)")
    name = "intake-student"
    with accounts_of_this_machine():
        subprocess.run(["userdel", "-r", name], capture_output=True)
        subprocess.run(["useradd", "--create-home", name], check=True)
        yield name
        subprocess.run(["userdel", "-r", name], capture_output=True)


def test_with_the_owner_check_every_copied_file_must_be_the_students(tmp_path, account):
    import pwd

    user = pwd.getpwnam(account)
    source = submission(tmp_path / "in" / f"{account}+regularization+t+x")
    for path in [source, *source.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)
    (tmp_path / "submitted").mkdir()
    copy_submission(source, tmp_path / "submitted" / "ok", owner=account)
    os.chown(source / "datasets" / "data.mat", 0, 0)  # one file of someone else's
    refused = refusal_of(source, tmp_path / "submitted" / "no", owner=account)
    assert refused.kind == Refusal.NOT_OWNER and "belongs to root" in refused.message("en")
    assert "datasets/data.mat" in refused.message("en")


def exchange_with_two_tricks(tmp_path: Path) -> Path:
    """A course whose config names an exchange in which, as root, "root" has handed in a notebook that is
    a link to the source notebook and a folder named for "mallory"; returns the course folder."""
    from course.layout import ASSIGNMENT, copy_course, course_config
    from tests import COURSE_ROOT

    root = copy_course(tmp_path / "course", COURSE_ROOT, folders=("source", "release"))
    with open(root / "nbgrader_config.py", "a") as config:  # as README tells an instructor to set it
        config.write(f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n")
    inbound = tmp_path / "exchange" / course_config(COURSE_ROOT).CourseDirectory.course_id / "inbound"
    inbound.mkdir(parents=True)
    link = submission(inbound / f"root+{ASSIGNMENT}+{TIME}+a")
    (link / "Regularization.ipynb").unlink()
    (link / "Regularization.ipynb").symlink_to(root / "source" / ASSIGNMENT / "Regularization.ipynb")
    submission(inbound / f"mallory+{ASSIGNMENT}+{TIME}+b")
    return root


def assert_the_tricks_were_refused(root: Path, log: str) -> None:
    """The link is refused with the reason left for grading; the folder in mallory's name, owned by root,
    is not collected at all."""
    from course.layout import ASSIGNMENT

    collected = root / "submitted" / "root" / ASSIGNMENT
    assert sorted(p.name for p in collected.iterdir()) == [intake.REFUSED_NOTE, intake.SECRET, intake.TIMESTAMP]
    assert "Regularization.ipynb is a symbolic link" in intake.refusal(collected)
    assert not (root / "submitted" / "mallory").exists()
    assert "handed in as mallory by root" in log


def test_nbgrader_collect_copies_through_the_course_and_takes_nothing_in_anothers_name(tmp_path):
    """`nbgrader collect` with the course's config (its ExchangeFactory.collect)."""
    from course.layout import ASSIGNMENT

    root = exchange_with_two_tricks(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "collect", ASSIGNMENT],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert_the_tricks_were_refused(root, done.stderr)


@pytest.mark.slow
def test_formgraders_collect_button_copies_through_the_course(tmp_path):
    """The HTTP call Formgrader's Collect button makes, on a jupyter server serving the course."""
    from course.layout import ASSIGNMENT
    from tests.browser import formgrader, press_formgrader_button

    root = exchange_with_two_tricks(tmp_path)
    with formgrader(root) as url:
        answer = press_formgrader_button(url, f"assignment/{ASSIGNMENT}/collect", timeout=120)
    assert answer["success"], answer.get("error", "")
    assert_the_tricks_were_refused(root, answer["log"])
