"""How much do kernels forked from a warm parent save, per submission, over fresh sandboxed kernels?

In one run, in this process (one grading worker), each path alternately: `--rounds` times, the
seconds from asking for a sandboxed kernel (kernels._start: scratch folder, pids cgroup, kernel) to
the end of the release's locked import cell run in it; then `--passes` times, five sample-class
submissions graded one after another with grade_submission, each with the next kernel started ahead
as a worker does: the mean over all but the first of each pass is the marginal cost of a submission.
Wall seconds, and (as root, from a cgroup this process moves into) the CPU seconds of this process and
of everything it starts. The fresh path is the one before forking: jupyter_client starting
`python -m ipykernel_launcher` behind sandbox.kernel_command (sandbox.SandboxedKernelManager), which
kernels.py falls back to where kernels cannot be forked.

    .venv/bin/python -m benchmarks.kernel_start_benchmark [--rounds 10] [--passes 2]
"""

import argparse
import contextlib
import functools
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import nbformat
from jupyter_core.utils import run_sync

from benchmarks.cpu import CpuMeter
from course.build.package import assignment_package
from course.grader import kernels
from course.grader.autograde import grade_submission
from course.grader.job import GradingJob, Status
from course.grader.sandbox import unavailable_because
from course.layout import ASSIGNMENT, NOTEBOOK, Course, Stage, course_config
from tests.sample_grades import EXPECTED_POINTS

REPO = Path(__file__).resolve().parent.parent
STUDENTS = ("full-marks", "half-missing-in-cost", "regularized-biases", "unscaled-dropout", "raises-in-function")


def import_cell() -> str:
    release = nbformat.read(Course(REPO).path(Stage.RELEASE, None, ASSIGNMENT) / f"{NOTEBOOK}.ipynb", as_version=4)
    return next(cell.source for cell in release.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "imports")


@contextlib.contextmanager
def fresh_path():
    """While active, kernels.py starts fresh sandboxed kernels, as where kernels cannot be forked."""
    with mock.patch.object(kernels, "fork_unavailable_because", lambda: "measuring the fresh path"):
        yield


def measured(meter: CpuMeter, function, *args) -> tuple:
    """(wall seconds, CPU seconds or None, of which this process's) of function(*args)."""
    wall, cpu, own = time.perf_counter(), meter.folder and meter.seconds(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, meter.folder and meter.seconds() - cpu, time.process_time() - own


def start_to_first_cell(job: GradingJob, cell: str):
    kernel = kernels._start(job)
    client = kernel.manager.client()
    client.start_channels()
    try:
        run_sync(client.wait_for_ready)(timeout=120)
        reply = run_sync(client.execute_interactive)(cell, timeout=120)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the import cell failed: {reply['content']}")
    finally:
        client.stop_channels()
        kernels.close(kernel)


def grade(job: GradingJob):
    result = grade_submission(job)
    if result.status != Status.GRADED or result.points != sum(EXPECTED_POINTS[job.student].values()):
        raise RuntimeError(f"{job.student} graded {result.points} ({result.status}): {result.problems}")


def close_the_one_ahead():
    """The next path starts from no kernel ahead."""
    if kernels._ahead is not None:
        kernels.close(kernels._ahead)
        kernels._ahead = None


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
    cell = import_cell()
    print(f"load average {os.getloadavg()[0]:.2f} at the start (other processes skew the timings)")
    meter = CpuMeter()
    try:
        parent = measured(meter, kernels._warm_parent, submissions[0].limits)
        first = measured(meter, start_to_first_cell, submissions[0], cell)  # waits for the parent's imports
        starts, grading = {"forked": [], "fresh": []}, {"forked": [], "fresh": []}
        for _ in range(args.rounds):  # alternated, so that the load of the moment weighs on both alike
            starts["forked"].append(measured(meter, start_to_first_cell, submissions[0], cell))
            with fresh_path():
                starts["fresh"].append(measured(meter, start_to_first_cell, submissions[0], cell))
        for _ in range(args.passes):
            for path in ("forked", "fresh"):
                with contextlib.ExitStack() as stack:
                    if path == "fresh":
                        stack.enter_context(fresh_path())
                    grading[path] += [measured(meter, grade, submission) for submission in submissions]
                    close_the_one_ahead()
    finally:
        meter.close()

    cpu = meter.folder is not None
    print(f"\nwarm parent: started in {parent[0]:.2f} s, its first kernel's import cell done {first[0]:.2f} s later")
    print(
        "(CPU: this process and everything it starts; grader CPU: this process alone)"
        if cpu
        else "(CPU not measured: needs root and cgroups)"
    )
    print(f"\n{'':8}{'start to first cell':>32}{'graded, per submission':>32}")
    print(f"{'':8}{'wall s':>10}{'min':>8}{'CPU s':>14}{'wall s':>16}{'CPU s':>16}{'grader CPU s':>16}")
    figures = {}
    for path in ("fresh", "forked"):
        # Grading: the first of each pass waits for its own kernel; the others find theirs started ahead.
        steady = [figure for index, figure in enumerate(grading[path]) if index % len(submissions)]
        figures[path] = [statistics.median(run[0] for run in starts[path]), statistics.mean(run[0] for run in steady)]
        if cpu:
            figures[path].append(statistics.median(run[1] for run in starts[path]))
            figures[path].append(statistics.mean(run[1] for run in steady))
        print(
            f"{path:8}{figures[path][0]:10.2f}{min(run[0] for run in starts[path]):8.2f}"
            + (f"{figures[path][2]:14.2f}" if cpu else f"{'-':>14}")
            + f"{figures[path][1]:16.2f}"
            + (f"{figures[path][3]:16.2f}" if cpu else f"{'-':>16}")
            + f"{statistics.mean(run[2] for run in steady):16.2f}"
        )
    ratios = [forked / fresh for forked, fresh in zip(figures["forked"], figures["fresh"])]
    names = ["kernel start to first cell, wall (medians)", "marginal grading, wall (means)"]
    names += ["kernel start to first cell, CPU (medians)", "marginal grading, CPU (means)"]
    print()
    for name, ratio in zip(names, ratios):
        print(f"forked / fresh, {name}: {ratio:.2f}")
    print("(this fresh path shares every saving since forking; the marginal CPU's target is measured against")
    print(" the path before it by `grade_startup_benchmark.py`)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
