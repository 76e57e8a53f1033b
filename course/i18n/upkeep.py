"""The message catalogue: what students read, extracted from the code with Babel, translated in a .po.

    extract(root) -> Catalog        every message marked with _() or N_() in the helpers students get,
                                    the package's modules and the feedback template
    update_catalogue(language, root) -> int
                                    bring course/locale/<language>/LC_MESSAGES/course.po up to date with
                                    the sources (translations kept, obsolete ones dropped), compile its
                                    course.mo; returns how many messages still lack a translation

No template (.pot) is written: extract() is the template, made afresh each time. The .mo is compiled
from the .po alone (Babel's write_mo sorts its entries), so the same .po always gives the same bytes.
"""

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from course.i18n.catalogue import DOMAIN, LOCALE_DIR, SOURCE_LANGUAGE, catalogue_file
from course.layout import EDITIONS, HELPER_FILES, PACKAGE_DIR

LANGUAGES = tuple(edition.language for edition in EDITIONS if edition.language != SOURCE_LANGUAGE)
TEMPLATE = PACKAGE_DIR / "grader" / "templates" / "feedback_translated" / "index.html.j2"
PO_WIDTH = 100


def sources(root: Path) -> list[tuple[str, Path]]:
    """(name the .po shows, file) of every file messages are extracted from, in a fixed order: the
    course's helpers at root, then the package's modules, in every subfolder, and the feedback template."""
    helpers = [(name, Path(root) / name) for name in sorted(HELPER_FILES) if name.endswith(".py")]
    package = [*sorted(PACKAGE_DIR.rglob("*.py")), TEMPLATE]
    return [*helpers, *((path.relative_to(PACKAGE_DIR.parent).as_posix(), path) for path in package)]


def extract(root: Path) -> Catalog:
    """The catalogue's template: each marked message once, with the files it appears in."""
    template = Catalog(domain=DOMAIN, project="regularization-course", fuzzy=False)
    for name, path in sources(root):
        method = "jinja2.ext:babel_extract" if path.suffix == ".j2" else "python"
        for _line, message, comments, context in extract_from_file(method, path, keywords=DEFAULT_KEYWORDS):
            template.add(message, locations=[(name, None)], auto_comments=comments, context=context)
    return template


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return catalogue_file(language, locale_dir, ".po")


def read_message_catalogue(path: Path, language: str) -> Catalog:
    with open(path, "rb") as file:
        return read_po(file, locale=language, domain=DOMAIN)


def untranslated_messages(catalogue: Catalog) -> list[str]:
    """The msgids of the catalogue that have no usable translation (empty or fuzzy)."""
    return [message.id for message in catalogue if message.id and (not message.string or message.fuzzy)]


def update_catalogue(language: str, root: Path, locale_dir: Path = LOCALE_DIR) -> int:
    """Update the .po of `language` from the sources of the course at root and compile its .mo; the
    number of messages left to translate. New messages get an empty translation, never a guess."""
    path = po_path(language, locale_dir)
    if path.exists():
        catalogue = read_message_catalogue(path, language)
    else:
        catalogue = Catalog(locale=language, domain=DOMAIN, project="regularization-course", fuzzy=False)
    catalogue.update(extract(root), no_fuzzy_matching=True, update_creation_date=False)
    catalogue.obsolete.clear()  # a message the code no longer has is gone, not kept as a #~ entry
    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=PO_WIDTH, include_lineno=False, ignore_obsolete=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    path.with_suffix(".mo").write_bytes(compile_catalogue(path, language))
    return len(untranslated_messages(catalogue))


def compile_catalogue(path: Path, language: str) -> bytes:
    """The .mo bytes of the .po at path: translated messages only (fuzzy ones are left out)."""
    buffer = io.BytesIO()
    write_mo(buffer, read_message_catalogue(path, language), use_fuzzy=False)
    return buffer.getvalue()
