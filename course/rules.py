"""The course's rules a student sees: the due date, their own extension, how late and what it costs.

One source of truth for each: the gradebook holds each edition's due date (`nbgrader db assignment
add --duedate=...`) and each student's extension (`python -m course extend`, nbgrader's
Gradebook.grant_extension); nbgrader computes how late a submission is from them
(SubmittedAssignment.total_seconds_late); what lateness costs is the LateSubmissionPlugin that
nbgrader_config.py gives nbgrader's AssignLatePenalties, run by every door through that step.
"""

import math
import sys
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import LateSubmissionPlugin
from sqlalchemy.exc import SAWarning
from traitlets import Float

from course.i18n.catalogue import translations

DAY_SECONDS = 24 * 3600


def utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class LatePenalty(LateSubmissionPlugin):
    """A share of the points earned per day late, each day begun counting, up to a cap, after a grace period."""

    share_per_day = Float(0.1, help="share of the points earned taken off per day late (0.1: 10%)").tag(config=True)
    max_share = Float(0.5, help="the most lateness can take off, as a share of the points earned").tag(config=True)
    grace_minutes = Float(0.0, help="minutes after the due date that cost nothing").tag(config=True)

    def share(self, seconds_late: float) -> float:
        """The share of the points taken off a submission this many seconds late."""
        beyond_grace = seconds_late - 60 * self.grace_minutes
        if beyond_grace <= 0:
            return 0.0
        return min(self.max_share, self.share_per_day * math.ceil(beyond_grace / DAY_SECONDS))

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        return round(score * self.share(total_seconds_late), 2)

    def describe(self, language: str) -> list[str]:
        """The policy in sentences, in `language`, for the released notebook and the feedback page."""
        _ = translations(language).gettext
        policy = _(
            "A late submission loses {per_day} of its points per day late (each day begun counts), at most {cap}."
        ).format(per_day=f"{100 * self.share_per_day:g}%", cap=f"{100 * self.max_share:g}%")
        if not self.grace_minutes:
            return [policy]
        grace = _("The first {grace} minutes after the due date cost nothing.").format(grace=f"{self.grace_minutes:g}")
        return [policy, grace]


def penalty_plugin(config) -> LateSubmissionPlugin:
    """The plugin nbgrader_config.py gives AssignLatePenalties (nbgrader's own when it names none)."""
    from nbgrader.preprocessors import AssignLatePenalties

    assigner = AssignLatePenalties(config=config)
    assigner.init_plugin()
    return assigner.plugin_inst


def policy_sentences(config, language: str) -> list[str]:
    """The late-penalty policy in words, or none for a plugin that does not describe itself (nbgrader's)."""
    plugin = penalty_plugin(config)
    return plugin.describe(language) if isinstance(plugin, LatePenalty) else []


@dataclass(frozen=True)
class Lateness:
    """A submission against its due date, as the gradebook has it once the submission is saved (before
    that, the grading service knows only the due date and the extension)."""

    due: datetime | None  # the edition's
    extension: timedelta | None  # the student's own
    handed_in: datetime | None
    seconds_late: float  # nbgrader's total_seconds_late: after the due date plus the extension
    penalty: float  # points taken off, as AssignLatePenalties saved them

    @property
    def deadline(self) -> datetime | None:
        return self.due + self.extension if self.due and self.extension else self.due


def lateness_of(gradebook: Gradebook, student: str, assignment: str, notebook: str) -> Lateness:
    submission = gradebook.find_submission(assignment, student)
    try:
        penalty = gradebook.find_submission_notebook(notebook, assignment, student).late_submission_penalty
    except MissingEntry:  # nothing recorded of the notebook: nothing to take off
        penalty = None
    return Lateness(
        submission.assignment.duedate,
        submission.extension,
        submission.timestamp,
        submission.total_seconds_late,
        penalty or 0.0,
    )


