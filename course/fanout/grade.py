"""The instructor's main job: build the release, autograde the class, write feedback and reports.

Every edition of the assignment is built and graded in the same run, into the same gradebook: a
student's submission is graded as the edition they handed in (submitted/<student>/<assignment>/).
Only new or changed submissions are graded (unless forced), on local worker processes or on the
workers of a Dask cluster; the gradebook, the autograded notebooks, the feedback and the reports are
then brought up to date for everyone. The roster (students.csv), when there is one, is loaded first.
The run ends by naming the files it wrote and the students who need attention.
"""

import itertools
import sys
from pathlib import Path

from course.doors.intake import refusal
from course.fanout.course_grader import CourseGrader
from course.fanout.pool import WorkerPool, default_workers
from course.grader import kernels
from course.grader.job import GradingResult, Status, sha256
from course.grader.warm import WarmParent
from course.layout import ASSIGNMENT, EDITIONS, GRADES_CSV, REPORT_DIR, ROSTER, Course, Stage, submission_name
from course.record import last_graded
from course.record.attention import attention_rows, needs_attention, not_a_notebook
from course.record.gradebook import submitted_at
from course.record.progress import Progress
from course.record.report import summary_text, write_report

NEEDS_ATTENTION = 3  # exit status when some submissions could not be graded normally


def submissions(root: Path) -> dict[tuple[str, str], bytes]:
    """{(student, assignment): the submitted notebook as bytes (empty when the folder has none)}, for
    every edition, in the order of EDITIONS then of the students."""
    found, course = {}, Course(root)
    for edition in EDITIONS:
        for student in course.students(Stage.SUBMITTED, edition.assignment):
            path = course.notebook(Stage.SUBMITTED, student, edition.assignment)
            found[student, edition.assignment] = path.read_bytes() if path.exists() else b""
    return found


