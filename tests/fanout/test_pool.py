"""The local workers' pool: what a worker leaves behind when it is stopped mid-grade; grading that raises."""

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from course.build.package import assignment_package
from course.fanout.pool import WorkerPool
from course.grader.job import GradingJob, Status
from course.layout import ASSIGNMENT, Stage
from tests import COURSE, COURSE_ROOT
from tests.courses import jobs_one_unwritable

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


def test_grading_that_raises_is_reported_and_the_other_submissions_graded():
    """Grading that raises (here, a package file the worker cannot write) is the grader's fault, not the
    submission's: it needs attention, as on a Dask cluster (tests/fanout/test_cluster.py)."""
    results = {result.student: result for result in WorkerPool(1).grade_all(jobs_one_unwritable())}
    assert results["one"].status == Status.ERROR
    assert results["one"].problems == ["grading failed (ValueError): embedded null byte"]
    assert results["two"].status == Status.GRADED and results["two"].points == 40