def due_dates_and_extensions(gradebook: Gradebook) -> tuple[dict, dict]:
    """({assignment: due date or None}, {(student, assignment): extension}) for every assignment."""
    due, extensions = {}, {}
    for assignment in gradebook.assignments:
        due[assignment.name] = assignment.duedate
        for submission in assignment.submissions:
            if submission.extension:
                extensions[submission.student_id, assignment.name] = submission.extension
    return due, extensions


def grant_extension(gradebook: Gradebook, student: str, assignment: str, days: float) -> None:
    """nbgrader's grant_extension, which needs the student's submission row: made first (empty, no time)
    when the student has not handed in yet. 0 days removes the extension."""
    try:
        gradebook.find_submission(assignment, student)
    except MissingEntry:
        if not days:
            return
        gradebook.add_submission(assignment, student)
    gradebook.grant_extension(assignment, student, days=days)


def duration_text(seconds: float, language: str) -> str:
    """ "2 days 3 h 05 min", in `language` (whole minutes, rounded up: a second late is a minute late)."""
    _ = translations(language).gettext
    minutes = math.ceil(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    clock = _("{hours} h {minutes} min").format(hours=hours, minutes=f"{minutes:02d}")
    return _("{days} d {clock}").format(days=days, clock=clock) if days else clock


def rules_lines(lateness: Lateness, language: str, policy: tuple = (), attempts: tuple | None = None) -> list[str]:
    """What a feedback or held page tells the student about the rules: the due date, their extension,
    how late and what it cost, and with the grading service's cap (attempts = (left, cap)) the graded
    attempts left today."""
    _ = translations(language).gettext
    lines = []
    if lateness.due:
        lines.append(_("Due date: {due}.").format(due=utc_text(lateness.due)))
    if lateness.due and lateness.extension:
        lines.append(
            _("Your extension: {extension}, so your own due date is {deadline}.").format(
                extension=duration_text(lateness.extension.total_seconds(), language),
                deadline=utc_text(lateness.deadline),
            )
        )
    if lateness.due and lateness.handed_in:
        if lateness.seconds_late > 0:
            lines.append(
                _("Handed in {handed_in}: late by {late}.").format(
                    handed_in=utc_text(lateness.handed_in), late=duration_text(lateness.seconds_late, language)
                )
            )
        else:
            lines.append(_("Handed in {handed_in}: on time.").format(handed_in=utc_text(lateness.handed_in)))
    if lateness.seconds_late > 0:
        lines.append(_("Late penalty: {penalty} points off your score.").format(penalty=f"{lateness.penalty:g}"))
    if lateness.due:
        lines += policy
    if attempts is not None:
        left, cap = attempts
        lines.append(_("Graded attempts left today (UTC): {left} of {cap}.").format(left=max(left, 0), cap=cap))
    return lines


def extend(root, student: str, assignments: list[str], days: float) -> int:
    """`python -m course extend`: grant the extension in the course's gradebook, after loading the roster;
    returns the exit status (2 for a student or an edition the gradebook does not know)."""
    from course.record.gradebook import db_url, import_roster

    url = db_url(root)
    import_roster(root, url)
    with Gradebook(url) as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission triggers harmless autoflush warnings
        try:
            gradebook.find_student(student)
            due = {assignment: gradebook.find_assignment(assignment).duedate for assignment in assignments}
        except MissingEntry as missing:
            print(
                f"not in the gradebook: {missing}. Students come from students.csv or `nbgrader db student add`; "
                "editions from `python -m course build`.",
                file=sys.stderr,
            )
            return 2
        for assignment in assignments:
            grant_extension(gradebook, student, assignment, days)
            extension = gradebook.find_submission(assignment, student).extension
            if extension is None:
                print(f"{student}: {assignment}: no extension, due {_due_text(due[assignment])}")
            else:
                until = utc_text(due[assignment] + extension) if due[assignment] else "the due date, once set"
                print(f"{student}: {assignment}: {days:g} days after {_due_text(due[assignment])}, until {until}")
    return 0


def _due_text(due: datetime | None) -> str:
    return utc_text(due) if due else "no due date yet (nbgrader db assignment add ... --duedate=...)"
