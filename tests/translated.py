"""English messages as the course's catalogue translates them, worked out from the messages alone.

Each msgid becomes a pattern, its placeholders capturing what was put in them; a text that one of
them matches whole is the msgstr with the captured values put back, themselves translated when a
msgid matches them (a problem inside "{function}: {problem}"). The most specific msgid (the most
literal characters) is tried first. A text no msgid matches is left as it is, numbers and code
names included. The tests compare what a Chinese edition says with what this makes of the English.
"""

import re
from functools import lru_cache

from babel.messages.pofile import read_po

from course.i18n.upkeep import po_path

PLACEHOLDER = re.compile(r"\{(\w+)(?:![rsa])?(?::[^{}]*)?\}")
HINT = "\nHint: "  # how a hint line starts, in English


def pattern(message: str) -> re.Pattern:
    """What message.format(...) can give: its literal parts, and a named group for each placeholder
    (the same value again where a placeholder comes back)."""
    literals = PLACEHOLDER.split(message)[::2]
    regex = re.escape(literals[0])
    for name, literal in zip(PLACEHOLDER.findall(message), literals[1:]):
        regex += (f"(?P<{name}>.+?)" if f"(?P<{name}>" not in regex else f"(?P={name})") + re.escape(literal)
    return re.compile(regex, re.DOTALL)


@lru_cache
def _patterns(language: str) -> list:
    """[(pattern, msgstr)], the most specific (most literal characters) first."""
    with open(po_path(language), "rb") as file:
        catalogue = read_po(file, locale=language)
    found = [
        (sum(map(len, PLACEHOLDER.split(message.id)[::2])), pattern(message.id), message.string)
        for message in catalogue
        if message.id and message.string
    ]
    return [(regex, string) for _, regex, string in sorted(found, key=lambda item: -item[0])]


def translated(text: str, language: str) -> str:
    """`text` as the catalogue of `language` would have said it."""
    for pattern, string in _patterns(language):
        match = pattern.fullmatch(text)
        if match:
            values = {name: translated(value, language) for name, value in match.groupdict().items()}
            return _filled(string, values)
    return text


def _filled(string: str, values: dict) -> str:
    """The msgstr with each placeholder replaced by its value as it was put in the English."""
    return PLACEHOLDER.sub(lambda placeholder: values[placeholder.group(1)], string)


def translated_error(error: str, language: str) -> str:
    """ "ExceptionName: message" with the message translated (the name is Python's); a test's message
    is its problem, then a line per hint, each a message of its own."""
    name, separator, message = error.partition(": ")
    if not (separator and name.isidentifier()):
        return error
    problem, *hints = message.split(HINT)
    return (
        name
        + separator
        + "\n".join([translated(problem, language), *(translated(HINT[1:] + hint, language) for hint in hints)])
    )
