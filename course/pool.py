"""Grade many submissions at once on local worker processes.

Workers are spawned once and stay warm (nbgrader and friends imported), so each
submission costs its notebook's run plus a little. Results come back to this process,
the single writer of the gradebook, in completion order. A worker that dies takes
its pool down with it; the unfinished jobs are then run again on a fresh pool, and a
submission that kills workers twice is reported instead of retried forever.
"""

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from course.autograde import grade_submission
from course.job import GradingJob, GradingResult, killed_workers

MAX_ATTEMPTS = 2  # a submission that takes its worker down this many times is reported, not run again


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _warm_up():
    import course.autograde  # noqa: F401  (imports nbgrader, nbclient, jupyter_client once per worker)


def warm_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned worker processes that import the grading code as they start."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_warm_up)


def run_jobs(jobs: Iterable[GradingJob], workers: int) -> Iterator[GradingResult]:
    """Yield a GradingResult per job as each finishes."""
    pending = {job.submission_key: job for job in jobs}
    attempts = dict.fromkeys(pending, 0)
    while pending:
        with warm_pool(min(workers, len(pending))) as pool:
            futures = {pool.submit(grade_submission, job): key for key, job in pending.items()}
            for key in futures.values():
                attempts[key] += 1
            try:
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        key = futures.pop(future)
                        result = future.result()
                        del pending[key]
                        yield result
            except BrokenProcessPool:
                for key in list(futures.values()):
                    if attempts[key] >= MAX_ATTEMPTS:
                        yield killed_workers(pending.pop(key), MAX_ATTEMPTS)
