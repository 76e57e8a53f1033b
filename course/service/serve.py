"""The grading service: feedback seconds after a student submits through nbgrader's exchange.

`python -m course serve` watches the exchange's inbound folder of this course, for every edition of
the assignment (each an nbgrader assignment of its own). Each submission there (a folder
`<student>+<assignment>+<time>+<random>` that `nbgrader submit` wrote) goes through the same steps
as the instructor's commands, in this process or its workers:

1. collect: nbgrader's own ExchangeCollect copies that very submission into
   submitted/<student>/<assignment>/, with its timestamp.txt, as `nbgrader collect` lays it out;
2. grade: the GradingJob that `grade` runs (sandbox, limits, the edition's package built once at
   start), on a pool of worker processes, so that a burst of submissions queues on all cores;
3. record: the ResultWriter saves it in the gradebook and writes the autograded notebook and the
   feedback page, at once (one result per save);
4. release: nbgrader's ExchangeReleaseFeedback puts the page where `nbgrader release_feedback` does,
   so that `nbgrader fetch_feedback` and JupyterLab's Fetch Feedback show it.

A student's submissions are handled one at a time, oldest first (submitted/<student>/<assignment>/
holds one);
different students' run side by side. At most `attempts_per_day` of a student's submissions are
graded per UTC day: the next ones are kept, their feedback says why and until when, and they are
graded on the next UTC day, or once the due date passes for those handed in on time. Submissions
after the gradebook's due date (plus the student's extension) are graded and pay the configured late
penalty (course.rules); every page a student gets names the due date, their extension and the graded
attempts left today. Every submission and
its state is in the journal (course.service.journal): a service killed at any moment grades on restart what
it had not finished, and records nothing twice.
"""

import html
import logging
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nbgrader.utils import parse_utc

from course.doors.intake import SECRET, TIMESTAMP, Refusal, Refused, SafeCollect, impostor, read_note, refusal
from course.fanout.course_grader import CourseGrader
from course.fanout.pool import WorkerPool
from course.grader.job import GradingResult, Status
from course.i18n.catalogue import translations
from course.layout import ASSIGNMENT, EDITIONS, NOTEBOOK, Course, Stage, course_config, edition
from course.record.attention import not_a_notebook
from course.record.report import write_report
from course.record.results import COLLECTED_FILES
from course.rules import Lateness, due_dates_and_extensions, rules_lines, utc_text
from course.service import DEFAULT_ATTEMPTS_PER_DAY, POLL_SECONDS
from course.service.arrivals import Arrivals
from course.service.journal import Journal, State, assignment_of, name_parts

log = logging.getLogger("course.service.serve")

DUE_DATE_SECONDS = 10.0
STYLE = "body { font-family: sans-serif; max-width: 48em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }"


def _now() -> datetime:
    """Naive UTC, as nbgrader stores times."""
    return datetime.now(UTC).replace(tzinfo=None)


def held_until(handed_in: datetime, now: datetime, due: datetime | None, graded_today: int, cap: int):
    """None if a submission may be graded now, else when it may: the next UTC day, or the due date if
    it was handed in on time and the due date comes first. Once the due date has passed, what was
    handed in on time is graded whatever the count (the cap must not keep a final grade back)."""
    if graded_today < cap or (due is not None and handed_in <= due <= now):
        return None
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
    return due if due is not None and handed_in <= due < tomorrow else tomorrow


# ---------------------------------------------------------------------------------------------
# What the student reads


def notice_page(language: str, title: str, *paragraphs: str) -> bytes:
    """A small page of plain words in `language`, released where the submission's feedback goes."""
    body = "".join(f"<p>{html.escape(text)}</p>\n" for text in paragraphs)
    return (
        f'<!DOCTYPE html>\n<html lang="{language.replace("_", "-")}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(NOTEBOOK)}: {html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<h1>{html.escape(NOTEBOOK)}: {html.escape(title)}</h1>\n{body}</body>\n</html>\n"
    ).encode()


