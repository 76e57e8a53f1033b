"""The instructor's tool for the Regularization course: build the release, grade, report.

The workflow, module by module: release (build what students get), package (what every grading
worker needs), autograde (grade one submission: execute, judge, feedback), pool and cluster (grade
many), results, gradebook and last_graded (save the results), report (grades.csv and the class
report); service and journal (the grading service: each submission to nbgrader's exchange graded as
it arrives, its feedback released there). layout names where everything lives.
"""

import os
import sys
from pathlib import Path

# nbgrader runs the `alembic` script when it creates a gradebook: let it find the one
# installed beside this interpreter even when its virtual environment is not activated.
_scripts = str(Path(sys.executable).parent)
if _scripts not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_scripts, os.environ.get("PATH", "")])
