"""The instructor's tool for the Regularization course, one subpackage per part of the workflow:

    build/    what students get: the editions' notebooks, the release, the assignment package
    grader/   grade one submission (bytes in; scores, autograded notebook, feedback page out)
    fanout/   grade many: the one CourseGrader that grade and serve share, local workers, Dask
    record/   the gradebook, the grader's notes, what needs attention, grades.csv, the report
    service/  the grading service on nbgrader's exchange, and its journal
    doors/    nbgrader's own collect and autograde through the course's intake and grader
    i18n/     the messages' catalogues and the translated notebooks

layout.py names where everything lives; __main__.py is the command line.
"""

import os
import sys
from pathlib import Path

# nbgrader runs the `alembic` script when it creates a gradebook: let it find the one
# installed beside this interpreter even when its virtual environment is not activated.
_scripts = str(Path(sys.executable).parent)
if _scripts not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_scripts, os.environ.get("PATH", "")])

# jsonschema, which nbformat and nbgrader import, imports rfc3987_syntax when it is installed (it comes
# with jupyter_server's dependencies); that module builds dozens of parsers on import, 0.7 s of CPU in
# every process, to check the "iri" formats that no schema here uses (python-jsonschema/jsonschema#1428).
# Blocked, jsonschema leaves those two formats unchecked.
sys.modules.setdefault("rfc3987_syntax", None)
