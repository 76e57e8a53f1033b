"""The local workers' pool: workers forked from a single-threaded process share its warm parent; what a
worker leaves behind when it is stopped mid-grade; grading that raises."""

import json
import os
import shutil
import subprocess
import sys
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


# Run in a Python of its own, fresh as `python -m course grade` is when it forks its workers (pytest's
# process may hold kernels and event loops of earlier tests). Each prints JSON.
WITH_A_SHARED_PARENT = """
import json, multiprocessing, os, signal, tempfile, time
from pathlib import Path
from course.build.package import assignment_package
from course.fanout.pool import WorkerPool
from course.grader import kernels
from course.grader.job import GradingJob
from course.grader.warm import usual_parent
from course.layout import ASSIGNMENT, Course, Stage
from tests import warm_parent_pythons

parent = usual_parent()
kernels.warm_up(parent)
package, course = assignment_package(Path.cwd(), ASSIGNMENT), Course(Path.cwd())


def job(student, cell_timeout=15):
    submission = course.notebook(Stage.SUBMITTED, student, ASSIGNMENT).read_bytes()
    return GradingJob(student, submission, package, cell_timeout=cell_timeout)


def forked():
    \"\"\"How many waiters and kernels run below the parent.\"\"\"
    return len(warm_parent_pythons(parent.root)) - 1


def until(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
"""

SHARING = """
pool = WorkerPool(2, fork=True)
for student in ("full-marks", "unscaled-dropout", "regularized-biases"):
    pool.submit(student, job(student))
points = {}
while pool.running:
    points.update((student, result.points) for student, result in pool.completed())
parents = sorted(path.name for path in Path(tempfile.gettempdir()).glob("grade-kernels-*"))
print(json.dumps({"points": points, "parents": parents, "started": parent.root.name}))
pool.close()
"""

WORKER_KILLED = """
pool = WorkerPool(1, fork=True)
pool.submit("infinite-loop", job("infinite-loop", cell_timeout=120))
until(lambda: forked() == 4, 120)  # a waiter and a kernel for its submission, and for the next one
busy = forked()
for worker in multiprocessing.active_children():
    os.kill(worker.pid, signal.SIGKILL)
until(lambda: forked() == 0, 60)
print(json.dumps({"busy": busy, "after": forked(), "parent_alive": parent.alive()}))
pool.close()
"""


def run_alone(script: str, tmp: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", WITH_A_SHARED_PARENT + script],
        cwd=COURSE_ROOT,
        env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_workers_forked_from_a_single_threaded_process_share_its_warm_parent_and_leave_nothing(short_folder):
    """The workers fork from the grading process, warm parent included: no worker starts a parent of its
    own. At the end each has removed its kernel started ahead and its copy of the helpers (a forked
    worker runs no atexit handler), and the process that started the parent has removed it."""
    seen = run_alone(SHARING, short_folder)
    assert seen["points"] == {"full-marks": 40, "unscaled-dropout": 35, "regularized-biases": 30}
    assert seen["parents"] == [seen["started"]]
    assert list(short_folder.iterdir()) == []


def test_a_worker_killed_takes_its_kernels_along_but_not_the_parent_it_shares(short_folder):
    """A kernel never outlives the worker that asked for it, even from a parent that outlives the worker:
    one looping forever would otherwise burn a core until the end of the run."""
    seen = run_alone(WORKER_KILLED, short_folder)
    assert seen == {"busy": 4, "after": 0, "parent_alive": True}


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
