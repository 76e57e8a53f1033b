"""The language students read: each edition's, and the course's gettext catalogues in locale/.

The helpers students get find theirs through translation.py and the language.txt beside it. What
the grader itself tells a student (a cell stopped by the timeout, a file that is not a notebook,
the feedback page's headings, the service's notices) comes from the same catalogue, in the language
of the edition the student handed in, found by the same code: translation.py is loaded here under a
name of its own, so that it never stands in for an edition's copy of it (course.layout.course_modules).
"""

import importlib.util

from course.layout import COURSE_ROOT


def _load_translation_helper():
    spec = importlib.util.spec_from_file_location("course._translation_helper", COURSE_ROOT / "translation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helper = _load_translation_helper()
DOMAIN = _helper.DOMAIN  # the catalogue's name
LANGUAGE_FILE = _helper.LANGUAGE_FILE  # in each edition's folder: its language, written by the build
LOCALE_DIR = _helper.LOCALE_DIR  # locale/<language>/LC_MESSAGES/<DOMAIN>.po and .mo
SOURCE_LANGUAGE = _helper.SOURCE_LANGUAGE  # the messages as written in the code
translations = _helper.translations  # translations(language) -> gettext.NullTranslations


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later, in the reader's language."""
    return message
