"""How much faster is grade_class than running `nbgrader autograde` per student, and how close
does it get to the cost of running only what decides the grade?

Builds a synthetic class in temp folders (the repo is not touched) and times, one after another:
sequential `nbgrader autograde --student` (the baseline instructors use), grade_class on all cores,
each whole notebook run bare with nbclient, and only the cells that decide the grade run bare with
nbclient (the limit). Prints a table and whether the targets are met.

    .venv/bin/python -m benchmarks.grading_benchmark [--students 40] [--workers N] [--skip-sequential]
"""

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import nbformat
from nbclient import NotebookClient

import course.grader.feedback  # noqa: F401  (imported now, not inside the first timed run)
from course.build.release import build_release
from course.build.sample_class import STUDENTS, solution_blocks, submission
from course.fanout.grade import grade_class
from course.fanout.pool import default_workers
from course.layout import ASSIGNMENT, NOTEBOOK, Course, Stage, copy_course, course_config
from course.record.results import ResultWriter
from public_tests import GRADED_FUNCTIONS

# Valid notebooks that run to the end. infinite-loop and not-json are left out: they measure
# the timeout and the parse error, not throughput.
VARIANTS = (
    "full-marks",
    "half-missing-in-cost",
    "regularized-biases",
    "unscaled-dropout",
    "mask-on-activations",
    "raises-in-function",
    "deleted-test-cell",
)

REPO = Path(__file__).resolve().parent.parent
RATIO_TARGET = 0.1  # ours (all cores) / sequential nbgrader, on 2 cores
CORE_SECONDS_TARGET = 1.0  # ours: wall seconds x cores per submission, build, feedback and report included
RECORDING_TARGET = 0.030  # seconds the recording process spends on each result


class StageFailed(Exception):
    pass


def synthetic_class(release_dir: Path, source_dir: Path, count: int) -> dict:
    """student-001.. -> submission bytes, cycling through VARIANTS built by the sample-class machinery."""
    release_nb = nbformat.read(release_dir / f"{NOTEBOOK}.ipynb", as_version=4)
    blocks = solution_blocks(nbformat.read(source_dir / f"{NOTEBOOK}.ipynb", as_version=4))
    made = {variant: submission(release_nb, blocks, STUDENTS[variant]) for variant in VARIANTS}
    return {f"student-{i:03d}": made[VARIANTS[(i - 1) % len(VARIANTS)]] for i in range(1, count + 1)}


