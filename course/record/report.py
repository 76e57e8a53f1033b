"""Class results from the nbgrader gradebook, the grader's records and the autograded notebooks.

    write_report(root) -> (exercises, results)
        writes grades.csv and report/ (index.html, scores.png, pass_rate.png) under the course
        root and returns what they were made from.
    summary_text(exercises, results) -> str
        the table printed at the end of a grading run.
    collect(root) -> (exercises, results)
        what all of these are made from, for callers that want their own output.

Points come from the gradebook, as `nbgrader export` takes them; a student with no submission there
gets empty cells in grades.csv (ungraded in an LMS). Each edition is an assignment of its own in the
gradebook: a submission's row says which edition (its language) the student handed in. What needs
the instructor's attention (a file that is not a notebook, a dead kernel, a test stopped by the
timeout, a grading error) comes from the grader's record of each student's last grading, with the
reason in words and what to do; the report shows it first. A submission that could not be graded at
all scores 0 but is not counted as graded. Failure messages come from the error outputs of the test
cells in the autograded notebooks.
"""

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import matplotlib.style
import nbformat
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from matplotlib.figure import Figure
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry

from course.grader.judge import WRONG_PART, judged
from course.grader.parts import configured_points
from course.i18n.catalogue import SOURCE_LANGUAGE, translations
from course.layout import (
    ASSIGNMENT,
    EDITIONS,
    GRADES_CSV,
    NOTEBOOK,
    REPORT_DIR,
    Course,
    Stage,
    edition,
    submission_name,
)
from course.record import last_graded
from course.record.attention import NOTHING_GRADED, Attention, attention_rows, needs_attention
from course.record.gradebook import db_url
from course.rules import lateness_of
from course.service import journal

HINT = "Hint: {hint}"  # the message public_tests.py puts a hint in
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?!\w)", re.IGNORECASE)
FAILURE_COLUMNS = ["exercise", "wrong parts", "failure", "count", "students"]
TEMPLATES = Path(__file__).resolve().parent / "templates"
PNG_OPTIONS = {"dpi": 100, "metadata": {"Software": None}}  # no version stamp: re-runs give the same bytes


@dataclass
class Exercise:
    grade_id: str
    label: str  # the graded function's name
    max_score: float


@dataclass
class Failure:
    exercise: str
    first_line: str  # "AssertionError: <function>: ..."
    hint: str | None  # "Hint: ..." when the test gave one
    parts: tuple = ()  # the parts of the exercise it got wrong, with partial credit

    @property
    def key(self):
        """Same exercise, same wrong parts and same mistake; numbers never split a group."""
        return self.exercise, self.parts, NUMBER.sub("#", self.hint or self.first_line)


@dataclass
class StudentResult:
    student: str
    assignment: str | None  # the edition handed in; None without a submission
    points: dict[str, float] | None  # by exercise label; None without a submission in the gradebook
    total: float | None
    status: str
    failures: list[Failure] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    attempts: int | None = None  # submissions the grading service graded; None without its journal
    seconds_late: float = 0.0  # after the due date plus the student's extension (nbgrader's total_seconds_late)
    penalty: float = 0.0  # points lateness cost, already taken off the total

    @property
    def graded(self) -> bool:
        """Whether the points were earned by grading, rather than a 0 for what could not be graded."""
        return self.points is not None and not any(item.kind in NOTHING_GRADED for item in self.attention)

    @property
    def language(self) -> str:
        return edition(self.assignment).language if self.assignment else ""

    def passed(self, exercises) -> list[Exercise]:
        return [ex for ex in exercises if self.points and self.points[ex.label] >= ex.max_score]


def points_text(value) -> str:
    """10.0 -> "10", 7.5 -> "7.5", None -> ""."""
    if value is None:
        return ""
    value = round(float(value), 2)
    return str(int(value)) if value.is_integer() else str(value)


def notebook_order(root: Path) -> list[str]:
    """grade_ids in the order of the source notebook, which the gradebook does not keep."""
    source = Course(root).notebook(Stage.SOURCE, None, ASSIGNMENT)
    if not source.exists():
        return []
    return [
        cell.metadata.nbgrader["grade_id"] for cell in nbformat.read(source, as_version=4).cells if utils.is_grade(cell)
    ]


