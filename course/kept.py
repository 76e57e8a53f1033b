"""The user's cache folder, where a run keeps what the next one can reuse (platformdirs: $XDG_CACHE_HOME,
else ~/.cache). Whatever is kept there is found by a digest of what it depends on, so a stale entry is
never used, and a folder that cannot be written only means doing the work every time."""

import os
import tempfile
from pathlib import Path

import platformdirs

CACHE_DIR = platformdirs.user_cache_path("regularization-course")


def keep(path: Path, data: bytes) -> None:
    """Write atomically (runs in parallel may write the same entry), or not at all where we may not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
            file.write(data)
        os.replace(file.name, path)
    except OSError:
        pass
