"""The translated editions: complete and up to date with the English text, and identical to the
English edition in everything but the words of their markdown cells."""

import re
from collections import Counter

import nbformat
import pytest

from course.i18n.notebooks import MISSING, STALE, UNKNOWN, english_hash, read_cell_translations, untranslated_cells
from course.layout import ASSIGNMENT, EDITIONS, Stage
from tests import COURSE, COURSE_ROOT

TRANSLATED = [edition for edition in EDITIONS if edition.assignment != ASSIGNMENT]
IDS = [edition.assignment for edition in TRANSLATED]
# What a translation must keep exactly: fenced code, display and inline formulas, inline code, link targets.
KEPT = re.compile(r"```.*?```|\$\$.*?\$\$|\$[^$\n]+\$|`[^`]+`|\]\([^)\s]+\)", re.DOTALL)


def english():
    return nbformat.read(COURSE.notebook(Stage.SOURCE, None, ASSIGNMENT), as_version=4)


def edition_notebook(stage, assignment):
    return nbformat.read(COURSE.notebook(stage, None, assignment), as_version=4)


@pytest.mark.parametrize("edition", TRANSLATED, ids=IDS)
def test_every_markdown_cell_has_a_translation_of_its_current_english_text(edition):
    assert untranslated_cells(english(), read_cell_translations(COURSE_ROOT, edition.language)) == {}


def test_a_missing_a_stale_and_an_unknown_entry_are_each_found():
    nb = english()
    catalogue = {
        cell.id: {"english": english_hash(cell.source), "text": "..."}
        for cell in nb.cells
        if cell.cell_type == "markdown"
    }
    markdown = [cell for cell in nb.cells if cell.cell_type == "markdown"]
    del catalogue[markdown[0].id]
    markdown[1].source += " One more sentence."
    catalogue["no-such-cell"] = {"english": "0" * 16, "text": "..."}
    assert untranslated_cells(nb, catalogue) == {
        markdown[0].id: MISSING,
        markdown[1].id: STALE,
        "no-such-cell": UNKNOWN,
    }


@pytest.mark.parametrize("edition", TRANSLATED, ids=IDS)
def test_a_translation_keeps_every_formula_code_span_and_link_target(edition):
    catalogue = read_cell_translations(COURSE_ROOT, edition.language)
    for cell in english().cells:
        if cell.cell_type == "markdown":
            translated = catalogue[cell.id]["text"]
            assert Counter(KEPT.findall(translated)) == Counter(KEPT.findall(cell.source)), cell.id
            assert translated.strip() != cell.source.strip(), f"{cell.id} is not translated"


@pytest.mark.parametrize("stage", ["source", "release"])
@pytest.mark.parametrize("edition", TRANSLATED, ids=IDS)
def test_the_editions_differ_only_in_the_text_of_their_markdown_cells(edition, stage):
    """Same cells in the same order with the same ids and metadata (nbgrader's grade ids, points and
    checksums); the same code, character for character; the notebook's metadata the same."""
    original, translated = edition_notebook(stage, ASSIGNMENT), edition_notebook(stage, edition.assignment)
    assert translated.metadata == original.metadata
    assert [(c.id, c.cell_type, c.metadata) for c in translated.cells] == [
        (c.id, c.cell_type, c.metadata) for c in original.cells
    ]
    for ours, theirs in zip(original.cells, translated.cells):
        if ours.cell_type == "code":
            assert theirs.source == ours.source and theirs.outputs == ours.outputs, ours.id
    checksums = [c.metadata.nbgrader.get("checksum") for c in translated.cells if "nbgrader" in c.metadata]
    assert stage == "source" or any(checksums)  # the release's locked and graded cells carry checksums
