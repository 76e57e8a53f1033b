"""What every process of the course pays on import: the grader, each worker and the service import
nbgrader and nbformat, and through them jsonschema."""

import subprocess
import sys

from tests import COURSE_ROOT

PROBE = """
import sys
import course.fanout.grade, course.fanout.pool
print("jsonschema" in sys.modules, "lark" in sys.modules)
"""


def test_jsonschema_builds_no_iri_parsers_in_the_courses_processes():
    """rfc3987_syntax, which jsonschema imports when it is installed, builds dozens of parsers with lark
    on import (0.7 s of CPU per process) for formats no schema here uses: the course keeps it out."""
    imported = subprocess.run([sys.executable, "-c", PROBE], cwd=COURSE_ROOT, capture_output=True, text=True)
    assert imported.stdout.split() == ["True", "False"], imported.stderr
