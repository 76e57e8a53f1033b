"""Another version of the course tool, to measure beside this checkout's in the same run.

`python -m course ...` run with `environment(code)` imports the `course` package of `code`, a folder
holding a commit's tree (`git archive`), instead of this checkout's: everything else (the venv, the
course folder, the machine and its load of the moment) is the same for both.
"""

import contextlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The `course` package of `revision` (a commit, a tag, HEAD~3, ...) in a temp folder, while active."""
    folder = Path(tempfile.mkdtemp(prefix=f"course-{revision.replace('/', '-')}-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", revision, "course"], capture_output=True, check=True
        ).stdout
        (folder / "course.tar").write_bytes(archive)
        with tarfile.open(folder / "course.tar") as tar:
            tar.extractall(folder)  # our own repository's tree
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def environment(code: Path | None) -> dict:
    """This process's environment, with `code`'s package first on the path (None: this checkout's)."""
    if code is None:
        return dict(os.environ)
    return dict(os.environ) | {"PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))}
