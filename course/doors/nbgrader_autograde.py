"""nbgrader's own grading doors (`nbgrader autograde`, Formgrader's Autograde button) through the course's grader.

nbgrader_config.py gives nbgrader's Autograde converter these steps instead of its own. Autograde
runs its preprocessors in two passes over each notebook: the first (sanitize_preprocessors) is
CourseGrade, which hands the submitted notebook's bytes to `grade_submission`, the unit of work of
`python -m course grade` (sanitize, the sandboxed kernel, the judge outside it, tidy), on a worker
process of its own, and returns the autograded notebook; the second (autograde_preprocessors) only
saves its grades in the gradebook and applies late penalties, as nbgrader's would. So every door gives
the points `grade` gives, by construction. Where the sandbox cannot run, CourseGrade refuses, naming
the command to use instead.
"""

import atexit
from functools import cache
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from course.layout import Course, Stage

INSTEAD = "python -m course grade"


class NotGradedHere(RuntimeError):
    """nbgrader's door will not grade this: no sandbox here, or the submission cannot be graded at all."""


@cache
def _package(root: str, assignment: str):
    from course.build.package import assignment_package

    return assignment_package(Path(root), assignment)


@cache
def _pool():
    from course.fanout.pool import WorkerPool

    pool = WorkerPool(1)
    atexit.register(pool.close)
    return pool


class CourseGrade(Preprocessor):
    """Grades the whole notebook with the course's grader; the notebook it returns is the graded one."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        from course.grader.job import GradingJob, Status
        from course.grader.sandbox import unavailable_because

        if reason := unavailable_because():
            raise NotGradedHere(
                f"not graded: the sandbox cannot run here ({reason}), and nbgrader's autograde would run student "
                f"code with your rights. Use `{INSTEAD}` (its --no-sandbox, to debug on your own machine)."
            )
        root = self.config.CourseDirectory.root
        assignment, student = resources["nbgrader"]["assignment"], resources["nbgrader"]["student"]
        submitted = Course(Path(root)).notebook(Stage.SUBMITTED, student, assignment)
        job = GradingJob(
            student,
            submitted.read_bytes(),  # the very bytes `grade` reads, not nbconvert's reading of them
            _package(root, assignment),
            cell_timeout=self.config.Execute.timeout,
        )
        _pool().submit(student, job)
        finished = []
        while not finished:  # empty while a dead worker's job runs again
            finished = _pool().completed()
        result = finished[0][1]
        if result.status in (Status.INVALID, Status.ERROR):
            problems = "; ".join(result.problems)
            raise NotGradedHere(f"{student} not graded: {problems}. `{INSTEAD}` reports it to the student.")
        for problem in result.problems:
            self.log.warning("%s: %s", student, problem)
        return nbformat.reads(result.notebook.decode("utf-8"), as_version=4), resources
