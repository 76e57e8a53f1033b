"""Build the student release: copy the root helpers into the assignment, then let nbgrader
strip the solutions.

The modules and the data at the course root are the only ones anyone edits; the copies in
source/<assignment>/ exist because a notebook imports its helpers from its own folder.
"""

import contextlib
import filecmp
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from course import reference
from course.layout import ASSIGNMENT, COURSE_ROOT, HELPER_FILES, assignment_dir, course_config, course_modules

BUILD_LOCK = 7_220_308  # PostgreSQL advisory lock id held while a run builds the release


def stale_helper_copies(root: Path = COURSE_ROOT) -> list[str]:
    """Helper files whose copy in source/<assignment>/ is missing or differs from the root."""
    source = assignment_dir(root, "source")
    return [
        name
        for name in HELPER_FILES
        if not (source / name).exists() or not filecmp.cmp(root / name, source / name, shallow=False)
    ]


def sync_helpers(root: Path = COURSE_ROOT) -> list[str]:
    """Copy the stale helpers into source/<assignment>/; returns what was copied."""
    stale = stale_helper_copies(root)
    for name in stale:
        target = assignment_dir(root, "source") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, target)
    return stale


def write_fixtures(root: Path = COURSE_ROOT) -> None:
    """Write the test fixtures that hold a graded function's result (testCases.json) from the grader's
    reference: students get the data, never the code that computes it."""
    with course_modules(root):
        (root / "testCases.json").write_text(reference.dropout_fixture())


def build_release(root: Path = COURSE_ROOT, db_url: str = "") -> Path:
    """Write the fixtures, sync the helpers and regenerate release/<assignment>/ with nbgrader, which also
    records the source cells in the gradebook: db_url's, or by default the one nbgrader_config.py names."""
    from nbgrader.converters import GenerateAssignment

    write_fixtures(root)
    sync_helpers(root)
    config = course_config(root)
    if db_url:
        config.CourseDirectory.db_url = db_url
    # nbgrader's own generate_assignment, in this process: a `nbgrader` command would spend
    # two seconds importing what this process has already imported.
    generate = GenerateAssignment(coursedir=CourseDirectory(config=config, assignment_id=ASSIGNMENT), config=config)
    generate.force = True
    generate.start()
    return assignment_dir(root, "release")


@contextlib.contextmanager
def build_lock(url: str) -> Iterator[None]:
    """Hold this while building the release. Runs sharing a PostgreSQL gradebook must take turns:
    nbgrader creates its tables and the assignment's rows unguarded, and two at once collide.
    SQLite needs nothing: writers lock its whole file."""
    if make_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:  # the lock lasts as long as this session
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": BUILD_LOCK})
            yield
    finally:
        engine.dispose()


def assignment_fingerprint(root: Path) -> str:
    """sha256 over source/<assignment>/: grades saved under another fingerprint are stale."""
    digest = hashlib.sha256()
    source = assignment_dir(root, "source")
    for path in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
