"""What does `python -m course grade` cost on a handful of submissions, and what does each one more add?

Two classes are graded with `--force` in course copies of their own (temp folders; the repo is not
touched): SMALL, four submissions (one of each kind: full marks, a mistake with partial credit, an
all-or-nothing mistake, the Chinese edition), and LARGE, the same four and eight more. Each course is
graded once first, so that the runs timed are those of a course graded before: the gradebook exists
and, for this checkout, the release is current and the template gradebook kept. Then `--rounds` times,
alternately, this checkout's code and the code of `--against` (a commit: by default the one before
forked kernels and the build cache), whose `course` package is run from a `git archive` of it. Wall
seconds per run and, as root, CPU seconds of the command and everything it starts (kernels included,
counted by a cgroup: benchmarks/cpu.py); medians. The marginal cost is (large - small) / 8, the fixed
cost the small class's less four marginal costs.

    .venv/bin/python -m benchmarks.grade_startup_benchmark [--rounds 4] [--against 592e040]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.cpu import CpuMeter
from benchmarks.versions import REPO, checkout, environment
from course.layout import ROSTER, Stage, copy_course

SMALL = ("full-marks", "unscaled-dropout", "regularized-biases", "full-marks-zh")
LARGE = SMALL + ("half-missing-in-cost", "mask-on-activations", "raises-in-function", "deleted-test-cell") * 2
TARGET = 1 / 3  # this checkout's time on the small class / the other's
MARGINAL_CPU_TARGET = 0.4  # this checkout's CPU seconds per submission more / the other's


def class_course(folder: Path, students: tuple) -> Path:
    """A copy of the course whose submitted/ holds `students`' sample submissions (a repeated one under a
    name of its own)."""
    root = copy_course(folder, REPO, folders=("source", "release"))
    shutil.copyfile(REPO / ROSTER, root / ROSTER)
    for number, student in enumerate(students):
        name = student if number < len(SMALL) else f"{student}-{number}"
        shutil.copytree(REPO / Stage.SUBMITTED / student, root / Stage.SUBMITTED / name)
    return root


def grade(root: Path, code: Path | None, meter: CpuMeter) -> tuple:
    """(wall seconds, CPU seconds or None) of `python -m course grade --force` in `root`, run with `code`'s
    package."""
    started, cpu = time.perf_counter(), meter.folder and meter.seconds()
    done = subprocess.run(
        [sys.executable, "-m", "course", "grade", "--force"],
        cwd=root,
        env=environment(code),
        capture_output=True,
        text=True,
    )
    wall, cpu = time.perf_counter() - started, meter.folder and meter.seconds() - cpu
    if done.returncode not in (0, 3):
        raise SystemExit(f"grade failed in {root} ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4, help="timed runs per version and class (default 4)")
    parser.add_argument("--against", default="592e040", help="the commit to compare with (default %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grade-startup-") as scratch, checkout(args.against) as other:
        measure(Path(scratch), {"this checkout": None, args.against: other}, args)
    return 0


def measure(folder: Path, versions: dict, args) -> None:
    """Grade both classes with both versions and print the figures."""
    courses = {
        (version, size): class_course(folder / f"{index}-{size}", students)
        for index, version in enumerate(versions)
        for size, students in (("small", SMALL), ("large", LARGE))
    }
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    meter = CpuMeter()
    try:
        for (version, _), root in courses.items():
            grade(root, versions[version], meter)  # graded once before: a course whose gradebook exists
        runs = {key: [] for key in courses}
        for _ in range(args.rounds):
            for key, root in courses.items():
                runs[key].append(grade(root, versions[key[0]], meter))
    finally:
        meter.close()
    measures = ("wall", "CPU") if meter.folder else ("wall",)
    figures = {}  # (version, measure): (small class, marginal, fixed)
    for version in versions:
        for index, measure in enumerate(measures):
            small, large = (statistics.median(run[index] for run in runs[version, size]) for size in ("small", "large"))
            marginal = (large - small) / (len(LARGE) - len(SMALL))
            figures[version, measure] = (small, marginal, small - len(SMALL) * marginal)
    print(f"\n{'':22}{'small class (4), s':>20}{'marginal, s':>14}{'fixed, s':>12}")
    for (version, measure), (small, marginal, fixed) in sorted(figures.items(), key=lambda item: item[0][1] != "wall"):
        print(f"{version + ', ' + measure:22}{small:>20.2f}{marginal:>14.2f}{fixed:>12.2f}")
    if not meter.folder:
        print("(CPU not measured: needs root and cgroups)")
    print()
    targets = [("small class", "wall", 0, TARGET), ("marginal", "CPU", 1, MARGINAL_CPU_TARGET)]
    for name, measure, index, target in targets[: len(measures)]:
        ratio = figures["this checkout", measure][index] / figures[args.against, measure][index]
        met = "met" if ratio <= target else "NOT met"
        print(f"{name}, {measure}, this checkout / {args.against}: {ratio:.2f}   (target at most {target:.2f}: {met})")
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other processes skew the timings)")


if __name__ == "__main__":
    sys.exit(main())
