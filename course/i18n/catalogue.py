"""The language students read: each edition's, and the messages' gettext catalogues.

The catalogues live in the package (course/locale/<language>/LC_MESSAGES/course.po and .mo), so
that a grading worker anywhere speaks the edition's language: what the grader itself tells a student
(a cell stopped by the timeout, a file that is not a notebook, the feedback page's headings, the
service's notices) comes from them. The build copies each compiled catalogue into its edition's
folder, where the helpers students get find it through translation.py, which reads the same layout
(its DOMAIN, LANGUAGE_FILE and SOURCE_LANGUAGE are these; tests/i18n/test_messages.py holds them equal).
"""

import gettext
from pathlib import Path

DOMAIN = "course"  # the catalogue's name
LANGUAGE_FILE = "language.txt"  # in each edition's folder: its language, written by the build
LOCALE_DIR = Path(__file__).resolve().parent / "locale"  # <language>/LC_MESSAGES/<DOMAIN>.po and .mo
SOURCE_LANGUAGE = "en"  # the messages as written in the code


def catalogue_file(language: str, locale_dir: Path = LOCALE_DIR, suffix: str = ".mo") -> Path:
    return Path(locale_dir) / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language`, read afresh (gettext's own cache would keep a replaced .mo);
    NullTranslations, which returns the English text, when there is none."""
    path = catalogue_file(language)
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as file:
        return gettext.GNUTranslations(file)


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later, in the reader's language."""
    return message
