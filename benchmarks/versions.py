"""Another version of the course tool, to measure beside this checkout's in the same run.

`python -m course ...` run with `environment(code)` imports the `course` package of `code`, a folder
holding a commit's tree (`git archive`), instead of this checkout's: everything else (the venv, the
course folder, the machine and its load of the moment) is the same for both.
"""

import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def checkout(revision: str) -> Path:
    """The tree of `revision` (a commit, a tag, HEAD~3, ...) in a temp folder of its own."""
    folder = Path(tempfile.mkdtemp(prefix=f"course-{revision.replace('/', '-')}-"))
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "course"], capture_output=True, check=True
    ).stdout
    archive_path = folder / "course.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(folder, filter="data")
    archive_path.unlink()
    return folder


def environment(code: Path | None) -> dict:
    """This process's environment, with `code`'s package first on the path (None: this checkout's)."""
    if code is None:
        return dict(os.environ)
    return dict(os.environ) | {"PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))}
