"""The translated editions' notebooks: the English source notebook with its text translated.

locale/<language>/Regularization.toml holds one entry per markdown cell of the English source
notebook, keyed by the cell's id:

    ["cell-03"]
    english = "<first 16 hex digits of the sha256 of the English text it translates>"
    text = '''<the translation>'''

Code cells are never translated: an edition's notebook is the English one with only the text of its
markdown cells replaced, so its code, grade cells and checksums are the English ones. An entry whose
`english` differs from the English cell's hash is stale: the English changed since it was translated.
"""

import copy
import hashlib
import tomllib
from pathlib import Path

from nbformat import NotebookNode

from course.layout import NOTEBOOK

MISSING, STALE, UNKNOWN = "missing", "stale", "no such markdown cell"


def english_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def catalogue_path(root: Path, language: str) -> Path:
    return Path(root) / "locale" / language / f"{NOTEBOOK}.toml"


def read_cell_translations(root: Path, language: str) -> dict:
    """{cell id: {"english": hash, "text": translation}}; {} when the language has no catalogue."""
    path = catalogue_path(root, language)
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def untranslated_cells(english: NotebookNode, catalogue: dict) -> dict[str, str]:
    """{cell id: MISSING, STALE or UNKNOWN} for every entry the catalogue lacks, has out of date, or
    has for a cell the English notebook does not have (as a markdown cell)."""
    markdown = {cell.id: cell.source for cell in english.cells if cell.cell_type == "markdown"}
    found = {cell_id: UNKNOWN for cell_id in catalogue if cell_id not in markdown}
    for cell_id, text in markdown.items():
        if cell_id not in catalogue:
            found[cell_id] = MISSING
        elif catalogue[cell_id]["english"] != english_hash(text):
            found[cell_id] = STALE
    return found


def translated_notebook(english: NotebookNode, catalogue: dict) -> NotebookNode:
    """A copy of the English notebook whose markdown cells have the catalogue's text; a cell without
    an entry keeps its English text (a stale entry is still used: an older translation reads better
    than a language switch mid-notebook)."""
    nb = copy.deepcopy(english)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.id in catalogue:
            cell.source = catalogue[cell.id]["text"].removesuffix("\n")
    return nb