def failures_in(path: Path, exercises, parts=None, language: str = SOURCE_LANGUAGE) -> list[Failure]:
    """The error of each failing test cell, or the failure a partly right one printed: its first line, its
    Hint line and, from the list of parts (in the edition's `language`), the parts of `parts`
    ({exercise: {part: points}}) it got wrong."""
    labels = {ex.grade_id: ex.label for ex in exercises}
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if not utils.is_grade(cell) or cell.metadata.nbgrader["grade_id"] not in labels:
            continue
        label = labels[cell.metadata.nbgrader["grade_id"]]
        failure, listing = judged(cell)
        errors = [
            f"{output.ename}: {output.evalue}" for output in cell.get("outputs", []) if output.output_type == "error"
        ]
        wrong = tuple(
            part
            for part, points in (parts or {}).get(label, {}).items()
            if _wrong_part_line(part, points, language) in listing
        )
        for text in errors or [failure] * bool(failure):
            name, _separator, message = text.partition(": ")
            lines = message.splitlines()
            first = f"{name}: {lines[0]}" if lines else name
            hint = next((line.strip() for line in lines if line.startswith(_hint_prefixes())), None)
            found.append(Failure(label, first, hint, wrong))
    return found


def _wrong_part_line(part: str, points: float, language: str) -> str:
    """How the list of parts starts the line of a wrong part, in `language`."""
    line = translations(language).gettext(WRONG_PART).format(part=part, points="0", max_points=f"{points:g}", reason="")
    return "\n" + line


@cache
def _hint_prefixes() -> tuple[str, ...]:
    """How a test's hint line starts in each edition's language ("Hint: ", "提示：")."""
    return tuple(sorted({translations(e.language).gettext(HINT).split("{hint}")[0] for e in EDITIONS}))


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def collect(root: Path) -> tuple[list[Exercise], list[StudentResult]]:
    """Exercises in notebook order (the same grade cells in every edition) and one result per
    submission, by student then edition, or per student without one."""
    root = Path(root)
    order = notebook_order(root)
    with Gradebook(db_url(root)) as gradebook:
        cells = gradebook.find_notebook(NOTEBOOK, ASSIGNMENT).grade_cells
        cells = sorted(cells, key=lambda c: (order.index(c.name) if c.name in order else len(order), c.name))
        exercises = [Exercise(c.name, c.name.removeprefix("test_"), c.max_score) for c in cells]
        scores = {}  # (student, assignment) -> ({grade_id: score}, lateness)
        for student in gradebook.students:
            for edition_ in EDITIONS:
                try:
                    submitted = gradebook.find_submission_notebook(NOTEBOOK, edition_.assignment, student.id)
                except MissingEntry:
                    continue
                if not any(g.auto_score is not None or g.manual_score is not None for g in submitted.grades):
                    continue  # a row that only holds an extension: nothing handed in yet
                scores[student.id, edition_.assignment] = (
                    {g.name: g.score for g in submitted.grades},
                    lateness_of(gradebook, student.id, edition_.assignment, NOTEBOOK),
                )
        students = sorted(student.id for student in gradebook.students)

    attempts = journal.attempts(root)
    results = []
    for student in students:
        handed_in = [edition_.assignment for edition_ in EDITIONS if (student, edition_.assignment) in scores]
        if not handed_in:
            tries = None if attempts is None else 0
            results.append(StudentResult(student, None, None, None, "no submission", attempts=tries))
        for assignment in handed_in:
            attention = needs_attention(student, assignment, last_graded.read(root, student, assignment))
            results.append(_result(root, student, assignment, scores[student, assignment], exercises, attention))
            if attempts is not None:
                results[-1].attempts = attempts.get((student, assignment), 0)
    return exercises, results


def _result(root: Path, student: str, assignment: str, scores, exercises, attention) -> StudentResult:
    """One submission's result from its grades in the gradebook and its autograded notebook."""
    kinds = ", ".join(item.kind for item in attention)
    grades, lateness = scores
    penalty = lateness.penalty
    points = {ex.label: grades.get(ex.grade_id, 0.0) for ex in exercises}
    result = StudentResult(student, assignment, points, sum(points.values()) - penalty, "", attention=attention)
    result.seconds_late, result.penalty = lateness.seconds_late, penalty
    path = Course(root).notebook(Stage.AUTOGRADED, student, assignment)
    if not result.graded:
        result.status = f"not graded: {kinds}"
    elif path.exists():
        parts = configured_points(root, {ex.label: ex.max_score for ex in exercises})
        result.failures = failures_in(path, exercises, parts, result.language)
        status = f"{len(result.passed(exercises))}/{len(exercises)} passed"
        if lateness.seconds_late:
            status += f", late by {hours_late(lateness.seconds_late)} h (penalty {points_text(penalty)})"
        result.status = f"{status}; {kinds}" if kinds else status
    else:
        result.status = "no autograded notebook"
    return result


