"""The release is what nbgrader makes of the source, and the helper copies never drift."""

import pytest

from course.build.release import build_release, stale_helper_copies
from course.i18n.catalogue import LANGUAGE_FILE
from course.layout import ASSIGNMENT, EDITIONS, HELPER_FILES, Course, Stage, copy_course
from tests import COURSE, COURSE_ROOT


def files_under(folder):
    """Every file under folder but Python's bytecode caches, which running a notebook there leaves (git and
    nbgrader's build ignore them)."""
    return {
        path.relative_to(folder): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.relative_to(folder).parts
    }


ASSIGNMENTS = [edition.assignment for edition in EDITIONS]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_helper_copies_in_source_match_the_root(assignment):
    assert stale_helper_copies(COURSE_ROOT, assignment) == []


@pytest.mark.parametrize("edition", EDITIONS, ids=ASSIGNMENTS)
def test_release_ships_the_helpers_data_and_language(edition):
    release = COURSE.path(Stage.RELEASE, None, edition.assignment)
    for name in HELPER_FILES:
        assert (release / name).read_bytes() == (COURSE_ROOT / name).read_bytes(), name
    assert (release / LANGUAGE_FILE).read_text() == edition.language + "\n"


def test_generate_assignment_reproduces_the_committed_sources_and_releases(tmp_path):
    copy_course(tmp_path, COURSE_ROOT, folders=())  # no source/ but the English notebook: the build writes the rest
    english = COURSE.notebook(Stage.SOURCE, None, ASSIGNMENT)
    Course(tmp_path).notebook(Stage.SOURCE, None, ASSIGNMENT).parent.mkdir(parents=True)
    Course(tmp_path).notebook(Stage.SOURCE, None, ASSIGNMENT).write_bytes(english.read_bytes())
    build_release(tmp_path)
    assert (tmp_path / "gradebook.db").exists()  # the config put the gradebook in the copy, not in the course
    for stage in ("source", "release"):
        for assignment in ASSIGNMENTS:
            rebuilt = Course(tmp_path).path(stage, None, assignment)
            assert files_under(rebuilt) == files_under(COURSE.path(stage, None, assignment))


def test_release_holds_no_solutions_or_hidden_tests():
    text = COURSE.notebook(Stage.RELEASE, None, ASSIGNMENT).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "lambd / (2 * m) * squared_weights", "numeric_gradient("):
        assert marker not in text