def _recorded_times(url: str) -> dict:
    """{(student, assignment): the submission time recorded with their grades} for everything graded so far."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gradebook:
        return {
            (submission.student_id, edition.assignment): submission.timestamp
            for edition in EDITIONS
            for submission in gradebook.find_assignment(edition.assignment).submissions
        }


def _needs_grading(root: Path, key: tuple[str, str], data: bytes, recorded: dict, fingerprint: str) -> bool:
    """New, changed, handed in again (another timestamp.txt), graded against another version of the
    assignment, or not graded last time because grading itself failed."""
    last = last_graded.read(root, *key)
    return (
        key not in recorded
        or recorded[key] != submitted_at(root, *key)
        or last.get("submission_sha256") != sha256(data)
        or last.get("assignment_fingerprint") != fingerprint
        or last.get("status") == Status.ERROR
    )


def grade_class(
    root: Path,
    workers: int = 0,
    force: bool = False,
    cell_timeout: int = 0,
    scheduler: str = "",
    sandbox: bool = True,
    full: bool = False,
    warm_parent: WarmParent | None = None,
    fork_workers: bool = False,
) -> int:
    """Run the whole job; returns the process exit status. cell_timeout 0 means nbgrader_config's;
    with a Dask scheduler address (tcp://host:8786) the submissions are graded on its workers;
    full=True also runs the cells that only train or plot.
    sandbox=False runs student code unconfined, for debugging on one's own machine.
    warm_parent: one started before this process's imports (__main__), which the local workers share;
    fork_workers: fork them from this process, a fresh `python -m course grade` (pool.py)."""
    if warm_parent is not None:
        kernels.warm_up(warm_parent)
    grader = CourseGrader.for_course(root, cell_timeout, sandbox, full, on_cluster=bool(scheduler))
    if grader.on_roster:
        print(f"roster: {grader.on_roster} students from {ROSTER} (names and e-mail, for Formgrader)")
    submitted = submissions(root)
    recorded = _recorded_times(grader.url)
    to_grade = [
        key
        for key, data in submitted.items()
        if force or _needs_grading(root, key, data, recorded, grader.fingerprints[key[1]])
    ]
    per_edition = ", ".join(
        f"{sum(assignment == edition.assignment for _, assignment in submitted)} {edition.assignment}"
        for edition in EDITIONS
    )
    print(
        f"{len(submitted)} submissions ({per_edition}), {len(to_grade)} to grade"
        + (
            f", {len(submitted) - len(to_grade)} unchanged since last graded (--force regrades them)"
            if len(to_grade) < len(submitted)
            else ""
        )
    )

    if to_grade:
        print(grader.notice, file=sys.stderr if grader.notice.startswith("WARNING") else sys.stdout)
        skipped = len(grader.packages[ASSIGNMENT].skipped_at_grading)  # the same cells in every edition
        print(
            "training and plotting cells: "
            + ("run (--full)" if full else f"{skipped} skipped, no score depends on them (--full runs them)")
        )
        refused = {key: refusal(Course(root).path(Stage.SUBMITTED, *key)) for key in to_grade}
        refused_results = [
            GradingResult(student, assignment, sha256(b""), Status.INVALID, problems=[not_a_notebook(reason)])
            for (student, assignment), reason in refused.items()
            if reason
        ]
        accepted = [key for key in to_grade if not refused[key]]
        if scheduler:
            from course.fanout.cluster import run_jobs_on_cluster

            print(f"grading on the Dask cluster at {scheduler}, {grader.cell_timeout} s per cell at most")
            results = run_jobs_on_cluster([grader.job(*key, submitted[key]) for key in accepted], scheduler)
        else:
            pool = WorkerPool(min(workers or default_workers(), len(accepted)), grader.sandboxed, fork_workers)
            if accepted:
                pool.start()  # the workers import while this process makes the jobs
            print(f"grading on {pool.workers} worker(s), {grader.cell_timeout} s per cell at most")
            results = pool.grade_all(grader.job(*key, submitted[key]) for key in accepted)
        with Progress(len(to_grade)) as progress, grader.results_writer() as results_writer:
            for result in itertools.chain(refused_results, results):
                results_writer.add(result)
                progress.update(*_outcome(result, grader.fingerprints[result.assignment]))

    exercises, results = write_report(root)
    print(summary_text(exercises, results))
    print(closing_block(root, results))
    return NEEDS_ATTENTION if any(result.attention for result in results) else 0


def _outcome(result: GradingResult, fingerprint: str) -> tuple[str, bool]:
    """The progress line's words for a result ("infinite-loop: timed out, 30 points"), and whether it
    needs attention."""
    found = needs_attention(result.student, result.assignment, last_graded.note(result, fingerprint))
    what = ", ".join([*(item.kind for item in found), f"{result.points:g} points"])
    return f"{submission_name(result.student, result.assignment)}: {what}", bool(found)


def _shown(path: Path) -> str:
    """The path as typed from where the command runs: relative below the current folder, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def closing_block(root: Path, results) -> str:
    """What the run leaves behind: the files written and the students who need attention."""
    course = Course(root)
    feedback_pages = sum(
        course.feedback_page(student, edition.assignment).exists()
        for edition in EDITIONS
        for student in course.students(Stage.FEEDBACK, edition.assignment)
    )
    written = [
        (root / GRADES_CSV, "points per student and exercise, ready for an LMS import"),
        (root / REPORT_DIR / "index.html", "class report: what needs attention, scores, frequent failures"),
        (root / "feedback", f"{feedback_pages} feedback pages (one per submission), for nbgrader release_feedback"),
        (root / "autograded", "the graded notebooks, as nbgrader autograde lays them out"),
    ]
    names = [_shown(path) + ("/" if path.is_dir() else "") for path, _ in written]
    width = max(map(len, names))
    lines = ["", "written:", *(f"  {name:<{width}}  {what}" for name, (_, what) in zip(names, written))]
    rows = attention_rows(results)
    if not rows:
        return "\n".join([*lines, "", "nothing needs attention"])
    students = len({result.student for result, _ in rows})
    lines += [
        "",
        f"{students} student{'s need' if students > 1 else ' needs'} attention "
        f"(what to do is in {_shown(root / REPORT_DIR / 'index.html')}):",
    ]
    lines += [
        f"needs attention: {submission_name(result.student, result.assignment)}: {item.reason} [{item.kind}]"
        for result, item in rows
    ]
    return "\n".join(lines)
