"""Feedback for students: nbgrader's own HTML feedback page, minus the hidden tests.

    render_feedback(nb, student, assignment, language) -> bytes    the page of one autograded notebook
    with_rules(page, lines) -> bytes                                 the course's rules in a box under its title
    save_feedback(root, student, page, assignment) -> Path          where nbgrader release_feedback finds it

The page is what nbgrader's GenerateFeedback writes, byte for byte, but rendered without a
gradebook: the scores come from the autograded notebook itself (ScoresFromGrading), so a grading
worker renders it beside the notebook and the recording process only saves it. Two small
preprocessors are added: one replaces each hidden-test block with a comment, one cuts error
tracebacks in grade cells down to "ExceptionName: message" (IPython prints the source lines of
every frame).

The page speaks the language of the assignment's edition: its labels come from nbgrader's template
run through gettext (templates/feedback_translated), with the course's catalogue in locale/. In
English it is nbgrader's page unchanged.
"""

import functools
import html
from pathlib import Path

import nbgrader
from nbconvert.exporters import HTMLExporter
from nbconvert.filters import Highlight2HTML
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode
from traitlets.config import Config

from course.i18n.catalogue import N_, SOURCE_LANGUAGE, translations
from course.layout import NOTEBOOK, Course

FORMGRADER = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
TEMPLATES = Path(__file__).resolve().parent / "templates"


NO_RESPONSE = N_("No response.")
HIDDEN_TESTS_PLACEHOLDER = N_("# hidden tests are not shown")


class ScoresFromGrading(NbGraderPreprocessor):
    """Put into the cells what nbgrader's GetGrades would copy from the gradebook after autograding:
    each grade cell's score, and "No response." on a solution cell left as released."""

    no_response = Unicode(NO_RESPONSE).tag(config=True)

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        graded = [cell.metadata.nbgrader for cell in nb.cells if utils.is_grade(cell)]
        penalty = resources["nbgrader"].setdefault("late_penalty", 0)  # as GetGrades reads it from the gradebook
        resources["nbgrader"].update(
            score=sum(cell["score"] for cell in graded) - penalty,
            max_score=sum(cell["points"] for cell in graded),
        )
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if utils.is_solution(cell):
            unchanged = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
            cell.metadata.nbgrader["comment"] = self.no_response if unchanged else None
        if utils.is_grade(cell):
            cell.metadata.nbgrader["score"], cell.metadata.nbgrader["points"] = utils.determine_grade(cell)
        return cell, resources


class HideHiddenTests(NbGraderPreprocessor):
    """Replace every BEGIN/END HIDDEN TESTS block with one comment line, so students see
    that more tests ran without seeing them."""

    begin_delimiter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_delimiter = Unicode("END HIDDEN TESTS").tag(config=True)
    placeholder = Unicode(HIDDEN_TESTS_PLACEHOLDER).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        lines, hiding = [], False
        for line in cell.source.split("\n"):
            if self.begin_delimiter in line:
                hiding = True
                indent = line[: len(line) - len(line.lstrip())]
                lines.append(indent + self.placeholder)
            elif self.end_delimiter in line:
                hiding = False
            elif not hiding:  # an unterminated block hides the rest of the cell
                lines.append(line)
        cell.source = "\n".join(lines)
        return cell, resources


class ShortenGradeCellErrors(NbGraderPreprocessor):
    """Replace the traceback of each error in a grade cell by "ExceptionName: message":
    the message is the feedback, the frames would quote hidden-test lines."""

    def preprocess_cell(self, cell, resources, index):
        if utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}" if output.evalue else output.ename]
        return cell, resources


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter with its code highlighting remembered, page after page: most code cells
    are the release's, the same on every student's page, and highlighting them is a fifth of a page's
    rendering. A highlighted cell depends only on what the key holds, so the page is the same."""

    def register_filter(self, name, jinja_filter):
        if name == "highlight_code" and isinstance(jinja_filter, Highlight2HTML):  # registered for each page
            lexer = jinja_filter.pygments_lexer

            def jinja_filter(source, language=None, metadata=None):
                return self._highlighted(lexer, source, language, (metadata or {}).get("magics_language"))

        return super().register_filter(name, jinja_filter)

    @functools.lru_cache(maxsize=1024)  # noqa: B019 (one exporter per language, kept for the process's life)
    def _highlighted(self, lexer, source, language, magics_language) -> str:
        metadata = {"magics_language": magics_language} if magics_language else None
        return Highlight2HTML(pygments_lexer=lexer, parent=self)(source, language, metadata)


@functools.cache
def _feedback_exporter(language: str) -> HTMLExporter:
    """nbgrader's feedback template and styles, as its GenerateFeedback converter sets them up, with the
    template's labels and the two texts added here in `language`."""
    catalogue = translations(language)
    config = Config()
    config.HTMLExporter.template_name = "feedback_translated"
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(FORMGRADER / "templates")]
    config.HTMLExporter.extra_template_paths = [
        str(FORMGRADER / "static" / "node_modules" / "bootstrap" / "dist" / "css"),
        str(FORMGRADER / "templates"),  # where templates/feedback_translated finds 'feedback/index.html.j2'
    ]
    config.CSSHTMLHeaderPreprocessor.style = "default"
    config.HTMLExporter.optimistic_validation = True  # validate once, after the last step, not after each
    config.ScoresFromGrading.no_response = catalogue.gettext(NO_RESPONSE)
    config.HideHiddenTests.placeholder = catalogue.gettext(HIDDEN_TESTS_PLACEHOLDER)
    exporter = FeedbackExporter(config=config)
    for preprocessor in (ScoresFromGrading, HideHiddenTests, ShortenGradeCellErrors, CSSHTMLHeaderPreprocessor):
        exporter.register_preprocessor(preprocessor, enabled=True)
    exporter.environment.add_extension("jinja2.ext.i18n")
    exporter.environment.install_gettext_translations(catalogue, newstyle=False)
    return exporter


def render_feedback(
    nb, student: str, assignment: str, language: str = SOURCE_LANGUAGE, late_penalty: float = 0
) -> bytes:
    """The feedback page of one autograded notebook, in `language` (a locale code such as zh_CN), with
    the late penalty the gradebook holds taken off its score, as nbgrader's page shows it."""
    resources = {
        "nbgrader": {"notebook": NOTEBOOK, "assignment": assignment, "student": student, "late_penalty": late_penalty},
        "metadata": {"name": NOTEBOOK},
    }
    page, _resources = _feedback_exporter(language).from_notebook_node(nb, resources=resources)
    return page.encode("utf-8")


def with_rules(page: bytes, lines: list[str]) -> bytes:
    """The feedback page with `lines` (the rules: due date, extension, lateness, attempts) in a box
    under its title (nbgrader's page loads Bootstrap)."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    box = f'<div class="alert alert-info" role="note" id="rules">{paragraphs}</div>\n'
    source = page.decode("utf-8")
    for anchor in ("</h4>\n", "<body>\n"):
        if anchor in source:
            at = source.index(anchor) + len(anchor)
            return (source[:at] + box + source[at:]).encode("utf-8")
    return (box + source).encode("utf-8")


def save_feedback(root: Path, student: str, page: bytes, assignment: str) -> Path:
    path = Course(root).feedback_page(student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(page)
    return path
