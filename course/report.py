"""Class results from the nbgrader gradebook and the autograded notebooks.

    write_report(root, notes=None) -> str
        writes grades.csv and report/ (index.html, scores.png, pass_rate.png) under the course
        root and returns the summary table text to print at the end of a grading run.
    summary(root, notes=None) -> str
        only the summary table.
    collect(root, notes=None) -> (exercises, results)
        what both are made from, for callers that want their own output.

notes maps a student id to a status note, a string or a list of them
({"not-json": "not a notebook: invalid JSON"}); noted students appear even when the gradebook does
not know them. Points come from the gradebook, as `nbgrader export` takes them; a student with no
submission there gets empty cells in grades.csv (ungraded in an LMS). The status says when a
submission has no autograded notebook on disk. Failure messages come from the error outputs of the
test cells in the autograded notebooks.
"""
import csv
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.style
import nbformat
from matplotlib.figure import Figure
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry

from course import ASSIGNMENT, NOTEBOOK
from course.gradebook import db_url

NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?!\w)", re.IGNORECASE)
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

    @property
    def key(self):
        """Same exercise and same mistake; numbers never split a group."""
        return self.exercise, NUMBER.sub("#", self.hint or self.first_line)


@dataclass
class StudentResult:
    student: str
    points: dict[str, float] | None  # by exercise label; None without a submission in the gradebook
    total: float | None
    status: str
    failures: list[Failure] = field(default_factory=list)

    def passed(self, exercises) -> list[Exercise]:
        return [ex for ex in exercises if self.points and self.points[ex.label] >= ex.max_score]


def points_text(value) -> str:
    """10.0 -> "10", 7.5 -> "7.5", None -> ""."""
    if value is None:
        return ""
    value = round(float(value), 2)
    return str(int(value)) if value.is_integer() else str(value)


def autograded_notebook(root: Path, student: str) -> Path:
    return Path(root) / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"


def notebook_order(root: Path) -> list[str]:
    """grade_ids in the order of the source notebook, which the gradebook does not keep."""
    source = Path(root) / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    if not source.exists():
        return []
    return [cell.metadata.nbgrader["grade_id"] for cell in nbformat.read(source, as_version=4).cells
            if utils.is_grade(cell)]


def failures_in(path: Path, exercises) -> list[Failure]:
    """The error of each failing test cell: its first line and its Hint line."""
    labels = {ex.grade_id: ex.label for ex in exercises}
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if not utils.is_grade(cell) or cell.metadata.nbgrader["grade_id"] not in labels:
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                lines = str(output.evalue).splitlines()
                first = f"{output.ename}: {lines[0]}" if lines else output.ename
                hint = next((line.strip() for line in lines if line.startswith("Hint:")), None)
                found.append(Failure(labels[cell.metadata.nbgrader["grade_id"]], first, hint))
    return found


def collect(root: Path, notes=None) -> tuple[list[Exercise], list[StudentResult]]:
    """Exercises in notebook order and one result per student, sorted by id."""
    root, notes = Path(root), dict(notes or {})
    order = notebook_order(root)
    with Gradebook(db_url(root)) as gradebook:
        cells = gradebook.find_notebook(NOTEBOOK, ASSIGNMENT).grade_cells
        cells = sorted(cells, key=lambda c: (order.index(c.name) if c.name in order else len(order), c.name))
        exercises = [Exercise(c.name, c.name.removeprefix("test_"), c.max_score) for c in cells]
        scores = {}  # student -> ({grade_id: score}, late penalty)
        for student in gradebook.students:
            try:
                submitted = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            scores[student.id] = ({g.name: g.score for g in submitted.grades},
                                  submitted.late_submission_penalty or 0)
        students = {student.id for student in gradebook.students} | set(notes)

    results = []
    for student in sorted(students):
        note = notes.get(student)
        note = "; ".join(note) if isinstance(note, (list, tuple)) else note
        if student not in scores:
            results.append(StudentResult(student, None, None, note or "no submission"))
            continue
        grades, penalty = scores[student]
        points = {ex.label: grades.get(ex.grade_id, 0.0) for ex in exercises}
        result = StudentResult(student, points, sum(points.values()) - penalty, "")
        path = autograded_notebook(root, student)
        if path.exists():
            result.failures = failures_in(path, exercises)
            status = f"{len(result.passed(exercises))}/{len(exercises)} passed"
            if penalty:
                status += f", late penalty {points_text(penalty)}"
            result.status = f"{status}; {note}" if note else status
        else:
            result.status = note or "no autograded notebook"
        results.append(result)
    return exercises, results


