"""The language students read: each edition's, and the course's gettext catalogues in locale/.

The helpers students get find theirs through translation.py and the language.txt beside it. What
the grader itself tells a student (a cell stopped by the timeout, a file that is not a notebook,
the feedback page's headings, the service's notices) comes from the same catalogue here, in the
language of the edition the student handed in.
"""

import gettext
from pathlib import Path

from course.layout import COURSE_ROOT, LANGUAGE_FILE

DOMAIN = "course"  # the catalogue's name, as in translation.py
LOCALE_DIR = COURSE_ROOT / "locale"
SOURCE_LANGUAGE = "en"  # the messages as written in the code


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later, in the reader's language."""
    return message


def language_of(folder: Path) -> str:
    """The locale code in the language.txt the build writes into an assignment folder; English without it."""
    path = Path(folder) / LANGUAGE_FILE
    return path.read_text(encoding="utf-8").strip() if path.is_file() else SOURCE_LANGUAGE


def translations(language: str) -> gettext.NullTranslations:
    """The course's catalogue for `language` (NullTranslations, the English text, when it has none),
    found as translation.py finds it beside the helpers."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as file:
        return gettext.GNUTranslations(file)
