"""Grade many submissions at once on a Dask cluster instead of local worker processes.

Each submission is one Dask task running course.grader.autograde.grade_submission unchanged: the job
carries the submission and the assignment files as bytes, so workers share no filesystem
with this process; they need only the course's requirements and the `course` package.
Results come back to this process, the single writer of the gradebook, as they complete.

Faults are left to Dask: a task whose worker dies runs again on another worker, and a task
that was running on `distributed.scheduler.allowed-failures` + 1 workers that all died fails
with KilledWorker; that submission is then reported and scored 0, and the run goes on, as it does
when a task raises (the submission is then graded again on the next run). Each task's future
completes once, however often the task ran, so each result is recorded once.
"""

from collections.abc import Iterable, Iterator
from itertools import islice

from distributed import Client, KilledWorker, as_completed

from course.grader.autograde import grade_submission
from course.grader.job import GradingJob, GradingResult, grading_failed, killed_workers

TASKS_PER_THREAD = 2  # queued ahead of the workers: they never wait, and the scheduler never holds a whole class


def run_jobs_on_cluster(jobs: Iterable[GradingJob], address: str) -> Iterator[GradingResult]:
    """Yield a GradingResult per job as each finishes on the cluster whose scheduler is at `address`."""
    waiting, running = iter(jobs), {}
    with Client(address, set_as_default=False) as client:
        finished = as_completed(loop=client.loop)

        def top_up():
            room = TASKS_PER_THREAD * max(sum(client.nthreads().values()), 1) - len(running)
            for job in islice(waiting, max(room, 0)):
                future = client.submit(grade_submission, job, pure=False)  # pure=False: a regrade must run
                running[future] = job
                finished.add(future)

        top_up()
        for future in finished:
            job = running.pop(future)
            try:
                result = future.result()
            except KilledWorker as error:
                result = killed_workers(job, error.allowed_failures + 1)
            except Exception as error:  # the run goes on, as on local workers
                result = grading_failed(job, error)
            future.release()
            top_up()
            yield result
