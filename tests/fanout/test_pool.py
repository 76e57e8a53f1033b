"""The local workers' pool: what a worker leaves behind when it is stopped mid-grade."""

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from course.build.package import assignment_package
from course.fanout.pool import WorkerPool
from course.grader.job import GradingJob
from course.layout import ASSIGNMENT, Stage
from tests import COURSE, COURSE_ROOT

pytestmark = pytest.mark.slow  # a worker, its warm parent and a kernel


@pytest.fixture
def short_folder():
    """A folder with a short path: the kernels' sockets are made under it (a socket's path has at most
    107 bytes), not pytest's long one."""
    folder = Path(tempfile.mkdtemp(prefix="pool-"))
    yield folder
    shutil.rmtree(folder)


def test_a_worker_stopped_mid_grade_closes_its_kernels_and_removes_its_folders(short_folder, monkeypatch):
    """close() stops a busy worker with SIGTERM, as the system stops the service; its kernels, their
    scratch folders and its copy of the helpers go with it."""
    monkeypatch.setenv("TMPDIR", str(short_folder))  # where the worker makes every folder of its own
    submission = COURSE.notebook(Stage.SUBMITTED, "infinite-loop", ASSIGNMENT).read_bytes()
    job = GradingJob("infinite-loop", submission, assignment_package(COURSE_ROOT, ASSIGNMENT), cell_timeout=120)
    pool = WorkerPool(1)
    pool.submit("infinite-loop", job)
    deadline = time.monotonic() + 120
    while len(list(short_folder.glob("grade-kernels-*/grade-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # its kernel and the next one, started ahead: it is grading
    assert len(list(short_folder.glob("grade-kernels-*/grade-*"))) == 2
    assert list(short_folder.glob("grader-helpers-*"))
    pool.close()
    deadline = time.monotonic() + 60
    while list(short_folder.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(short_folder.iterdir()) == []
