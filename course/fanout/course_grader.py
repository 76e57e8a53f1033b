"""One grader behind `python -m course grade` and `python -m course serve`: the set-up, made once.

Both commands build the release and load the roster first, then grade every submission with the
same assignment packages, cell timeout, sandbox verdict and fingerprints, and record the results
through the same ResultWriter. `grade` submits the whole class to a WorkerPool (or a Dask cluster)
and waits; the service submits each submission as it arrives.
"""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from course.build.package import assignment_packages
from course.build.release import assignment_fingerprint, build_lock, build_release
from course.grader.job import AssignmentPackage, GradingJob
from course.grader.sandbox import process_cap_kind, unavailable_because
from course.grader.warm import fork_unavailable_because
from course.layout import EDITIONS, course_config
from course.record.gradebook import db_url, import_roster
from course.record.results import ResultWriter


def sandbox_notice(requested: bool) -> tuple[bool, str]:
    """Whether kernels run sandboxed, and the line that tells the instructor so."""
    if not requested:
        return False, (
            "WARNING: sandbox turned off (--no-sandbox): student code runs with your rights and "
            "can read the solutions, change the gradebook and write anywhere you can"
        )
    reason = unavailable_because()
    if reason:
        return False, (
            f"WARNING: NO SANDBOX: {reason}. Student code runs with your rights and can read the "
            "solutions, change the gradebook and write anywhere you can"
        )
    cap = process_cap_kind()
    if not cap:
        return True, (
            "WARNING: sandbox on, but NO PROCESS CAP: grading as root without a pids cgroup it may "
            "create, so a fork bomb can exhaust the machine"
        )
    start = f"started fresh ({why})" if (why := fork_unavailable_because()) else "forked from a warm parent"
    return True, (
        f"sandbox: on (each kernel in bubblewrap: no network, only its own scratch folder visible; "
        f"processes capped by {cap}; kernels {start})"
    )


def build_and_enroll(root: Path, url: str) -> int:
    """Build the release (which records the source cells in the gradebook at url) unless it is current,
    and load the roster, one run at a time on a shared gradebook; returns how many students the roster lists."""
    with build_lock(url):
        build_release(root, force=False)
        return import_roster(root, url)


@dataclass
class CourseGrader:
    root: Path
    url: str  # the gradebook's
    on_roster: int  # students the roster (students.csv) lists
    fingerprints: dict[str, str]  # {assignment: its version}: grades saved under another one are stale
    cell_timeout: int  # seconds a cell may run
    sandboxed: bool  # whether kernels run in bubblewrap
    notice: str  # the line that tells the instructor about the sandbox
    full: bool  # also run the cells that only train or plot

    @classmethod
    def for_course(
        cls, root: Path, cell_timeout: int = 0, sandbox: bool = True, full: bool = False, on_cluster: bool = False
    ) -> "CourseGrader":
        """Build the release and load the roster, then set up. cell_timeout 0 means nbgrader_config's;
        sandbox=False runs student code unconfined, for debugging on one's own machine. A cluster's
        workers check bubblewrap themselves and refuse to grade without it."""
        url = db_url(root)
        on_roster = build_and_enroll(root, url)
        if on_cluster:
            sandboxed, notice = sandbox, "sandbox: " + ("required on every worker" if sandbox else "off (--no-sandbox)")
        else:
            sandboxed, notice = sandbox_notice(sandbox)
        return cls(
            root,
            url,
            on_roster,
            {edition.assignment: assignment_fingerprint(root, edition.assignment) for edition in EDITIONS},
            cell_timeout or course_config(root).Execute.timeout,
            sandboxed,
            notice,
            full,
        )

    @cached_property
    def packages(self) -> dict[str, AssignmentPackage]:
        """{assignment: what a worker needs to grade it}, built on first use (a run may have nothing to grade)."""
        return assignment_packages(self.root)

    def job(self, student: str, assignment: str, submission: bytes) -> GradingJob:
        return GradingJob(
            student,
            submission,
            self.packages[assignment],
            cell_timeout=self.cell_timeout,
            sandbox=self.sandboxed,
            full=self.full,
        )

    def results_writer(self) -> ResultWriter:
        return ResultWriter(self.root, self.url, self.fingerprints)
