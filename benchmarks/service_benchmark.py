"""How long does a student wait between submitting and feedback they can fetch, with `python -m course serve`
watching the exchange?

In temp folders (the repo is not touched): a copy of the course releases the assignment to a fresh exchange
and runs the service on it. Students hand in with stock `nbgrader submit --student=ID`, each with their own
exchange cache; feedback counts as available when its page appears in the exchange's feedback folder, under
the name `nbgrader fetch_feedback` looks for. Two measures, after one warm-up submission:

1. one at a time: N submissions one after another, each timed from the end of `nbgrader submit` (the
   submission is complete in the inbound folder) to its feedback page; p50, p95 and the worst;
2. a burst: M submissions made beforehand into a staging exchange, then moved into the inbound folder in one
   go (a rename each, a few milliseconds for all), timed until the last one's feedback page. Staging keeps M
   `nbgrader submit` start-ups from competing with the service for the cores during the timed part.

Every feedback page's score is checked against what the sample class's notebook must score. With
`--against REV`, the same is measured again, in the same run, with the service of commit REV (its
`course` package from a `git archive`; benchmarks/versions.py), and the ratios are printed.

    .venv/bin/python -m benchmarks.service_benchmark [--sequential 20] [--burst 50] [--against 592e040]
"""

import argparse
import contextlib
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nbgrader.utils import notebook_hash

from benchmarks.grading_benchmark import VARIANTS  # (sample-class notebooks that run to the end)
from benchmarks.versions import checkout, environment
from course.layout import ASSIGNMENT, NOTEBOOK, ROSTER, Course, Stage, copy_course, course_config
from tests.sample_grades import EXPECTED_POINTS

REPO = Path(__file__).resolve().parent.parent

ONE_P95_TARGET = 2.0  # seconds from submit to feedback, one submission at a time, on 2 cores
BURST_TARGET = 30.0  # seconds until all of a 50-submission burst have feedback, on 2 cores
POLL_SECONDS = 0.05
ONE_ACCOUNT = ["--no-check-owner"]  # every student here hands in from this process's account
WAIT_ONE = 120.0  # give up on a single submission after this long
WAIT_BURST = 900.0
SCORE = re.compile(rf"{NOTEBOOK} \(Score: ([\d.]+) / ([\d.]+)\)")


class StageFailed(Exception):
    pass


class Bench:
    """The exchange, the instructor's course copy with the service running in it, and the students."""

    def __init__(self, folder: Path, code: Path | None = None):
        self.folder, self.code = folder, code  # code: another version's package (None: this checkout's)
        self.course_id = course_config(REPO).CourseDirectory.course_id
        self.exchange = folder / "exchange"
        self.course = copy_course(folder / "course", REPO, folders=("source", "release"))
        shutil.copyfile(REPO / ROSTER, self.course / ROSTER)
        self.service_log = folder / "service.log"
        self.service = None

    def nbgrader(self, cwd: Path, *args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True)
        if done.returncode:
            raise StageFailed(f"nbgrader {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")

    def release(self) -> None:
        self.exchange.mkdir()
        self.nbgrader(self.course, "release_assignment", ASSIGNMENT, f"--Exchange.root={self.exchange}")

    def start_service(self) -> None:
        with open(self.service_log, "wb") as log:
            self.service = subprocess.Popen(
                [sys.executable, "-m", "course", "serve", "--exchange", str(self.exchange), *ONE_ACCOUNT],
                cwd=self.course,
                env=environment(self.code),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop_service(self) -> None:
        if self.service is None:
            return
        try:
            os.killpg(self.service.pid, signal.SIGTERM)
            self.service.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.service.pid, signal.SIGKILL)
            self.service.wait()

    def check_service(self) -> None:
        if self.service.poll() is not None:
            raise StageFailed(f"the service exited with status {self.service.returncode}:\n{self.service_tail()}")

    def service_tail(self, lines: int = 30) -> str:
        text = self.service_log.read_text(errors="replace") if self.service_log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def submit(self, student: str, variant: str, exchange: Path) -> Path:
        """`nbgrader submit` as `student` of the variant's notebook into `exchange`, from the student's own
        folder (the released files and their notebook) with their own cache; returns the feedback page's
        path in the real exchange, where `nbgrader fetch_feedback` looks for it."""
        home = self.folder / "students" / student
        shutil.copytree(self.exchange / self.course_id / "outbound" / ASSIGNMENT, home / ASSIGNMENT)
        shutil.copyfile(
            Course(REPO).notebook(Stage.SUBMITTED, variant, ASSIGNMENT), home / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        )
        cache = self.folder / "caches" / student
        self.nbgrader(
            home,
            "submit",
            ASSIGNMENT,
            f"--student={student}",
            f"--course={self.course_id}",
            f"--Exchange.root={exchange}",
            f"--Exchange.cache={cache}",
        )
        (submission,) = (cache / self.course_id).glob(f"{student}+{ASSIGNMENT}+*")
        secret = (submission / "submission_secret.txt").read_text()
        page = notebook_hash(secret=secret, notebook_id=NOTEBOOK)
        return self.exchange / self.course_id / "feedback" / f"{page}.html"

    def wait_for(self, pages: list[Path], started: float, limit: float) -> list[float]:
        """Seconds from `started` until each page exists, polling every POLL_SECONDS."""
        arrived = [math.nan] * len(pages)
        waiting = set(range(len(pages)))
        while waiting:
            now = time.perf_counter()
            for index in [i for i in waiting if pages[i].exists()]:
                arrived[index] = now - started
                waiting.discard(index)
            if not waiting:
                break
            self.check_service()
            if now - started > limit:
                raise StageFailed(f"{len(waiting)} of {len(pages)} without feedback after {limit:.0f} s")
            time.sleep(POLL_SECONDS)
        return arrived


