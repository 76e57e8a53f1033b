"""Build the student release of every edition: copy the root helpers into each assignment, write
the translated editions' notebooks, then let nbgrader strip the solutions.

The modules and the data at the course root, and the English source notebook, are the only ones
anyone edits; the copies in source/<assignment>/ exist because a notebook imports its helpers from
its own folder, and language.txt beside them tells the helpers which language to speak.
"""

import contextlib
import filecmp
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from course.build import cache, reference
from course.i18n.catalogue import LANGUAGE_FILE
from course.i18n.notebooks import catalogue_path, read_cell_translations, translated_notebook, untranslated_cells
from course.layout import ASSIGNMENT, EDITIONS, Course, Stage, course_config, course_modules, helper_sources

BUILD_LOCK = 7_220_308  # PostgreSQL advisory lock id held while a run builds the release


def stale_helper_copies(root: Path, assignment: str) -> list[str]:
    """Helper files whose copy in source/<assignment>/ is missing or differs from what it copies."""
    source = Course(root).path(Stage.SOURCE, None, assignment)
    return [
        name
        for name, original in helper_sources(root).items()
        if not (source / name).exists() or not filecmp.cmp(original, source / name, shallow=False)
    ]


def sync_helpers(root: Path, assignment: str) -> list[str]:
    """Copy the stale helpers into source/<assignment>/; returns what was copied."""
    stale = stale_helper_copies(root, assignment)
    originals = helper_sources(root)
    for name in stale:
        target = Course(root).path(Stage.SOURCE, None, assignment) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(originals[name], target)
    return stale


def write_fixtures(root: Path) -> None:
    """Write the test fixtures that hold a graded function's result (testCases.json) from the grader's
    reference: students get the data, never the code that computes it."""
    with course_modules(root):
        (root / "testCases.json").write_text(reference.dropout_fixture())


def write_translated_sources(root: Path) -> None:
    """Write each translated edition's source notebook from the English one and its catalogue;
    warn about the cells whose translation is missing (they show the English text) or stale."""
    english_path = Course(root).notebook(Stage.SOURCE, None, ASSIGNMENT)
    english = nbformat.read(english_path, as_version=4)
    for edition in EDITIONS:
        if edition.assignment == ASSIGNMENT:
            continue
        catalogue = read_cell_translations(root, edition.language)
        if problems := untranslated_cells(english, catalogue):
            listed = ", ".join(f"{cell_id} ({problem})" for cell_id, problem in sorted(problems.items()))
            print(
                f"WARNING: {edition.assignment}: {len(problems)} cells not translated from the current English "
                f"text: {listed}; update {catalogue_path(root, edition.language).relative_to(root)}",
                file=sys.stderr,
            )
        path = Course(root).notebook(Stage.SOURCE, None, edition.assignment)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(translated_notebook(english, catalogue), path)


def build_release(root: Path, db_url: str = "", force: bool = True) -> bool:
    """Write the fixtures and the translated source notebooks, sync the helpers and each edition's
    language.txt, and regenerate release/<assignment>/ of every edition with nbgrader, which also
    records the source cells in the gradebook: db_url's, or by default the one nbgrader_config.py names.
    With force=False the release is left alone when it is current (cache.py). Returns whether it was generated."""
    write_fixtures(root)
    write_translated_sources(root)
    for edition in EDITIONS:
        sync_helpers(root, edition.assignment)
        language = Course(root).path(Stage.SOURCE, None, edition.assignment) / LANGUAGE_FILE
        language.write_text(edition.language + "\n")
    config = course_config(root)
    if db_url:
        config.CourseDirectory.db_url = db_url
    url = CourseDirectory(config=config).db_url
    if not force and cache.release_is_current(root, url):
        return False
    generate_releases(root, config)
    cache.record_release(root, url)
    return True


def generate_releases(root: Path, config) -> None:
    """nbgrader's own generate_assignment for every edition, in this process: a `nbgrader` command would
    spend two seconds importing what this process has already imported."""
    from nbgrader.converters import GenerateAssignment

    for edition in EDITIONS:
        coursedir = CourseDirectory(config=config, assignment_id=edition.assignment)
        generate = GenerateAssignment(coursedir=coursedir, config=config)
        generate.force = True
        generate.start()


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


def assignment_fingerprint(root: Path, assignment: str) -> str:
    """sha256 over source/<assignment>/: grades saved under another fingerprint are stale."""
    return cache.tree_digest(Course(root).path(Stage.SOURCE, None, assignment))