def held_page(
    language: str, handed_in: datetime, cap: int, day: str, until: datetime, at_due_date: bool, rules: list[str]
) -> bytes:
    """rules: the due date and the student's extension in words (course.rules.rules_lines)."""
    _ = translations(language).gettext
    when = _("the due date ({time})") if at_due_date else _("the next UTC day starts ({time})")
    return notice_page(
        language,
        _("kept, not graded yet"),
        _(
            "Your submission of {handed_in} arrived safely and is kept, but it has not been graded: at most "
            "{cap} submissions per student are graded per day, and you have had {cap} graded on {day} (UTC days)."
        ).format(handed_in=utc_text(handed_in), cap=cap, day=day),
        _(
            "It will be graded automatically when {when}. Fetch your feedback again after that: this page will "
            "then show its score. If you hand in again before then, your submissions are graded in the order "
            "you handed them in."
        ).format(when=when.format(time=utc_text(until))),
        _("The feedback of your earlier submissions stays as it was."),
        *rules,
    )


def error_page(language: str, handed_in: datetime, problems: list[str]) -> bytes:
    _ = translations(language).gettext
    return notice_page(
        language,
        _("could not be graded"),
        _("Your submission of {handed_in} arrived, but grading it failed: {problems}.").format(
            handed_in=utc_text(handed_in), problems="; ".join(problems)
        ),
        _(
            "Your instructor sees this too. If your notebook never finishes or stops Python, fix that and hand "
            "it in again; otherwise, ask your instructor."
        ),
    )


# ---------------------------------------------------------------------------------------------
# The exchange, through nbgrader's own classes


def readable_by_others(root: Path) -> Path | None:
    """The source notebook when accounts other than its owner and group can read it (it allows them, and
    so does every folder above it), else None."""
    source = Course(root).notebook(Stage.SOURCE, None, ASSIGNMENT)
    if source.stat().st_mode & stat.S_IROTH and all(folder.stat().st_mode & stat.S_IXOTH for folder in source.parents):
        return source
    return None


def _complete(folder: Path) -> bool:
    """Whether nbgrader submit has finished writing the inbound folder (a folder a student made by hand may
    be a link to anything, even to what the service may not look at: collecting judges it)."""
    try:
        return (folder / SECRET).exists() and folder.stat().st_mode & 0o777 == 0o777
    except OSError:
        return False


class Exchange:
    """The course's exchange: its inbound folder, collecting one submission, releasing feedback."""

    def __init__(self, root: Path, exchange_root: str = ""):
        self.root = root
        self.config = course_config(root)
        if exchange_root:
            self.config.Exchange.root = str(Path(exchange_root).resolve())
        from nbgrader.exchange.default import Exchange as NbgraderExchange

        self.exchange_root = Path(NbgraderExchange(config=self.config).root)
        self.course_id = self.config.CourseDirectory.course_id
        self.inbound = self.exchange_root / self.course_id / "inbound"
        self.nbgrader_log = logging.getLogger("course.service.serve.nbgrader")

    def _coursedir(self, student: str, assignment: str, root: Path | None = None):
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config, assignment_id=assignment, student_id=student)
        if root is not None:
            coursedir.root = str(root)
        return coursedir

    def _run(self, kind, coursedir, **traits) -> None:
        from nbgrader.auth import Authenticator

        step = kind(
            coursedir=coursedir,
            authenticator=Authenticator(config=self.config),
            config=self.config,
            log=self.nbgrader_log,
            **traits,
        )
        step.start()

    def complete_submissions(self) -> list[str]:
        """Names of the inbound folders of the editions that nbgrader submit has finished writing:
        it writes submission_secret.txt last, then opens the folder to everyone (mode 777)."""
        if not self.inbound.is_dir():
            return []
        return sorted(
            folder.name
            for edition in EDITIONS
            for folder in self.inbound.glob(f"*+{edition.assignment}+*")
            if _complete(folder)
        )

    def collect(self, inbound: str, student: str, check_owner: bool) -> str:
        """`nbgrader collect` of this one submission (collect itself takes each student's latest), with the
        course's safe copy; returns why it was refused ("" when it was collected)."""

        class CollectOne(SafeCollect):
            def init_src(self):
                super().init_src()
                self.src_records = [self._path_to_record(os.path.join(self.inbound_path, inbound))]

        assignment = assignment_of(inbound)
        destination = Course(self.root).path(Stage.SUBMITTED, student, assignment)
        if destination.exists():  # collect keeps a folder with the same time; this is the one to grade
            shutil.rmtree(destination)
        self._run(CollectOne, self._coursedir(student, assignment), update=True, check_owner=check_owner)
        refused = refusal(destination)
        if not refused and not (destination / TIMESTAMP).exists():
            raise RuntimeError("nbgrader collect did not copy the submission")
        return refused

    def release_feedback(self, student: str, assignment: str, root: Path | None = None) -> None:
        """`nbgrader release_feedback <assignment> --student=<student>`: the page under
        <root>/feedback/<student>/<assignment>/ goes to the exchange, named after the submission's
        secret (fetch_feedback finds it there)."""
        from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback

        self._run(ExchangeReleaseFeedback, self._coursedir(student, assignment, root))

    def release_page(self, inbound: str, student: str, page: bytes) -> None:
        """Release a page for a submission that has no feedback page in the course (held, not graded):
        staged as release_feedback expects it, with the submission's timestamp and secret."""
        assignment = assignment_of(inbound)
        with tempfile.TemporaryDirectory(prefix="course-notice-") as staging:
            path = Course(Path(staging)).feedback_page(student, assignment)
            path.parent.mkdir(parents=True)
            path.write_bytes(page)
            for name in COLLECTED_FILES:  # the student's writing: read as collecting reads it
                (path.parent / name).write_text(read_note(self.inbound / inbound, name))
            self.release_feedback(student, assignment, Path(staging))


