"""The message catalogue: what students read, extracted from the code with Babel, translated in a .po.

    extract() -> Catalog               every message marked with _() or N_() in the helpers students get,
                                       the course's modules and the feedback template
    update_catalogue(language) -> int  bring locale/<language>/LC_MESSAGES/course.po up to date with the
                                       sources (translations kept, obsolete ones dropped), compile its
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

from course.language import DOMAIN, LOCALE_DIR, SOURCE_LANGUAGE
from course.layout import COURSE_ROOT, EDITIONS, HELPER_FILES

LANGUAGES = tuple(edition.language for edition in EDITIONS if edition.language != SOURCE_LANGUAGE)
TEMPLATE = Path("course") / "templates" / "feedback_translated" / "index.html.j2"
PO_WIDTH = 100


def sources(root: Path = COURSE_ROOT) -> list[Path]:
    """The files messages are extracted from, relative to root, in a fixed order."""
    helpers = sorted(Path(name) for name in HELPER_FILES if name.endswith(".py"))
    course = sorted(path.relative_to(root) for path in (root / "course").glob("*.py"))
    return [*helpers, *course, TEMPLATE]


def extract(root: Path = COURSE_ROOT) -> Catalog:
    """The catalogue's template: each marked message once, with the files it appears in."""
    template = Catalog(domain=DOMAIN, project="regularization-course", fuzzy=False)
    for path in sources(root):
        method = "jinja2.ext:babel_extract" if path.suffix == ".j2" else "python"
        for _line, message, comments, context in extract_from_file(method, root / path, keywords=DEFAULT_KEYWORDS):
            template.add(message, locations=[(path.as_posix(), None)], auto_comments=comments, context=context)
    return template


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return Path(locale_dir) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(path: Path, language: str) -> Catalog:
    with open(path, "rb") as file:
        return read_po(file, locale=language, domain=DOMAIN)


def untranslated(catalogue: Catalog) -> list[str]:
    """The msgids of the catalogue that have no usable translation (empty or fuzzy)."""
    return [message.id for message in catalogue if message.id and (not message.string or message.fuzzy)]


def update_catalogue(language: str, root: Path = COURSE_ROOT, locale_dir: Path | None = None) -> int:
    """Update the .po of `language` from the sources and compile its .mo; the number of messages left
    to translate. New messages get an empty translation, never a guess (no fuzzy matching)."""
    path = po_path(language, locale_dir or root / "locale")
    if path.exists():
        catalogue = read_catalogue(path, language)
    else:
        catalogue = Catalog(locale=language, domain=DOMAIN, project="regularization-course", fuzzy=False)
    catalogue.update(extract(root), no_fuzzy_matching=True, update_creation_date=False)
    catalogue.obsolete.clear()  # a message the code no longer has is gone, not kept as a #~ entry
    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=PO_WIDTH, include_lineno=False, ignore_obsolete=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    path.with_suffix(".mo").write_bytes(compile_catalogue(path, language))
    return len(untranslated(catalogue))


def compile_catalogue(path: Path, language: str) -> bytes:
    """The .mo bytes of the .po at path: translated messages only (fuzzy ones are left out)."""
    buffer = io.BytesIO()
    write_mo(buffer, read_catalogue(path, language), use_fuzzy=False)
    return buffer.getvalue()
