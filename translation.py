"""The language of the messages students read: English source text, or a gettext catalogue.

Every edition of the assignment runs the same code cells, so the language cannot come from the
notebook: it comes from language.txt beside this file (a locale code such as zh_CN, written by
the build), and the catalogue from locale/<code>/LC_MESSAGES/course.mo beside it. Without the
file, or without a catalogue for its code, messages stay in English.

    from translation import _
    print(_("All tests passed."))
"""

import gettext
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOMAIN = "course"
LOCALE_DIR = HERE / "locale"
LANGUAGE_FILE = "language.txt"
SOURCE_LANGUAGE = "en"


def language_of(folder: Path = HERE) -> str:
    """The locale code in folder's language.txt; English when there is none."""
    try:
        return (Path(folder) / LANGUAGE_FILE).read_text(encoding="utf-8").strip() or SOURCE_LANGUAGE
    except FileNotFoundError:
        return SOURCE_LANGUAGE


def translations(language: str, locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    """The catalogue of `language`, read afresh (gettext's own cache would keep a replaced .mo);
    NullTranslations, which returns the English text, when there is none."""
    path = Path(locale_dir) / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as file:
        return gettext.GNUTranslations(file)


_translations = translations(language_of())
_ = _translations.gettext
ngettext = _translations.ngettext