# ---------------------------------------------------------------------------------------------
# The service


class Service:
    def __init__(
        self,
        grader: CourseGrader,
        exchange: Exchange,
        pool: WorkerPool,
        attempts_per_day: int = DEFAULT_ATTEMPTS_PER_DAY,
        check_owner: bool = True,
    ):
        self.grader, self.root, self.exchange, self.pool = grader, grader.root, exchange, pool
        self.cap, self.check_owner = attempts_per_day, check_owner
        self.journal = Journal(self.root)
        self.results_writer = None
        self.reported = True  # grades.csv and the report are up to date
        self.due, self.extensions = {}, {}  # {assignment: due date or None}, {(student, assignment): extension}
        self.due_read_at = -DUE_DATE_SECONDS

    # -- the loop

    def run(self, once: bool = False, poll: float = POLL_SECONDS) -> None:
        self.results_writer = self.grader.results_writer()
        self.pool.start()
        arrivals = Arrivals(self.exchange.inbound)
        try:
            while True:
                started = self.step()
                if self.pool.running:
                    for inbound, result in self.pool.completed(poll):
                        self.finish(inbound, result)
                elif not started:
                    if not self.reported:
                        self.write_report()
                    if once:
                        return
                    arrivals.wait(poll)
        finally:
            arrivals.stop()
            self.stop()

    def stop(self) -> None:
        """Stop the workers, at once if they are grading (that is graded again on the next start)."""
        self.pool.close()
        if self.results_writer is not None:
            self.results_writer.close()
            self.results_writer = None

    def step(self) -> int:
        """Note new submissions, then send each waiting student's oldest one to grading (or hold or
        refuse it). Returns how many were sent."""
        for inbound in self.exchange.complete_submissions():
            if inbound not in self.journal.records:
                self.receive(inbound)
        waiting = self.journal.waiting()
        if not waiting:
            return 0
        busy = {job.student for _, job in self.pool.running}
        started = 0
        for record in waiting:  # oldest first
            student = record["student"]
            if student in busy:  # one at a time per student, in the order handed in
                continue
            try:
                sent = self.consider(record)
            except Exception as error:  # the student's files can make anything fail, never the service
                sent = False
                log.error("%s: FAILED %s: %s; not graded", student, record["inbound"], error)
                self.journal.note(record["inbound"], state=State.FAILED, problem=" ".join(str(error).split())[:300])
            if sent:
                busy.add(student)
                started += 1
        return started

    def consider(self, record: dict) -> bool:
        """Hold the submission, or collect it and send it to grading; whether it was sent."""
        # Held, the student's later submissions are held too (each is told): none overtakes it.
        if record["state"] != State.GRADING and self.over_cap(record):
            return False
        return self.start(record)

    def receive(self, inbound: str) -> None:
        student, _, handed_in = name_parts(inbound)
        try:
            handed_in = parse_utc(handed_in).isoformat(sep=" ")
        except ValueError:
            self.journal.note(inbound, state=State.FAILED, student=student, problem="no time of hand-in in its name")
            log.error("%s: FAILED %s: no time of hand-in in its name; not graded", student, inbound)
            return
        self.journal.note(inbound, state=State.RECEIVED, student=student, handed_in=handed_in)
        log.info("%s: received %s", student, inbound)

    def rules(self, student: str, assignment: str) -> Lateness:
        """The edition's due date and the student's extension in the gradebook (`nbgrader db assignment
        add --duedate=...`, `python -m course extend`), read again at most every DUE_DATE_SECONDS; how
        late a submission is, and what it costs, the gradebook says once its result is saved."""
        from nbgrader.api import Gradebook

        if time.monotonic() - self.due_read_at >= DUE_DATE_SECONDS:
            with Gradebook(self.grader.url) as gradebook:
                self.due, self.extensions = due_dates_and_extensions(gradebook)
            self.due_read_at = time.monotonic()
        return Lateness(self.due.get(assignment), self.extensions.get((student, assignment)), None, 0.0, 0.0)

    def over_cap(self, record: dict) -> bool:
        """Whether the submission waits (past the day's cap); tells the student once a day."""
        now, student, assignment = _now(), record["student"], assignment_of(record["inbound"])
        handed_in = datetime.fromisoformat(record["handed_in"])
        rules = self.rules(student, assignment)
        day = now.date().isoformat()
        until = held_until(handed_in, now, rules.deadline, self.journal.graded_on(student, day), self.cap)
        if until is None:
            return False
        if record["state"] != State.HELD or record.get("held_on") != day:
            language = edition(assignment).language
            told = rules_lines(rules, language, attempts=(0, self.cap))
            page = held_page(language, handed_in, self.cap, day, until, until == rules.deadline, told)
            self.exchange.release_page(record["inbound"], student, page)
            self.journal.note(record["inbound"], state=State.HELD, held_on=day, until=until.isoformat(sep=" "))
            log.info("%s: held %s: %d graded today; graded from %s", student, record["inbound"], self.cap, until)
        return True

    def start(self, record: dict) -> bool:
        """Collect the submission and send it to a worker; False if it could not be collected."""
        inbound, student = record["inbound"], record["student"]
        handed_in = datetime.fromisoformat(record["handed_in"])
        if self.check_owner and (owner := impostor(self.exchange.inbound / inbound, student)):
            # Nothing of the student it names changes; whoever handed it in is told why, if they ask.
            refused = Refused(Refusal.NOT_OWNER, inbound, owner=owner, student=student)
            log.warning("%s: REFUSED %s: %s; not collected", student, inbound, refused)
            self.journal.note(inbound, state=State.REFUSED, problem=str(refused), refused=str(refused))
            self.reported = False  # the class report lists it
            language = edition(assignment_of(inbound)).language
            self.exchange.release_page(inbound, student, error_page(language, handed_in, [refused.message(language)]))
            return False
        try:
            refused = self.exchange.collect(inbound, student, self.check_owner)
        except Exception as error:  # unreadable, ...: tell the student, keep going
            problem = f"it could not be collected ({' '.join(str(error).split())[:200]})"
            log.error("%s: FAILED to collect %s: %s", student, inbound, problem)
            language = edition(assignment_of(inbound)).language
            self.journal.note(inbound, state=State.FAILED, problem=problem)
            self.exchange.release_page(inbound, student, error_page(language, handed_in, [problem]))
            return False
        assignment = assignment_of(inbound)
        deadline = self.rules(student, assignment).deadline
        late = deadline is not None and handed_in > deadline
        self.journal.note(
            inbound, state=State.GRADING, graded_day=record.get("graded_day") or _now().date().isoformat()
        )
        path = Course(self.root).notebook(Stage.SUBMITTED, student, assignment)
        if refused:
            log.warning("%s: REFUSED %s: %s", student, inbound, refused)
            self.journal.note(inbound, refused=refused)  # the class report lists it, even once handed in again
            result = GradingResult(student, assignment, "", Status.INVALID, problems=[not_a_notebook(refused)])
            self.finish(inbound, result)
            return True
        if not path.exists():
            found = sorted(p.name for p in path.parent.iterdir() if p.name not in COLLECTED_FILES)
            result = GradingResult(student, assignment, "", Status.INVALID)
            result.problems.append(
                not_a_notebook(f"the submission has no {path.name} (it holds: {', '.join(found) or 'nothing'})")
            )
            self.finish(inbound, result)
            return True
        self.pool.submit(inbound, self.grader.job(student, assignment, path.read_bytes()))
        log.info("%s: grading %s%s", student, inbound, " (late)" if late else "")
        return True

    def finish(self, inbound: str, result: GradingResult) -> None:
        """Record the result, release its feedback, then note it graded (in this order: a service
        killed in between does it all again, and saving the same submission again changes nothing)."""
        record = self.journal.records[inbound]
        student, assignment = result.student, result.assignment
        handed_in = datetime.fromisoformat(record["handed_in"])
        left = self.cap - self.journal.graded_on(student, record["graded_day"])  # this one counted
        self.results_writer.add(result, attempts=(left, self.cap))
        self.results_writer.flush()
        if result.status == Status.ERROR:  # nothing graded, no page of nbgrader's: say why
            language = edition(assignment).language
            self.exchange.release_page(inbound, student, error_page(language, handed_in, result.problems))
        else:
            try:
                self.exchange.release_feedback(student, assignment)
            except Exception as error:  # a refused submission's exchange files may be unusable
                log.error("%s: feedback of %s could not be released: %s", student, inbound, error)
        max_points = result.max_points
        self.journal.note(
            inbound,
            state=State.GRADED,
            status=result.status,
            points=result.points,
            max_points=max_points or None,
            problems=result.problems,
        )
        self.reported = False
        score = f"{result.points:g}/{max_points:g}" if max_points else "no score"
        problems = f" [{'; '.join(result.problems)}]" if result.problems else ""
        log.info("%s: %s %s, %s%s; feedback released", student, result.status, inbound, score, problems)

    def write_report(self) -> None:
        try:
            write_report(self.root)
        except Exception as error:  # the report is a convenience; grading goes on
            log.error("could not write the class report: %s", error)
        self.reported = True


