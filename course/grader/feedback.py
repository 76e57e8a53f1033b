"""Feedback for students: nbgrader's own HTML feedback page, minus the hidden tests.

    render_feedback(nb, student, assignment, language) -> bytes    the page of one autograded notebook
    with_rules(page, lines) -> bytes                                 the course's rules in a box under its title
    save_feedback(root, student, page, assignment) -> Path          where nbgrader release_feedback finds it

The page is what nbgrader's GenerateFeedback writes, byte for byte, but rendered without a
gradebook: the scores come from the autograded notebook itself (ScoresFromGrading), so a grading
worker renders it beside the notebook and the recording process only saves it (FeedbackExporter
remembers, page after page, the work that is the same on every page). Two small
preprocessors are added: one replaces each hidden-test block with a comment, one cuts error
tracebacks in grade cells down to "ExceptionName: message" (IPython prints the source lines of
every frame).

The page speaks the language of the assignment's edition: its labels come from nbgrader's template
run through gettext (templates/feedback_translated), with the course's catalogue in locale/. In
English it is nbgrader's page unchanged.
"""

import functools
import html
import secrets
from html.parser import HTMLParser
from pathlib import Path

import nbgrader
from bs4 import BeautifulSoup
from jinja2 import pass_context
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


REMEMBERED_CELL_CHARS = 128 * 1024  # a larger cell's HTML is not kept (the release's largest, a plot, is 100 KiB)
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


class OpenTags(HTMLParser):
    """The tags an HTML text opens, as BeautifulSoup's html.parser builder nests them (it never closes a tag
    by itself, an element it knows as empty has no end, and a self-closed one, `<br/>`, is whole).
    `balanced` tells whether the text closes every tag it opens, in order, and nothing else;
    `ends_in_markup` whether it starts and ends with markup, not text (a string there would merge with
    its neighbour's)."""

    EMPTY = BeautifulSoup("", "html.parser").builder.empty_element_tags

    def __init__(self, text: str):
        super().__init__()
        self.stack, self.balanced = [], True
        self.first_is_text = self.last_is_text = None  # of the tokens read; None before the first
        self.feed(text)
        self.balanced = self.balanced and not self.stack and not self.rawdata  # no tag left open or unfinished
        self.ends_in_markup = self.first_is_text is False and self.last_is_text is False

    def _token(self, is_text: bool):
        if self.first_is_text is None:
            self.first_is_text = is_text
        self.last_is_text = is_text

    def handle_starttag(self, tag, attrs):
        self._token(False)
        if tag not in self.EMPTY:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._token(False)

    def handle_endtag(self, tag):
        self._token(False)
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.balanced = False

    def handle_comment(self, data):
        self._token(False)

    def handle_data(self, data):
        self._token(True)


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter, with what it does to every page remembered from page to page: most cells are
    the release's, the same on every student's page.

    Highlighting and markdown: a code cell's highlighting, a markdown cell's HTML depend only on what the keys
    of `_highlighted` and `_markdown_html` hold.

    BeautifulSoup's pass: nbconvert parses the whole page with BeautifulSoup and prints it again (adding alt
    texts to images, tabindexes under .jp-Notebook), most of a page's rendering. Here the template hands each
    cell's HTML to `_cell_html`, which leaves a placeholder comment in its place, so nbconvert's pass runs over
    the page's frame alone; each cell goes through the same pass on its own, remembered, and is put back.
    That is the page the whole pass makes when nothing can tell the two apart:
    - each cell starts and ends with markup and closes every tag it opens, so it parses the same wherever
      it stands (the frame around the cells is the template's markup, which holds no cell in a pre,
      textarea, script, style or template, where BeautifulSoup treats text apart);
    - no .jp-Notebook class is on the page (its descendants anywhere get a tabindex).
    Otherwise the page is rendered again, whole, as nbconvert renders it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._placeholder = f"feedback-cell-{secrets.token_hex(8)}"  # never in a page: put back or re-rendered
        self._cells = None  # while a page renders in parts: the cells' HTML, in order

    def default_filters(self):
        yield from super().default_filters()
        yield ("cell_html", self._cell_html)

    def _cell_html(self, cell_html: str) -> str:
        """The cell's HTML, or while a page renders in parts, the placeholder with the whitespace around it
        (BeautifulSoup's pass makes one string of it with its neighbour's)."""
        inner = cell_html.strip()
        if self._cells is None or not inner:
            return cell_html
        self._cells.append(inner)
        start, end = len(cell_html) - len(cell_html.lstrip()), len(cell_html.rstrip())
        return f"{cell_html[:start]}<!--{self._placeholder}-->{cell_html[end:]}"

    def from_notebook_node(self, nb, resources=None, **kw):
        self._cells = []
        try:
            frame, frame_resources = super().from_notebook_node(nb, resources, **kw)
            cells = self._cells
        finally:
            self._cells = None
        if (page := self._spliced(frame, cells)) is not None:
            return page, frame_resources
        return super().from_notebook_node(nb, resources, **kw)

    def _spliced(self, frame: str, cells: list[str]) -> str | None:
        """The page with each cell's own pass put back in its place, or None where that may differ."""
        pieces = frame.split(f"<!--{self._placeholder}-->")
        if len(pieces) != len(cells) + 1 or "jp-Notebook" in frame or any("jp-Notebook" in cell for cell in cells):
            return None
        passed = [self._after_soup(cell) for cell in cells]
        if None in passed:
            return None
        return "".join(piece for pair in zip(pieces, [*passed, ""]) for piece in pair)

    def _after_soup(self, cell_html: str) -> str | None:
        return _soup_pass(cell_html) if len(cell_html) > REMEMBERED_CELL_CHARS else self._remembered(cell_html)

    @functools.lru_cache(maxsize=256)  # noqa: B019 (one exporter per language, kept for the process's life)
    def _remembered(self, cell_html: str) -> str | None:
        return _soup_pass(cell_html)

    @pass_context
    def markdown2html(self, context, source):
        """nbconvert's markdown cell, remembered; a cell's attachments, which it may embed, are not in the key."""
        if context.get("cell", {}).get("attachments"):
            return super().markdown2html(context, source)
        return self._markdown_html(source, context.get("resources", {}).get("metadata", {}).get("path", ""))

    @functools.lru_cache(maxsize=1024)  # noqa: B019 (one exporter per language, kept for the process's life)
    def _markdown_html(self, source: str, path: str) -> str:
        return super().markdown2html({"resources": {"metadata": {"path": path}}}, source)

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


def _soup_pass(cell_html: str) -> str | None:
    """One cell through nbconvert's BeautifulSoup pass (the tabindexes aside: no .jp-Notebook here),
    or None if it does not start and end with markup and close every tag it opens."""
    tags = OpenTags(cell_html)
    if not (tags.balanced and tags.ends_in_markup):
        return None
    soup = BeautifulSoup(cell_html, features="html.parser")
    for image in soup.select("img:not([alt])"):
        image.attrs["alt"] = "No description has been provided for this image"  # nbconvert's words
    return str(soup)


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
