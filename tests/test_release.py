"""The release is what nbgrader makes of the source, and the helper copies never drift."""

import pytest

from course.build.release import build_release, stale_helper_copies
from course.i18n.catalogue import LANGUAGE_FILE
from course.layout import EDITIONS, HELPER_FILES, assignment_dir, copy_course, notebook_path
from tests import COURSE_ROOT


def files_under(folder):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


ASSIGNMENTS = [edition.assignment for edition in EDITIONS]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_helper_copies_in_source_match_the_root(assignment):
    assert stale_helper_copies(COURSE_ROOT, assignment) == []


@pytest.mark.parametrize("edition", EDITIONS, ids=ASSIGNMENTS)
def test_release_ships_the_helpers_data_and_language(edition):
    release = assignment_dir(COURSE_ROOT, "release", assignment=edition.assignment)
    for name in HELPER_FILES:
        assert (release / name).read_bytes() == (COURSE_ROOT / name).read_bytes(), name
    assert (release / LANGUAGE_FILE).read_text() == edition.language + "\n"


def test_generate_assignment_reproduces_the_committed_sources_and_releases(tmp_path):
    copy_course(tmp_path, COURSE_ROOT, folders=())  # no source/ but the English notebook: the build writes the rest
    english = notebook_path(COURSE_ROOT, "source")
    notebook_path(tmp_path, "source").parent.mkdir(parents=True)
    notebook_path(tmp_path, "source").write_bytes(english.read_bytes())
    build_release(tmp_path)
    assert (tmp_path / "gradebook.db").exists()  # the config put the gradebook in the copy, not in the course
    for stage in ("source", "release"):
        for assignment in ASSIGNMENTS:
            rebuilt = assignment_dir(tmp_path, stage, assignment=assignment)
            assert files_under(rebuilt) == files_under(assignment_dir(COURSE_ROOT, stage, assignment=assignment))


def test_release_holds_no_solutions_or_hidden_tests():
    text = notebook_path(COURSE_ROOT, "release").read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "lambd / (2 * m) * squared_weights", "numeric_gradient("):
        assert marker not in text