def hand_in(course: Path, notebooks: dict, release_dir: Path) -> None:
    """submitted/<id>/<assignment>/ as a student hands it in: the released folder, their notebook in it
    (nbgrader autograde runs the notebook among the submitted files, so the helpers must be there)."""
    for student, data in notebooks.items():
        folder = course / "submitted" / student / ASSIGNMENT
        shutil.copytree(release_dir, folder, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
        (folder / f"{NOTEBOOK}.ipynb").write_bytes(data)


@contextlib.contextmanager
def quiet(log: Path):
    """Send stdout/stderr of this process and its children (workers, nbgrader) to `log`, at the fd level."""
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as sink:
        os.dup2(sink.fileno(), 1), os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def check_autograded(course: Path, students) -> None:
    missing = [s for s in students if not Course(course).notebook(Stage.AUTOGRADED, s, ASSIGNMENT).exists()]
    if missing:
        raise StageFailed(f"no autograded notebook for {len(missing)} student(s): {', '.join(missing[:5])}")


def nbgrader(course: Path, *args: str) -> None:
    """Run the nbgrader command in the course folder, output captured; raise with its tail on failure."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True)
    with open(course / "benchmark.log", "a") as log:
        log.write(f"$ nbgrader {' '.join(args)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        raise StageFailed(f"nbgrader {' '.join(args)} exited {done.returncode}:\n{tail(course / 'benchmark.log')}")


def time_sequential_nbgrader(course: Path, students) -> tuple[float, float]:
    """(generate_assignment seconds, autograde seconds): one `nbgrader autograde` process per student."""
    started = time.perf_counter()
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    for student in students:
        nbgrader(course, "autograde", ASSIGNMENT, "--student", student)
    seconds = time.perf_counter() - started
    check_autograded(course, students)
    return setup, seconds


def timed(function, seconds: list, generator=False, clock=time.perf_counter):
    """function, appending the duration of each call (of each full iteration, for a generator) to seconds,
    as `clock` measures it (time.thread_time: the CPU time of the calling thread)."""

    def call(*args, **kwargs):
        started = clock()
        try:
            return function(*args, **kwargs)
        finally:
            seconds.append(clock() - started)

    def iterate(*args, **kwargs):
        started = clock()
        yield from function(*args, **kwargs)
        seconds.append(clock() - started)

    return iterate if generator else call


@contextlib.contextmanager
def recording_timed(wall: list, cpu: list):
    """While active, the main process's time in ResultWriter.add and ResultWriter.close (the last batch) is
    appended to wall (elapsed) and cpu (its CPU time): everything it does with results (gradebook and
    files). On a machine whose cores are all grading, elapsed time includes waiting for a core."""

    def both(function):
        return timed(timed(function, wall), cpu, clock=time.thread_time)

    with (
        mock.patch.object(ResultWriter, "add", both(ResultWriter.add)),
        mock.patch.object(ResultWriter, "close", both(ResultWriter.close)),
    ):
        yield


def time_ours(course: Path, students, workers: int, recording: list, recording_cpu: list) -> float:
    """The whole grade_class run: release build, grading, gradebook, feedback and report; the seconds
    the main process spends on results (gradebook and files) are appended to `recording`, their CPU
    time to `recording_cpu`."""
    log = course / "benchmark.log"
    started = time.perf_counter()
    with quiet(log), recording_timed(recording, recording_cpu):
        status = grade_class(course, workers=workers, force=True)
    seconds = time.perf_counter() - started
    if status != 0:
        raise StageFailed(f"grade_class returned {status}:\n{tail(log)}")
    check_autograded(course, students)
    return seconds


def graded_cells_only(nb):
    """The imports, the four graded functions, the example cell after each, and the test cells."""
    keep = {"imports", *GRADED_FUNCTIONS, *(f"test_{name}" for name in GRADED_FUNCTIONS)}
    ids = [cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    nb.cells = [
        cell
        for index, cell in enumerate(nb.cells)
        if ids[index] in keep or (index and ids[index - 1] in GRADED_FUNCTIONS)
    ]
    return nb


def time_notebooks_alone(release_dir: Path, notebooks: dict, timeout: int, select=lambda nb: nb) -> float:
    """Each submission (its cells that `select` keeps) run top to bottom with nbclient in the release
    folder, one after another, one thread of BLAS as in grading."""
    log = release_dir.parent / "benchmark.log"
    started = time.perf_counter()
    try:
        with quiet(log), mock.patch.dict(os.environ, {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}):
            for data in notebooks.values():
                nb = select(nbformat.reads(data.decode("utf-8"), as_version=4))
                NotebookClient(
                    nb,
                    kernel_name="python3",
                    timeout=timeout,
                    allow_errors=True,
                    resources={"metadata": {"path": str(release_dir)}},
                ).execute()
    except Exception as error:
        raise StageFailed(f"{type(error).__name__}: {error}\n{tail(log)}") from error
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40, help="synthetic submissions (default 40)")
    parser.add_argument(
        "--workers", type=int, default=default_workers(), help="workers for the all-cores run (default: all cores)"
    )
    parser.add_argument("--skip-sequential", action="store_true", help="skip the slow sequential nbgrader run")
    args = parser.parse_args(argv)
    n, workers = args.students, args.workers
    if n < 1 or workers < 1:
        parser.error("--students and --workers must be at least 1")
    timeout = course_config(REPO).Execute.timeout
    print(
        f"{n} submissions, {default_workers()} cores available, {workers} workers for the parallel run, "
        f"load average {os.getloadavg()[0]:.2f} (other processes on the machine skew the timings)"
    )

    times, failed, setup = {}, [], None
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        tmp = Path(tmp)
        base = copy_course(tmp / "base", REPO)
        with quiet(tmp / "base.log"):
            build_release(base)
        release_dir = Course(base).path(Stage.RELEASE, None, ASSIGNMENT)
        notebooks = synthetic_class(release_dir, Course(base).path(Stage.SOURCE, None, ASSIGNMENT), n)
        students = list(notebooks)

        def stage(name, run):
            print(f"timing {name} ...", flush=True)
            try:
                times[name] = run()
            except StageFailed as error:
                failed.append(name)
                print(f"\n!!! {name} FAILED !!!\n{error}\n", file=sys.stderr, flush=True)

        def course_with_class(name):
            course = copy_course(tmp / name, REPO)
            hand_in(course, notebooks, release_dir)
            return course

        if not args.skip_sequential:

            def sequential():
                nonlocal setup
                setup, seconds = time_sequential_nbgrader(course_with_class("sequential"), students)
                return seconds

            stage("sequential nbgrader", sequential)
        recording, recording_cpu = [], []
        stage(
            f"ours, {workers} workers",
            lambda: time_ours(course_with_class("ours"), students, workers, recording, recording_cpu),
        )
        alone_release = shutil.copytree(release_dir, tmp / "alone" / "release")
        stage("whole notebook alone", lambda: time_notebooks_alone(alone_release, notebooks, timeout))
        stage("graded cells alone", lambda: time_notebooks_alone(alone_release, notebooks, timeout, graded_cells_only))

    print(f"\n{'':28}{'total s':>10}{'s/submission':>14}")
    for name, seconds in times.items():
        print(f"{name:28}{seconds:10.1f}{seconds / n:14.2f}")
    for name in failed:
        print(f"{name:28}{'FAILED':>10}")
    if setup is not None:
        print(
            f"(nbgrader generate_assignment before the sequential run, not in its total: {setup:.1f} s;\n"
            " each grade_class total includes two such builds, release and template gradebook,"
            " plus feedback and report)"
        )
    print()

    seq, ours = times.get("sequential nbgrader"), times.get(f"ours, {workers} workers")
    if ours and seq:
        print(
            f"ours ({workers} workers) / sequential nbgrader: {ours / seq:.3f}  target <= {RATIO_TARGET} on 2 cores: "
            + ("met" if ours / seq <= RATIO_TARGET else "NOT met")
        )
    if ours:
        core_seconds = ours * workers / n
        print(
            f"ours, seconds per submission per core: {core_seconds:.2f}  target <= {CORE_SECONDS_TARGET:g}: "
            + ("met" if core_seconds <= CORE_SECONDS_TARGET else "NOT met")
        )
    if recording:
        per_result, cpu_per_result = sum(recording) / len(students), sum(recording_cpu) / len(students)
        print(
            f"main process, per result: {cpu_per_result * 1000:.1f} ms of CPU  "
            f"target <= {RECORDING_TARGET * 1000:g} ms: "
            + ("met" if cpu_per_result <= RECORDING_TARGET else "NOT met")
            + f"  ({per_result * 1000:.1f} ms elapsed, waiting for a core included)"
        )
    limit = times.get("graded cells alone")
    if ours and limit:
        print(f"ours ({workers} workers) / graded cells alone (1 kernel at a time): {ours / limit:.2f}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
