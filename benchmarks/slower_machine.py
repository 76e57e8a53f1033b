"""The test suite on a slower machine, emulated on this one: each core shared with a busy loop, so that
the suite gets about 1/slowdown of every core, and its wall time as it would be there.

Run as root (it makes two cgroups of cgroup v1's cpu controller, /sys/fs/cgroup/cpu/course-*):

    .venv/bin/python -m benchmarks.slower_machine --slowdown 2.3 -- .venv/bin/python -m pytest -q

The suite and the busy loops each get a cgroup of their own; the loops' weight is (slowdown - 1) times
the suite's, one loop pinned to each core. The cpu controller splits a cgroup's weight over the cores it
runs on, so while the suite keeps every core busy (the test processes and their grading workers do,
most of the time) it gets 1/slowdown of each; a stretch where it runs on one core alone gets more, so
the emulation errs on the fast side there. It times the start of a kernel's imports, the figure the
slower machine was described by, on every core at once, here and under the emulation; then runs the
command and prints its wall time. Exits with the command's status.
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

CPU_CGROUPS = Path("/sys/fs/cgroup/cpu")
SUITE_WEIGHT = 1024
IMPORTS = "import numpy, scipy.io, matplotlib.pyplot, ipykernel.kernelapp"


def cgroup(name: str, weight: int) -> Path:
    folder = CPU_CGROUPS / name
    folder.mkdir(exist_ok=True)
    (folder / "cpu.shares").write_text(str(weight))
    return folder


def join(folder: Path, pid: int) -> None:
    (folder / "cgroup.procs").write_text(str(pid))


def busy_loop(core: int) -> None:
    os.sched_setaffinity(0, {core})
    while True:
        pass


def import_seconds(prefix: list[str]) -> float:
    """Wall seconds of the kernel's imports run on every core at once, as the suite keeps them busy; best
    of three (the first run fills the page cache)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        running = [subprocess.Popen([*prefix, sys.executable, "-c", IMPORTS]) for _ in os.sched_getaffinity(0)]
        if any(process.wait() for process in running):
            raise SystemExit("the imports failed")
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slowdown", type=float, default=2.3, help="how many times slower each core is")
    parser.add_argument("command", nargs="+", help="what to run, after --")
    args = parser.parse_args()
    if not (CPU_CGROUPS / "cpu.shares").exists() or os.geteuid() != 0:
        raise SystemExit("needs root and cgroup v1's cpu controller at /sys/fs/cgroup/cpu")

    here = import_seconds([])
    suite = cgroup("course-suite", SUITE_WEIGHT)
    loops = cgroup("course-busy", round(SUITE_WEIGHT * (args.slowdown - 1)))
    workers = [multiprocessing.Process(target=busy_loop, args=(core,), daemon=True) for core in os.sched_getaffinity(0)]
    for worker in workers:
        worker.start()
        join(loops, worker.pid)
    enter = ["sh", "-c", f'echo $$ > {suite / "cgroup.procs"} && exec "$@"', "sh"]
    try:
        there = import_seconds(enter)
        start = time.perf_counter()
        status = subprocess.run([*enter, *args.command]).returncode
        elapsed = time.perf_counter() - start
    finally:
        for worker in workers:
            worker.kill()
            worker.join()
        for folder in (suite, loops):
            for pid in (folder / "cgroup.procs").read_text().split():
                join(CPU_CGROUPS, int(pid))
            folder.rmdir()
    print(f"kernel imports: {here:.2f} s here, {there:.2f} s emulated ({there / here:.2f}x)")
    print(f"command: {elapsed:.0f} s ({elapsed / 60:.1f} min) emulated, exit status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
