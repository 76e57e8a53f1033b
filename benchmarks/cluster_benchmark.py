"""What do Dask and PostgreSQL cost over local workers and SQLite, and how long would a class of
10 000 take on a cluster?

Grades one synthetic class (built as grading_benchmark.py builds it) four times, each in a fresh copy
of the course in a temp folder: on local worker processes and on a local Dask cluster (`dask scheduler`
and as many single-threaded `dask worker` processes), each into the SQLite gradebook and into a
throwaway PostgreSQL server. Prints seconds per submission and the ratio to local + SQLite (target:
Dask and PostgreSQL each add at most 5%), then projects the wall time of 10 000 submissions on 1, 10
and 100 workers from the Dask + PostgreSQL run.

    .venv/bin/python -m benchmarks.cluster_benchmark [--students 60] [--workers N]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import course.fanout.cluster
import course.fanout.grade
import course.fanout.pool
from benchmarks.grading_benchmark import (
    StageFailed,
    check_autograded,
    hand_in,
    quiet,
    recording_timed,
    synthetic_class,
    tail,
    timed,
)
from course.build.release import build_release
from course.fanout.pool import default_workers
from course.layout import ASSIGNMENT, Course, Stage, copy_course
from tests.servers import dask_cluster, postgres_server

REPO = Path(__file__).resolve().parent.parent

BASELINE = "local, SQLite"
RUNS = {
    BASELINE: (False, False),
    "Dask, SQLite": (True, False),  # name: (on Dask, into PostgreSQL)
    "local, PostgreSQL": (False, True),
    "Dask, PostgreSQL": (True, True),
}
TARGET = 1.05
CLASS_SIZE = 10_000
PROJECTION_TARGET = 15 * 60  # seconds for CLASS_SIZE submissions on 100 workers
RECORDING_TARGET = 0.030  # seconds the recording process spends on each result


def time_run(course_root: Path, workers: int, scheduler: str, db_url: str) -> dict:
    """One forced grade_class run: total, grading loop (running and recording), and the main process's
    seconds per result (gradebook and files), elapsed and of CPU."""
    loop, records, records_cpu = [], [], []
    environment = {"COURSE_DB_URL": db_url} if db_url else {}
    with (
        mock.patch.dict(os.environ, environment),
        mock.patch.object(
            course.fanout.pool.WorkerPool,
            "grade_all",
            timed(course.fanout.pool.WorkerPool.grade_all, loop, generator=True),
        ),
        mock.patch.object(
            course.fanout.cluster,
            "run_jobs_on_cluster",
            timed(course.fanout.cluster.run_jobs_on_cluster, loop, generator=True),
        ),
        recording_timed(records, records_cpu),
        quiet(course_root / "benchmark.log"),
    ):
        if not db_url:
            os.environ.pop("COURSE_DB_URL", None)
        started = time.perf_counter()
        status = course.fanout.grade.grade_class(course_root, workers=workers, force=True, scheduler=scheduler)
        total = time.perf_counter() - started
    if status != 0:
        raise StageFailed(f"grade_class returned {status}:\n{tail(course_root / 'benchmark.log')}")
    check_autograded(course_root, [path.name for path in (course_root / "submitted").iterdir()])
    students = list((course_root / "submitted").iterdir())
    return {
        "total": total,
        "loop": sum(loop),
        "record": sum(records) / len(students),
        "record_cpu": sum(records_cpu) / len(students),
    }


def clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {seconds:02d} s"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=60, help="synthetic submissions (default 60)")
    parser.add_argument(
        "--workers", type=int, default=default_workers(), help="workers, local or Dask (default: all cores)"
    )
    args = parser.parse_args(argv)
    n, workers = args.students, args.workers
    if n < 1 or workers < 1:
        parser.error("--students and --workers must be at least 1")
    print(
        f"{n} submissions, {workers} workers, load average {os.getloadavg()[0]:.2f} "
        "(other processes on the machine skew the timings)"
    )

    times = {}
    with (
        tempfile.TemporaryDirectory(prefix="cluster-benchmark-") as tmp,
        postgres_server() as postgres,
        dask_cluster(Path(tmp) / "dask", workers) as cluster,
    ):
        tmp = Path(tmp)
        base = copy_course(tmp / "base", REPO)
        with quiet(tmp / "base.log"):
            build_release(base)
        release_dir = Course(base).path(Stage.RELEASE, None, ASSIGNMENT)
        notebooks = synthetic_class(release_dir, Course(base).path(Stage.SOURCE, None, ASSIGNMENT), n)
        for number, (name, (on_dask, on_postgres)) in enumerate(RUNS.items()):
            print(f"timing {name} ...", flush=True)
            course_root = copy_course(tmp / f"run{number}", REPO)
            hand_in(course_root, notebooks, release_dir)
            try:
                times[name] = time_run(
                    course_root,
                    workers,
                    cluster.address if on_dask else "",
                    postgres.new_database(f"run{number}") if on_postgres else "",
                )
            except StageFailed as error:
                print(f"\n!!! {name} FAILED !!!\n{error}\n", file=sys.stderr, flush=True)

    baseline = times.get(BASELINE)
    print(f"\n{'':20}{'total s':>9}{'s/submission':>14}{'vs ' + BASELINE:>20}")
    for name in RUNS:
        if name not in times:
            print(f"{name:20}{'FAILED':>9}")
            continue
        ratio = f"{times[name]['total'] / baseline['total']:.3f}" if baseline else ""
        print(f"{name:20}{times[name]['total']:9.1f}{times[name]['total'] / n:14.2f}{ratio:>20}")
    for engine, name in (("Dask", "Dask, SQLite"), ("PostgreSQL", "local, PostgreSQL")):
        if baseline and name in times:
            ratio = times[name]["total"] / baseline["total"]
            print(
                f"{engine} adds {ratio - 1:+.1%}  target <= {TARGET - 1:.0%}: "
                + ("met" if ratio <= TARGET else "NOT met")
            )

    measured = times.get("Dask, PostgreSQL")
    if measured:
        grading = measured["loop"] * workers / n  # worker-seconds per submission, scheduling and waits included
        fixed = measured["total"] - measured["loop"]  # release builds, report
        print(
            f"\nper submission on Dask + PostgreSQL: {grading:.2f} worker-seconds of grading, feedback page "
            f"included; in the one recording process {measured['record_cpu'] * 1000:.1f} ms of CPU (target <= "
            f"{RECORDING_TARGET * 1000:g} ms: {'met' if measured['record_cpu'] <= RECORDING_TARGET else 'NOT met'}), "
            f"{measured['record'] * 1000:.1f} ms elapsed; {fixed:.0f} s fixed"
        )
        print(
            f"projected wall time for {CLASS_SIZE} submissions (recording overlaps grading; its elapsed time counts):"
        )
        for count in (1, 10, 100):
            wall = fixed + CLASS_SIZE * max(grading / count, measured["record"])
            target = f"  target <= {clock(PROJECTION_TARGET)}: " + ("met" if wall <= PROJECTION_TARGET else "NOT met")
            print(f"  {count:>3} worker(s): {clock(wall)}" + (target if count == 100 else ""))
        print(f"  beyond about {grading / measured['record']:.0f} workers, recording in one process is the bottleneck")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0 if len(times) == len(RUNS) else 1


if __name__ == "__main__":
    sys.exit(main())
