"""How much do kernels forked from a warm parent save, per submission, over fresh sandboxed kernels?

In one run, one after another, in this process (one grading worker): for each path, `--rounds` times,
the seconds from asking for a sandboxed kernel (kernels._start: scratch folder, pids cgroup, kernel)
to the end of the release's locked import cell run in it; then the sample class's submissions that run
to the end graded one after another with grade_submission (each with the next kernel started ahead,
as a worker does), whose mean seconds after the first are the marginal cost of a submission. The
fresh path is today's before forking: jupyter_client starting `python -m ipykernel_launcher` behind
sandbox.kernel_command (SandboxedKernelManager).

    .venv/bin/python -m benchmarks.kernel_start_benchmark [--rounds 10] [--passes 2]
"""

import argparse
import contextlib
import functools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from traitlets import Int, Unicode
from traitlets.config import Config

from course.build.package import assignment_package
from course.grader import kernels
from course.grader.autograde import grade_submission
from course.grader.job import GradingJob, Status
from course.grader.sandbox import Limits, kernel_command, kernel_environment, unavailable_because
from course.layout import ASSIGNMENT, NOTEBOOK, Course, Stage, course_config
from tests.sample_grades import EXPECTED_POINTS

REPO = Path(__file__).resolve().parent.parent
STUDENTS = ("full-marks", "half-missing-in-cost", "regularized-biases", "unscaled-dropout", "raises-in-function")
START_RATIO_TARGET = 0.4  # forked / fresh, kernel start to the first cell's end


def import_cell() -> str:
    release = nbformat.read(Course(REPO).path(Stage.RELEASE, None, ASSIGNMENT) / f"{NOTEBOOK}.ipynb", as_version=4)
    return next(cell.source for cell in release.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "imports")


class SandboxedKernelManager(AsyncKernelManager):
    """The path before forking (the package's until then): a fresh kernel behind `kernel_command`'s
    prefix. Interrupts travel as messages on the control channel: a signal would stop at bwrap's init."""

    workdir = Unicode(help="The only course folder the kernel sees, and may write.").tag(config=True)
    cgroup = Unicode("", help="pids cgroup the kernel joins (empty: RLIMIT_NPROC instead).").tag(config=True)
    memory_bytes = Int(Limits.memory_bytes).tag(config=True)
    processes = Int(Limits.processes).tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        limits = Limits(memory_bytes=self.memory_bytes, processes=self.processes)
        return kernel_command(Path(self.workdir), limits, self.cgroup) + super().format_kernel_cmd(extra_arguments)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = kernel_environment()
        kw["independent"] = True  # on POSIX, only keeps jupyter_client from adding JPY_PARENT_PID to it
        # Output goes over IOPub. The grader's streams would let the kernel write past the output limit
        # to the instructor's terminal or log, and read a terminal's keystrokes.
        kw["stdin"] = kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def interrupt_kernel(self):
        self.kernel_spec.interrupt_mode = "message"
        await super().interrupt_kernel()


def _fresh_manager(config: Config, kernel_name: str, warm_parent) -> SandboxedKernelManager:
    """kernels.py's manager before forking: a fresh Python behind the sandbox prefix."""
    config.SandboxedKernelManager.workdir = str(Path(config.KernelManager.connection_file).parent.parent)
    config.SandboxedKernelManager.cgroup = config.ForkedKernelManager.cgroup
    return SandboxedKernelManager(config=config, kernel_name=kernel_name)


@contextlib.contextmanager
def fresh_path(scratch_root: Path):
    """While active, kernels.py starts fresh sandboxed kernels, with scratch folders in scratch_root."""
    with (
        mock.patch.object(kernels, "_warm_parent", lambda job: mock.Mock(root=scratch_root)),
        mock.patch.object(kernels, "ForkedKernelManager", _fresh_manager),
    ):
        yield


def time_start_to_first_cell(job: GradingJob, cell: str) -> float:
    started = time.perf_counter()
    kernel = kernels._start(job)
    client = kernel.manager.client()
    client.start_channels()
    try:
        run_sync(client.wait_for_ready)(timeout=120)
        reply = run_sync(client.execute_interactive)(cell, timeout=120)
        seconds = time.perf_counter() - started
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the import cell failed: {reply['content']}")
    finally:
        client.stop_channels()
        kernels.close(kernel)
    return seconds


def time_grading(jobs: list) -> list:
    """Seconds of each grade_submission call, in order; every grade checked."""
    seconds = []
    for job in jobs:
        started = time.perf_counter()
        result = grade_submission(job)
        seconds.append(time.perf_counter() - started)
        if result.status != Status.GRADED or result.points != sum(EXPECTED_POINTS[job.student].values()):
            raise RuntimeError(f"{job.student} graded {result.points} ({result.status}): {result.problems}")
    if kernels._ahead is not None:  # the next path starts from no kernel ahead
        kernels.close(kernels._ahead)
        kernels._ahead = None
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="kernel starts timed per path (default 10)")
    parser.add_argument("--passes", type=int, default=2, help="times the submissions are graded per path")
    args = parser.parse_args(argv)
    if reason := unavailable_because():
        print(f"the sandbox cannot run here: {reason}", file=sys.stderr)
        return 1
    package = assignment_package(REPO, ASSIGNMENT)
    job = functools.partial(GradingJob, package=package, cell_timeout=course_config(REPO).Execute.timeout)
    submissions = [
        job(student, Course(REPO).notebook(Stage.SUBMITTED, student, ASSIGNMENT).read_bytes()) for student in STUDENTS
    ]
    jobs = submissions * args.passes
    cell = import_cell()
    print(f"load average {os.getloadavg()[0]:.2f} at the start (other processes skew the timings)")

    started = time.perf_counter()
    kernels._warm_parent(submissions[0])
    parent_start = time.perf_counter() - started
    forked_first = time_start_to_first_cell(submissions[0], cell)  # waits for the parent's imports
    starts = {"forked": [], "fresh": []}
    grading = {}
    scratch_root = Path(kernels._parent.root)
    for _ in range(args.rounds):  # alternated, so that the load of the moment weighs on both alike
        starts["forked"].append(time_start_to_first_cell(submissions[0], cell))
        with fresh_path(scratch_root):
            starts["fresh"].append(time_start_to_first_cell(submissions[0], cell))
    grading["forked"] = time_grading(jobs)
    with fresh_path(scratch_root):
        grading["fresh"] = time_grading(jobs)

    print(f"\nwarm parent started in {parent_start:.2f} s; first import cell done {forked_first:.2f} s later")
    print(f"\n{'':8}{'start to first cell, s':>26}{'graded, s per submission':>28}")
    print(f"{'':8}{'median':>10}{'min':>8}{'max':>8}{'first':>10}{'marginal':>10}{'n':>6}")
    for path in ("fresh", "forked"):
        first, rest = grading[path][0], grading[path][1:]
        print(
            f"{path:8}{statistics.median(starts[path]):10.2f}{min(starts[path]):8.2f}{max(starts[path]):8.2f}"
            f"{first:10.2f}{statistics.mean(rest):10.2f}{len(rest):6}"
        )
    start_ratio = statistics.median(starts["forked"]) / statistics.median(starts["fresh"])
    marginal_ratio = statistics.mean(grading["forked"][1:]) / statistics.mean(grading["fresh"][1:])
    verdict = "met" if start_ratio <= START_RATIO_TARGET else "NOT met"
    print(f"\nforked / fresh, kernel start to first cell (medians): {start_ratio:.2f}  target <= 0.4: {verdict}")
    print(f"forked / fresh, marginal grading seconds per submission: {marginal_ratio:.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