def hours_late(seconds: float) -> str:
    """Hours late, to the minute: 5400 -> "1.5"."""
    return f"{seconds / 3600:.2f}".rstrip("0").rstrip(".")


def with_lateness(results) -> bool:
    """Whether some submission was late (then grades.csv and the report say how late and what it cost)."""
    return any(result.seconds_late for result in results)


def with_attempts(results) -> bool:
    """Whether the grading service's journal counted attempts (then grades.csv and the report show them)."""
    return any(result.attempts is not None for result in results)


def write_grades_csv(path: Path, exercises, results) -> Path:
    """student_id, edition (the language of the edition handed in), one column per exercise, total
    (late penalty taken off), max_total (then hours_late and late_penalty when a submission was late,
    and attempts with the grading service's journal); a header row and one row per submission, or per
    student without one."""
    max_total = points_text(sum(ex.max_score for ex in exercises))
    attempts, late = with_attempts(results), with_lateness(results)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        header = ["student_id", "edition", *(ex.label for ex in exercises), "total", "max_total"]
        writer.writerow(header + ["hours_late", "late_penalty"] * late + ["attempts"] * attempts)
        for result in results:
            points = [points_text(result.points[ex.label]) if result.points else "" for ex in exercises]
            row = [result.student, result.language, *points, points_text(result.total), max_total]
            lateness = [hours_late(result.seconds_late), points_text(result.penalty)] if result.points else ["", ""]
            writer.writerow(row + lateness * late + [str(result.attempts or 0)] * attempts)
    return path


def failure_groups(exercises, results) -> list[tuple[Failure, list[str]]]:
    """(an example failure, the students who made it), most frequent first, then in notebook order."""
    order = [ex.label for ex in exercises]
    groups = {}
    for result in results:
        for failure in result.failures:
            groups.setdefault(failure.key, (failure, []))[1].append(submission_name(result.student, result.assignment))
    return sorted(groups.values(), key=lambda group: (-len(group[1]), order.index(group[0].exercise), group[0].key[1]))


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, **PNG_OPTIONS)
    return path