def serve(
    root: Path,
    exchange_root: str = "",
    once: bool = False,
    workers: int = 0,
    attempts_per_day: int = DEFAULT_ATTEMPTS_PER_DAY,
    check_owner: bool = True,
    cell_timeout: int = 0,
    sandbox: bool = True,
    poll: float = POLL_SECONDS,
) -> int:
    """Run the service on the course at root until stopped (SIGTERM, Ctrl-C), or with once=True until
    every submission that can be graded now is; returns the exit status."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    logging.getLogger("course.service.serve.nbgrader").setLevel(logging.WARNING)  # nbgrader's exchange steps
    logging.getLogger("traitlets").setLevel(logging.ERROR)  # building the release, rendering feedback
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # systemctl stop: stop cleanly, the journal has the rest
    root = Path(root)
    exchange = Exchange(root, exchange_root)
    if not exchange.inbound.is_dir():
        log.error(
            "no inbound folder at %s: release the assignment first (nbgrader release_assignment %s)",
            exchange.inbound,
            " / ".join(edition.assignment for edition in EDITIONS),
        )
        return 2
    grader = CourseGrader.for_course(root, cell_timeout, sandbox)
    if readable := readable_by_others(root):
        log.warning("WARNING: %s can be read by other accounts, students included: chmod -R go-rwx %s", readable, root)
    if not check_owner:
        log.warning("owner check off (--no-check-owner): any account may hand in under any student's name")
    log.warning(grader.notice) if grader.notice.startswith("WARNING") else log.info(grader.notice)
    pool = WorkerPool(workers, grader.sandboxed)
    log.info(
        "watching %s for %s: %d worker(s), at most %d graded submissions per student per UTC day",
        exchange.inbound,
        ", ".join(grader.packages),
        pool.workers,
        attempts_per_day,
    )
    service = Service(grader, exchange, pool, attempts_per_day, check_owner)
    try:
        service.run(once=once, poll=poll)
    except KeyboardInterrupt:
        log.info("stopped; what was not finished is graded on the next start")
    return 0
