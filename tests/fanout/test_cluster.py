"""Grading on a real Dask cluster: `dask scheduler` and two `dask worker` processes on loopback."""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from distributed import Client

from course.fanout.cluster import run_jobs_on_cluster
from course.fanout.grade import NEEDS_ATTENTION, grade_class
from course.grader.job import Status
from course.layout import ASSIGNMENT, Course, Stage
from course.record.gradebook import GradebookWriter
from tests import COURSE_ROOT
from tests.courses import CELL_TIMEOUT, course_copy, grades, jobs_one_unwritable
from tests.servers import dask_cluster

pytestmark = pytest.mark.slow  # grades classes on a Dask cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with dask_cluster(tmp_path_factory.mktemp("dask")) as running:
        yield running


@pytest.fixture
def recorded(monkeypatch):
    """How many times grade_class saves each student's result in the gradebook."""
    counts, save = Counter(), GradebookWriter.save

    def counting(writer, batch):
        counts.update(result.student for result, _ in batch)
        return save(writer, batch)

    monkeypatch.setattr(GradebookWriter, "save", counting)
    return counts


# One of each kind: full marks, partial credit, a broken file, the Chinese edition.
FULL_RUN = ["full-marks", "unscaled-dropout", "not-json", "full-marks-zh"]


def test_sample_submissions_grade_as_on_local_workers_and_as_without_full(cluster, tmp_path, recorded):
    """Run in full, training cells included, on Dask: the grades are the committed ones, graded locally
    with the training skipped."""
    root = course_copy(tmp_path, students=FULL_RUN)
    assert grade_class(root, cell_timeout=CELL_TIMEOUT, scheduler=cluster.address, full=True) == NEEDS_ATTENTION
    committed = grades(COURSE_ROOT)
    assert grades(root) == {student: committed[student] for student in FULL_RUN}
    assert recorded == Counter(FULL_RUN)


def test_a_submission_that_kills_its_worker_is_scored_zero_and_the_run_goes_on(cluster, tmp_path, capsys):
    """In the sandbox a kernel cannot reach its worker (tests/hostile.py tries); a worker can still die
    under a submission, of a crash in a library say. Unsandboxed, the kernel kills its parent, the worker."""
    root = course_copy(tmp_path, students=["full-marks", "half-missing-in-cost"])
    nb = nbformat.read(Course(root).notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"))
    Course(root).notebook(Stage.SUBMITTED, "killer", ASSIGNMENT).parent.mkdir(parents=True)
    nbformat.write(nb, Course(root).notebook(Stage.SUBMITTED, "killer", ASSIGNMENT))

    assert grade_class(root, cell_timeout=CELL_TIMEOUT, scheduler=cluster.address, sandbox=False) == NEEDS_ATTENTION
    table, committed = grades(root), grades(COURSE_ROOT)
    assert table["killer"]["total"] == "0"
    assert {student: table[student] for student in ("full-marks", "half-missing-in-cost")} == {
        student: committed[student] for student in ("full-marks", "half-missing-in-cost")
    }
    assert "needs attention: killer: the grading worker died 2 times" in capsys.readouterr().out


def test_a_task_that_raises_is_reported_and_the_run_goes_on(cluster):
    """As on local workers: grading that raises (here, a package file the worker cannot write) is the
    grader's fault, not the submission's; it needs attention, and the other submissions are graded."""
    results = {result.student: result for result in run_jobs_on_cluster(jobs_one_unwritable(), cluster.address)}
    assert results["one"].status == Status.ERROR
    assert results["one"].problems == ["grading failed (ValueError): embedded null byte"]
    assert results["two"].status == Status.GRADED and results["two"].points == 40


def kill_worker_when_busy(cluster, name: str) -> list:
    """Wait until worker `name` runs a task, let it get well into the notebook, then kill the worker
    and its nanny. Returns the tasks it was running."""
    with Client(cluster.address, set_as_default=False) as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            names = {address: worker["name"] for address, worker in client.scheduler_info()["workers"].items()}
            busy = [keys for address, keys in client.processing().items() if names.get(address) == name and keys]
            if busy:
                time.sleep(3)
                cluster.kill_worker(int(name[1:]))
                return busy[0]
            time.sleep(0.2)
    raise TimeoutError(f"worker {name} never got a task")


def test_a_worker_killed_mid_run_loses_no_submission(tmp_path, recorded):
    students = ["full-marks", "half-missing-in-cost", "unscaled-dropout", "deleted-test-cell"]
    root = course_copy(tmp_path / "course", students)
    with dask_cluster(tmp_path / "dask") as cluster, ThreadPoolExecutor(1) as monitor:
        killed = monitor.submit(kill_worker_when_busy, cluster, "w0")
        assert grade_class(root, cell_timeout=CELL_TIMEOUT, scheduler=cluster.address) == 0
        assert killed.result()  # it died while grading
    assert recorded == Counter(students)
    committed = grades(COURSE_ROOT)
    assert grades(root) == {student: committed[student] for student in students}
