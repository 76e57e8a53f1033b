"""The course's tests: they check the course in this checkout."""

import os
import sys
from pathlib import Path

from course.layout import Course

COURSE_ROOT = Path(__file__).resolve().parent.parent
COURSE = Course(COURSE_ROOT)


def warm_parent_pythons(root: Path) -> list[int]:
    """PIDs of the Pythons of the warm parent whose root is `root`: itself, then (forked from it, so with
    its command line) its waiters and kernels."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                command = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if command[0] == os.fsencode(sys.executable) and command[-2] == os.fsencode(root):
                found.append(int(name))
    return sorted(found)