def write_grades_csv(path: Path, exercises, results) -> Path:
    """student_id, one column per exercise, total, max_total; a header row and one row per student."""
    max_total = points_text(sum(ex.max_score for ex in exercises))
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["student_id", *(ex.label for ex in exercises), "total", "max_total"])
        for result in results:
            points = [points_text(result.points[ex.label]) if result.points else "" for ex in exercises]
            writer.writerow([result.student, *points, points_text(result.total), max_total])
    return path


def failure_groups(exercises, results) -> list[tuple[Failure, list[str]]]:
    """(an example failure, the students who made it), most frequent first, then in notebook order."""
    order = [ex.label for ex in exercises]
    groups = {}
    for result in results:
        for failure in result.failures:
            groups.setdefault(failure.key, (failure, []))[1].append(result.student)
    return sorted(groups.values(),
                  key=lambda group: (-len(group[1]), order.index(group[0].exercise), group[0].key[1]))


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, **PNG_OPTIONS)
    return path


def plot_scores(path: Path, exercises, results) -> Path:
    """Histogram of totals, one bar per possible total when exercises score all or nothing."""
    totals = [r.total for r in results if r.total is not None]
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
    graded = [r for r in results if r.points is not None]
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


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>\n" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}</table>\n"


def write_html(folder: Path, exercises, results) -> Path:
    """report/index.html beside its two charts; static, no script, relative links only."""
    folder.mkdir(parents=True, exist_ok=True)
    plot_scores(folder / "scores.png", exercises, results)
    plot_pass_rate(folder / "pass_rate.png", exercises, results)
    failures = [(html.escape(f.exercise),
                 html.escape(NUMBER.sub("#", f.first_line)) + (f"<br><i>{html.escape(f.hint)}</i>" if f.hint else ""),
                 len(students), html.escape(", ".join(students)))
                for f, students in failure_groups(exercises, results)]
    students = [(html.escape(r.student),
                 *(points_text(r.points[ex.label]) if r.points else "" for ex in exercises),
                 points_text(r.total), html.escape(r.status)) for r in results]
    graded = [r.total for r in results if r.total is not None]
    mean = points_text(sum(graded) / len(graded)) if graded else "-"
    max_total = points_text(sum(ex.max_score for ex in exercises))
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{ASSIGNMENT}: class report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 70em; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }}
</style>
</head>
<body>
<h1>{ASSIGNMENT}: class report</h1>
<p>{len(results)} students, {len(graded)} graded, mean total {mean} of {max_total}.</p>
<h2>Scores</h2>
<p><img src="scores.png" alt="histogram of total scores"></p>
<h2>Pass rate per exercise</h2>
<p><img src="pass_rate.png" alt="share of students with full points per exercise"></p>
<h2>Most frequent failures</h2>
<p>First line of each failing test's error (numbers shown as #), grouped by its hint where the test gave one.</p>
{_table(["exercise", "failure", "count", "students"], failures) if failures else "<p>No test failed.</p>"}
<h2>Students</h2>
{_table(["student", *(ex.label for ex in exercises), "total", "status"], students)}</body>
</html>
"""
    (folder / "index.html").write_text(page, encoding="utf-8")
    return folder / "index.html"


def summary_text(exercises, results) -> str:
    """Fixed-width table: student, points per exercise (ex1...), total, status; then the legend."""
    labels = [f"ex{i}" for i in range(1, len(exercises) + 1)]
    max_total = points_text(sum(ex.max_score for ex in exercises))
    rows = [["student", *labels, "total", "status"]]
    for r in results:
        points = [points_text(r.points[ex.label]) if r.points else "-" for ex in exercises]
        total = f"{points_text(r.total)}/{max_total}" if r.total is not None else "-"
        rows.append([r.student, *points, total, r.status])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join([row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:-1], widths[1:])), row[-1]])
             for row in rows]
    lines += [f"{label} = {ex.label}" for label, ex in zip(labels, exercises)]
    return "\n".join(line.rstrip() for line in lines)


def summary(root: Path, notes=None) -> str:
    """The summary table, without writing anything."""
    return summary_text(*collect(root, notes))


def write_report(root: Path, notes=None) -> str:
    """Write grades.csv and report/ under root; return the summary table."""
    root = Path(root)
    exercises, results = collect(root, notes)
    write_grades_csv(root / "grades.csv", exercises, results)
    write_html(root / "report", exercises, results)
    return summary_text(exercises, results)
