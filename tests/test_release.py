"""The release is what nbgrader makes of the source, and the helper copies never drift."""
import shutil

from course import ASSIGNMENT, COURSE_ROOT
from course.release import HELPER_FILES, build_release, stale_helper_copies


def files_under(folder):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_helper_copies_in_source_match_the_root():
    assert stale_helper_copies() == []


def test_release_ships_the_helpers_and_data():
    release = COURSE_ROOT / "release" / ASSIGNMENT
    for name in HELPER_FILES:
        assert (release / name).read_bytes() == (COURSE_ROOT / name).read_bytes(), name


def test_generate_assignment_reproduces_the_committed_release(tmp_path):
    for name in ("nbgrader_config.py", *HELPER_FILES):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(COURSE_ROOT / name, tmp_path / name)
    shutil.copytree(COURSE_ROOT / "source", tmp_path / "source")
    rebuilt = build_release(tmp_path)
    assert (tmp_path / "gradebook.db").exists()  # the config put the gradebook in the copy, not in the course
    assert files_under(rebuilt) == files_under(COURSE_ROOT / "release" / ASSIGNMENT)


def test_release_holds_no_solutions_or_hidden_tests():
    text = (COURSE_ROOT / "release" / ASSIGNMENT / "Regularization.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "lambd / (2 * m) * squared_weights", "numeric_gradient("):
        assert marker not in text
