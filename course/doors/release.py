"""Releasing an edition with its due date written where a student looks first: the notebook's top.

release/ is built byte for byte from the source and holds no date; the due date is the gradebook's
(`nbgrader db assignment add <assignment> --duedate=...`), read when the assignment is handed to
students. nbgrader_config.py makes ReleaseWithDueDate the exchange's release step, so `nbgrader
release_assignment` (and Formgrader's Release button) copy the release as nbgrader does, then write the
due date and the late-penalty policy, in the edition's language, under the title of the notebook in the
exchange's outbound folder (its first markdown cell, which nbgrader does not lock).
`python -m course stamp DIR` does the same to a copy of the release handed out another way.
"""

import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment

from course.i18n.catalogue import translations
from course.layout import NOTEBOOK, edition
from course.rules import policy_sentences, utc_text


def due_date_text(config, url: str, assignment: str) -> str:
    """The paragraph the released notebook gets, in the edition's language; "" without a due date."""
    with Gradebook(url) as gradebook:
        try:
            due = gradebook.find_assignment(assignment).duedate
        except MissingEntry:
            due = None
    if due is None:
        return ""
    language = edition(assignment).language
    _ = translations(language).gettext
    due_line = _("**Due: {due}.** Your instructor may give you an extension; your feedback shows your own due date.")
    return " ".join([due_line.format(due=utc_text(due)), *policy_sentences(config, language)])


def write_due_date(folder: Path, text: str) -> None:
    """Add `text` as a paragraph under the title, the first line of the first markdown cell of the
    notebook in `folder`."""
    path = folder / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(path, as_version=4)
    first = next(cell for cell in nb.cells if cell.cell_type == "markdown")
    title, _, rest = first.source.partition("\n")
    first.source = f"{title}\n\n{text}\n\n{rest.lstrip()}".rstrip("\n")
    nbformat.write(nb, path)


class ReleaseWithDueDate(ExchangeReleaseAssignment):
    """nbgrader's release to the exchange, with the gradebook's due date written into the outbound copy."""

    def copy_files(self):
        super().copy_files()
        text = due_date_text(self.config, self.coursedir.db_url, self.coursedir.assignment_id)
        if text:
            write_due_date(Path(self.dest_path), text)
            self.log.info("Due date written into the released notebook: %s", text)


def stamp(root: Path, assignment: str, folder: Path) -> int:
    """`python -m course stamp`: the due date into a copy of the release; returns the exit status."""
    from course.layout import course_config
    from course.record.gradebook import db_url

    text = due_date_text(course_config(root), db_url(root), assignment)
    if not text:
        print(f"{assignment} has no due date in the gradebook: nothing written", file=sys.stderr)
        return 2
    write_due_date(folder, text)
    print(f"{folder / f'{NOTEBOOK}.ipynb'}: {text}")
    return 0
