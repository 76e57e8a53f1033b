"""Build the student release: copy the root helpers into the assignment, then let nbgrader
strip the solutions and hidden tests.

The modules and the data at the course root are the only ones anyone edits; the copies in
source/<assignment>/ exist because a notebook imports its helpers from its own folder.
"""
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

from course import ASSIGNMENT, COURSE_ROOT

HELPER_FILES = ("reg_utils.py", "testCases.py", "public_tests.py", "datasets/data.mat")


def assignment_dir(root: Path, stage: str) -> Path:
    """source/, release/, ... folder of the assignment under the course root."""
    return root / stage / ASSIGNMENT


def stale_helper_copies(root: Path = COURSE_ROOT) -> list[str]:
    """Helper files whose copy in source/<assignment>/ is missing or differs from the root."""
    source = assignment_dir(root, "source")
    return [name for name in HELPER_FILES
            if not (source / name).exists() or not filecmp.cmp(root / name, source / name, shallow=False)]


def sync_helpers(root: Path = COURSE_ROOT) -> list[str]:
    """Copy the stale helpers into source/<assignment>/; returns what was copied."""
    stale = stale_helper_copies(root)
    for name in stale:
        target = assignment_dir(root, "source") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, target)
    return stale


def build_release(root: Path = COURSE_ROOT) -> Path:
    """Sync the helpers and regenerate release/<assignment>/ with nbgrader."""
    sync_helpers(root)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--quiet"],
                   cwd=root, check=True)
    return assignment_dir(root, "release")
