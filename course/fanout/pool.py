"""Grade submissions on local worker processes: the one pool that `grade` and `serve` both drive.

Workers start once and stay warm (nbgrader and friends imported), so each submission costs its
notebook's run plus a little. `python -m course grade` forks them from its own process, which has run
no kernel, thread nor event loop a worker could inherit half-used: they share what it imported and its
warm parent (kernels.warm_up), and start in milliseconds. Elsewhere (the service, nbgrader's doors, a
test) they are spawned, and each imports and starts a warm parent of its own. Results come back to
this process, the single writer of the gradebook, in completion order. A worker that dies takes the
whole pool down with it: the jobs it held go to a fresh pool, and a submission that takes its worker
down MAX_ATTEMPTS times is reported (scored 0) instead of run again.
"""

import gc
import multiprocessing.util
import os
import signal
import sys
from collections.abc import Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from course.grader import helpers, kernels
from course.grader.autograde import grade_submission
from course.grader.job import GradingJob, GradingResult, grading_failed, killed_workers

MAX_ATTEMPTS = 2  # a submission that takes its worker down this many times is reported, not run again


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _warm_up(sandboxed: bool):
    """Ready a worker: a warm parent for its kernels, and what it must remove at its exit, in a
    finalizer (multiprocessing runs those in every worker; a forked one runs no atexit handler). A worker
    told to stop (SIGTERM: close() on a busy one, or the system stopping the service) exits as it does
    on its own, closing its kernels and removing its folders."""
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    multiprocessing.util.Finalize(None, _close_worker, exitpriority=0)
    if sandboxed:
        kernels.warm_up()


def _close_worker():
    kernels.close_all()
    helpers.remove_copies()


class WorkerPool:
    """submit(tag, job) as jobs come, completed() for what finished: `grade` submits the whole class
    and waits, the service submits each submission as it arrives. Tags name jobs for the caller."""

    def __init__(self, workers: int = 0, sandboxed: bool = True, fork: bool = False):
        self.workers = workers or default_workers()
        self.sandboxed = sandboxed  # whether the jobs will run sandboxed: then each worker warms a parent at once
        self.fork = fork  # fork the workers from this process, a fresh one (see above), instead of spawning them
        self._executor: ProcessPoolExecutor | None = None
        self._running: dict[Future, tuple[Hashable, GradingJob]] = {}
        self._tries: dict[Hashable, int] = {}

    def start(self) -> None:
        """Start the workers now, so that the first submission does not wait for them."""
        if self.fork:
            # As Python's gc documentation advises before a fork: the workers share these objects' pages and
            # never scan them; and this process's exit no longer tears them down (a quarter of a second).
            gc.freeze()
        context = get_context("fork" if self.fork else "spawn")
        self._executor = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_warm_up, initargs=(self.sandboxed,)
        )
        for _ in range(self.workers):
            self._executor.submit(os.getpid)

    def submit(self, tag: Hashable, job: GradingJob) -> None:
        if self._executor is None:
            self.start()
        self._tries[tag] = self._tries.get(tag, 0) + 1
        self._running[self._executor.submit(grade_submission, job)] = (tag, job)

    @property
    def running(self) -> list[tuple[Hashable, GradingJob]]:
        return list(self._running.values())

    def completed(self, timeout: float | None = None) -> list[tuple[Hashable, GradingResult]]:
        """(tag, result) of what finished within `timeout` seconds (None: wait for at least one)."""
        done, _ = wait(self._running, timeout=timeout, return_when=FIRST_COMPLETED)
        if any(isinstance(future.exception(), BrokenProcessPool) for future in done):
            wait(self._running)  # the rest of a broken pool fails at once
            done = set(self._running)
        finished, broken = [], []
        for future in done:
            tag, job = self._running.pop(future)
            error = future.exception()
            if isinstance(error, BrokenProcessPool):
                broken.append((tag, job))
            elif error is not None:
                finished.append((tag, grading_failed(job, error)))
            else:
                finished.append((tag, future.result()))
        if broken:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            for tag, job in broken:
                if self._tries[tag] >= MAX_ATTEMPTS:
                    finished.append((tag, killed_workers(job, self._tries[tag])))
                else:
                    self.submit(tag, job)
        for tag, _ in finished:
            del self._tries[tag]
        return finished

    def grade_all(self, jobs: Iterable[GradingJob]) -> Iterator[GradingResult]:
        """Every job's result as it finishes; the pool is closed at the end."""
        try:
            for job in jobs:
                self.submit(job.submission_key, job)
            while self._running:
                for _, result in self.completed():
                    yield result
        finally:
            self.close()

    def close(self) -> None:
        """Stop the workers, at once if they are grading (the service grades that again on restart).
        Idle ones close their kernels as they exit, while this process goes on (writing the report, say):
        it waits for them only at its own exit."""
        if self._executor is None:
            return
        # ProcessPoolExecutor has no public way to stop a busy worker before Python 3.14's terminate_workers().
        busy = list(getattr(self._executor, "_processes", {}).values()) if self._running else []
        self._executor.shutdown(wait=False, cancel_futures=True)
        for worker in busy:
            worker.terminate()
        self._executor, self._running = None, {}