def expected_total(variant: str) -> float:
    return float(sum(EXPECTED_POINTS[variant].values()))


def wrong_scores(pages: list[Path], variants: list[str]) -> list[str]:
    wrong = []
    for page, variant in zip(pages, variants):
        found = SCORE.search(page.read_text(errors="replace"))
        if not found or float(found[1]) != expected_total(variant):
            wrong.append(f"{page.name} ({variant}): {found[0] if found else 'no score on the page'}")
    return wrong


def nearest_rank(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def one_at_a_time(bench: Bench, count: int, prefix: str) -> tuple[list[float], list[float], list[str]]:
    """(seconds to feedback, seconds `nbgrader submit` took, wrong scores) for `count` sequential submissions."""
    waits, submits, pages, variants = [], [], [], []
    for i in range(count):
        variant = VARIANTS[i % len(VARIANTS)]
        started = time.perf_counter()
        page = bench.submit(f"{prefix}-{i + 1:03d}", variant, bench.exchange)
        submitted = time.perf_counter()
        waits.append(bench.wait_for([page], submitted, WAIT_ONE)[0])
        submits.append(submitted - started)
        pages.append(page)
        variants.append(variant)
    return waits, submits, wrong_scores(pages, variants)


def burst(bench: Bench, count: int) -> tuple[float, list[float], list[str]]:
    """(seconds until all `count` have feedback, each one's seconds, wrong scores)."""
    staging = bench.folder / "staging"
    shutil.copytree(bench.exchange / bench.course_id / "outbound", staging / bench.course_id / "outbound")
    (staging / bench.course_id / "inbound").mkdir()
    variants = [VARIANTS[i % len(VARIANTS)] for i in range(count)]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        pages = list(pool.map(lambda i: bench.submit(f"burst-{i + 1:03d}", variants[i], staging), range(count)))
    staged = sorted((staging / bench.course_id / "inbound").iterdir())
    inbound = bench.exchange / bench.course_id / "inbound"
    started = time.perf_counter()
    for submission in staged:
        os.rename(submission, inbound / submission.name)
    arrived = bench.wait_for(pages, started, WAIT_BURST)
    return max(arrived), arrived, wrong_scores(pages, variants)


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure(bench: Bench, args, version: str) -> dict:
    """Release, start the service, and time a warm-up, then one at a time and a burst; print each figure."""
    figures = {}
    bench.release()
    bench.start_service()
    warm_up, _, wrong = one_at_a_time(bench, 1, "warm-up")
    print(f"{version}: warm-up fed back in {warm_up[0]:.2f} s, the service's start included (not counted)")
    if args.sequential:
        waits, submits, wrong_one = one_at_a_time(bench, args.sequential, "one")
        figures["p50"], figures["p95"] = statistics.median(waits), nearest_rank(waits, 0.95)
        met = "met" if figures["p95"] <= ONE_P95_TARGET else "NOT met"
        print(
            f"{version}: one at a time, {args.sequential} submissions: submit -> feedback p50 {figures['p50']:.2f} s, "
            f"p95 {figures['p95']:.2f} s, worst {max(waits):.2f} s   (target p95 <= {ONE_P95_TARGET:.0f} s: {met})"
        )
        print(f"  for reference, `nbgrader submit` itself took {statistics.median(submits):.2f} s (median)")
        wrong += wrong_one
    if args.burst:
        figures["burst"], each, wrong_burst = burst(bench, args.burst)
        met = "met" if figures["burst"] <= BURST_TARGET else "NOT met"
        print(
            f"{version}: burst of {args.burst}: all fed back in {figures['burst']:.2f} s, median "
            f"{statistics.median(each):.2f} s, first {min(each):.2f} s"
            f"   (target for 50: all <= {BURST_TARGET:.0f} s: {met})"
        )
        wrong += wrong_burst
    if wrong:
        raise StageFailed(f"{len(wrong)} feedback page(s) with the wrong score:\n  " + "\n  ".join(wrong))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequential", type=int, default=20, help="submissions one at a time (default 20; 0: none)")
    parser.add_argument("--burst", type=int, default=50, help="submissions at once (default 50; 0: none)")
    parser.add_argument("--against", metavar="REV", help="also measure the service of this commit, for the ratios")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (service log, exchange)")
    args = parser.parse_args()

    print(f"{os.cpu_count()} cores, load average {load()}")
    folder = Path(tempfile.mkdtemp(prefix="service-benchmark-"))
    figures, status = {}, 0
    with contextlib.ExitStack() as stack:
        versions = {"this checkout": None} | (
            {args.against: stack.enter_context(checkout(args.against))} if args.against else {}
        )
        try:
            for index, (version, code) in enumerate(versions.items()):
                bench = Bench(folder / str(index), code)
                try:
                    figures[version] = measure(bench, args, version)
                except StageFailed as failure:
                    print(f"{version}: failed: {failure}\nservice log (last lines):\n{bench.service_tail()}")
                    status = 1
                finally:
                    bench.stop_service()
            if len(figures) == 2:
                this, other = figures.values()
                ratios = ", ".join(f"{name} {this[name] / other[name]:.2f}" for name in this)
                print(f"this checkout / {args.against}: {ratios}")
        finally:
            print(f"load average {load()}")
            if os.getloadavg()[0] > 2 * (os.cpu_count() or 1):  # the service and its kernels alone stay below
                print("note: the load was well above the core count: other processes competed, the times are skewed")
            if args.keep:
                print(f"kept {folder}")
            else:
                shutil.rmtree(folder, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
