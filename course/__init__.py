"""The instructor's tool for the Regularization course: build the release, grade, report."""
import os
import sys
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "regularization"
NOTEBOOK = "Regularization"

# nbgrader runs the `alembic` script when it creates a gradebook: let it find the one
# installed beside this interpreter even when its virtual environment is not activated.
_scripts = str(Path(sys.executable).parent)
if _scripts not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_scripts, os.environ.get("PATH", "")])


def course_config(root: Path):
    """The course's nbgrader_config.py as nbgrader loads it (it anchors paths to its own folder)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def course_directory(root: Path):
    """nbgrader's view of the course under root: its folders and gradebook URL."""
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=course_config(root))
