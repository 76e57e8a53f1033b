"""What a build made, kept for the next run, so that grading a handful of submissions does not pay for
building the course again.

Two things are kept, in the user's cache folder (platformdirs: $XDG_CACHE_HOME, else ~/.cache):

- the template gradebook of a source (what every grading job carries), under a digest of everything
  nbgrader generate_assignment reads to make it: the source folders, nbgrader_config.py and nbgrader's
  version. Course copies with the same source share it;
- for each course folder and gradebook, the digest of the source its release was last generated from
  and of the release itself: when both still match, and the gradebook still knows every edition, the
  release is current and nothing is generated.

Both are found by digests of what they depend on (course/kept.py).
"""

import hashlib
from pathlib import Path

import nbgrader
from nbgrader.api import Gradebook, MissingEntry

from course.kept import CACHE_DIR, keep
from course.layout import EDITIONS, NOTEBOOK, Course, Stage


def tree_digest(folder: Path) -> str:
    """sha256 over a folder's files, names and bytes (bytecode caches left out)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def source_digest(root: Path) -> str:
    """Everything generate_assignment reads: each edition's source folder, the configuration, nbgrader."""
    parts = [nbgrader.__version__, (root / "nbgrader_config.py").read_bytes().hex()]
    parts += [tree_digest(Course(root).path(Stage.SOURCE, None, e.assignment)) for e in EDITIONS]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _release_digest(root: Path, url: str) -> str:
    """The source, the gradebook and the release as they are: recorded after generating, compared before."""
    parts = [source_digest(root), url]
    parts += [tree_digest(Course(root).path(Stage.RELEASE, None, e.assignment)) for e in EDITIONS]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _stamp_path(root: Path, url: str) -> Path:
    where = hashlib.sha256(f"{Path(root).resolve()}\0{url}".encode()).hexdigest()
    return CACHE_DIR / "releases" / where


def release_is_current(root: Path, url: str) -> bool:
    """Whether the release was generated from the source as it is, into this gradebook, and is untouched."""
    stamp = _stamp_path(root, url)
    if not stamp.is_file() or stamp.read_text() != _release_digest(root, url):
        return False
    try:
        with Gradebook(url) as gradebook:
            for edition in EDITIONS:
                gradebook.find_notebook(NOTEBOOK, edition.assignment)
    except MissingEntry:  # a gradebook made anew since
        return False
    return True


def record_release(root: Path, url: str) -> None:
    """Note that the release was just generated into this gradebook."""
    keep(_stamp_path(root, url), _release_digest(root, url).encode())


def template_path(digest: str) -> Path:
    return CACHE_DIR / "templates" / f"{digest}.db"


def keep_template(digest: str, data: bytes) -> None:
    keep(template_path(digest), data)