def plot_scores(path: Path, exercises, results) -> Path:
    """Histogram of totals, one bar per possible total when exercises score all or nothing."""
    totals = [r.total for r in results if r.graded]
    step = min(ex.max_score for ex in exercises)
    top = sum(ex.max_score for ex in exercises)
    with matplotlib.style.context("default"):
        figure = Figure(figsize=(6, 3.5))
        axes = figure.subplots()
        edges = [step * i - step / 2 for i in range(int(top // step) + 2)]
        axes.hist(totals, bins=edges, rwidth=0.8, color="#4477aa")
        axes.set_xticks([step * i for i in range(int(top // step) + 1)])
        axes.set_xlabel(f"total points (of {points_text(top)})")
        axes.set_ylabel("students")
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_title(f"Scores of {len(totals)} graded students")
        return _save(figure, path)


def plot_pass_rate(path: Path, exercises, results) -> Path:
    """Share of graded students with full points, per exercise."""
    graded = [r for r in results if r.graded]
    rates = [100 * sum(ex in r.passed(exercises) for r in graded) / max(len(graded), 1) for ex in exercises]
    with matplotlib.style.context("default"):
        figure = Figure(figsize=(8, 0.6 * len(exercises) + 1.2))
        axes = figure.subplots()
        labels = [ex.label for ex in exercises][::-1]  # first exercise on top
        axes.barh(labels, rates[::-1], color="#228833")
        for y, rate in enumerate(rates[::-1]):
            axes.text(min(rate + 1, 88), y, f"{rate:.0f}%", va="center")
        axes.set_xlim(0, 100)
        axes.set_xlabel(f"students with full points (%), of {len(graded)} graded")
        return _save(figure, path)


def _breakable(name: str) -> Markup:
    """A long snake_case name that may wrap after its underscores, so that tables fit the window."""
    return Markup("_<wbr>").join(name.split("_"))


def _failure_cell(failure: Failure) -> Markup | str:
    """The error's first line, numbers shown as #, and its hint below it in italics."""
    first_line = NUMBER.sub("#", failure.first_line)
    return Markup("{}<br><i>{}</i>").format(first_line, failure.hint) if failure.hint else first_line


@cache
def _page_template():
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment.get_template("report.html.j2")


def write_html(folder: Path, exercises, results, refused=()) -> Path:
    """report/index.html beside its two charts (PNG, so that the page survives e-mail and LMS pages);
    static, no script, relative links only, and no wider than a 1280-pixel window."""
    folder.mkdir(parents=True, exist_ok=True)
    plot_scores(folder / "scores.png", exercises, results)
    plot_pass_rate(folder / "pass_rate.png", exercises, results)
    failures = [
        (
            _breakable(f.exercise),
            ", ".join(f.parts),
            Markup("{}<br><i>{}</i>").format(NUMBER.sub("#", f.first_line), f.hint)
            if f.hint
            else NUMBER.sub("#", f.first_line),
            len(students),
            ", ".join(students),
        )
        for f, students in failure_groups(exercises, results)
    ]
    attempts, late = with_attempts(results), with_lateness(results)
    student_columns = ["student", "edition", *(_breakable(ex.label) for ex in exercises), "total"]
    student_columns += ["hours late", "late penalty"] * late + ["attempts"] * attempts + ["status"]
    students = [
        (
            r.student,
            r.language,
            *(points_text(r.points[ex.label]) if r.points else "" for ex in exercises),
            points_text(r.total),
            *([hours_late(r.seconds_late), points_text(r.penalty)] if late and r.points else [""] * 2 * late),
            *([str(r.attempts or 0)] if attempts else []),
            r.status,
        )
        for r in results
    ]
    graded = [r.total for r in results if r.graded]
    not_graded = sum(r.points is not None and not r.graded for r in results)
    missing = sum(r.points is None for r in results)
    counts = [f"{len(graded)} graded"]
    if not_graded:
        counts.append(f"{not_graded} not graded (see Needs attention)")
    if missing:
        counts.append(f"{missing} without a submission")
    handed_in = [sum(r.assignment == e.assignment for r in results) for e in EDITIONS]
    counts.append("editions: " + ", ".join(f"{n} {e.language}" for n, e in zip(handed_in, EDITIONS)))
    max_total = points_text(sum(ex.max_score for ex in exercises))
    mean = f"; mean total of the graded {points_text(sum(graded) / len(graded))} of {max_total}" if graded else ""
    attention = attention_rows(results)
    page = _page_template().render(
        assignment=ASSIGNMENT,
        rows=len(results),
        counts=counts,
        mean=mean,
        attention=[
            (submission_name(result.student, result.assignment), item.kind, _sentence(item.reason), item.what_to_do)
            for result, item in attention
        ],
        attention_students=len({result.student for result, _ in attention}),
        refused=refused,
        failure_columns=FAILURE_COLUMNS,
        failures=failures,
        student_columns=student_columns,
        students=students,
    )
    (folder / "index.html").write_text(page, encoding="utf-8")
    return folder / "index.html"


def summary_text(exercises, results) -> str:
    """Fixed-width table: student, edition, points per exercise (ex1...), total, status; then the legend."""
    labels = [f"ex{i}" for i in range(1, len(exercises) + 1)]
    max_total = points_text(sum(ex.max_score for ex in exercises))
    rows = [["student", "edition", *labels, "total", "status"]]
    for r in results:
        points = [points_text(r.points[ex.label]) if r.points else "-" for ex in exercises]
        total = f"{points_text(r.total)}/{max_total}" if r.total is not None else "-"
        rows.append([r.student, r.language or "-", *points, total, r.status])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(row[:2], widths)), *(c.rjust(w) for c, w in zip(row[2:-1], widths[2:]))]
            + [row[-1]]
        )
        for row in rows
    ]
    lines += [f"{label} = {ex.label}" for label, ex in zip(labels, exercises)]
    return "\n".join(line.rstrip() for line in lines)


def write_report(root: Path) -> tuple[list[Exercise], list[StudentResult]]:
    """Write grades.csv and report/ under root; return what they were made from."""
    root = Path(root)
    exercises, results = collect(root)
    write_grades_csv(root / GRADES_CSV, exercises, results)
    write_html(root / REPORT_DIR, exercises, results, journal.refused(root))
    return exercises, results
