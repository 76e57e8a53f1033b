"""The release is what nbgrader makes of the source, and the helper copies never drift."""

from course.layout import COURSE_ROOT, HELPER_FILES, assignment_dir, copy_course, notebook_path
from course.release import build_release, stale_helper_copies


def files_under(folder):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_helper_copies_in_source_match_the_root():
    assert stale_helper_copies() == []


def test_release_ships_the_helpers_and_data():
    release = assignment_dir(COURSE_ROOT, "release")
    for name in HELPER_FILES:
        assert (release / name).read_bytes() == (COURSE_ROOT / name).read_bytes(), name


def test_generate_assignment_reproduces_the_committed_release(tmp_path):
    copy_course(tmp_path)
    rebuilt = build_release(tmp_path)
    assert (tmp_path / "gradebook.db").exists()  # the config put the gradebook in the copy, not in the course
    assert files_under(rebuilt) == files_under(assignment_dir(COURSE_ROOT, "release"))


def test_release_holds_no_solutions_or_hidden_tests():
    text = notebook_path(COURSE_ROOT, "release").read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "lambd / (2 * m) * squared_weights", "numeric_gradient("):
        assert marker not in text
