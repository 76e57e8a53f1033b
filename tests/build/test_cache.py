"""What a build keeps for the next run: a current release is not generated again, and course copies
with the same source share one template gradebook; any change to what they depend on builds anew."""

import sqlite3

import pytest

from course.build import cache, package, release
from course.build.package import assignment_packages
from course.build.release import build_release
from course.layout import ASSIGNMENT, EDITIONS, Course, Stage, copy_course
from tests import COURSE_ROOT


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "CACHE_DIR", tmp_path / "cache")


@pytest.fixture
def generated(monkeypatch):
    """The folders nbgrader generate_assignment ran in, as the build calls it."""
    folders = []
    real = release.generate_releases

    def counted(root, config):
        folders.append(root)
        real(root, config)

    monkeypatch.setattr(release, "generate_releases", counted)
    monkeypatch.setattr(package, "generate_releases", counted)
    return folders


def built_course(target):
    copy_course(target, COURSE_ROOT, folders=("source",))
    build_release(target, force=False)
    return target


def edit_source(root):
    notebook = Course(root).notebook(Stage.SOURCE, None, ASSIGNMENT)
    notebook.write_text(notebook.read_text().replace("L2", "L₂", 1))


CHANGES = {
    "source": edit_source,
    "release": lambda root: (Course(root).path(Stage.RELEASE, None, ASSIGNMENT) / "reg_utils.py").write_text("#\n"),
    "gradebook": lambda root: (root / "gradebook.db").unlink(),
    "config": lambda root: (root / "nbgrader_config.py").write_text(
        (root / "nbgrader_config.py").read_text() + "\n# edited\n"
    ),
}


def test_a_current_release_is_left_alone_and_any_change_generates_it_again(tmp_path, generated):
    root = built_course(tmp_path / "course")
    before = Course(root).notebook(Stage.RELEASE, None, ASSIGNMENT).read_bytes()
    assert build_release(root, force=False) is False
    assert generated == [root] and Course(root).notebook(Stage.RELEASE, None, ASSIGNMENT).read_bytes() == before
    for name, change in CHANGES.items():
        change(root)
        assert build_release(root, force=False) is True, name
        assert build_release(root, force=False) is False, name  # and current again
    assert len(generated) == 1 + len(CHANGES)
    assert build_release(root) is True  # `python -m course build` always generates


def test_copies_with_the_same_source_share_one_template_gradebook(tmp_path, generated):
    first, second = (copy_course(tmp_path / name, COURSE_ROOT, ("source", "release")) for name in ("first", "second"))
    packages = [assignment_packages(root) for root in (first, second)]
    assert generated == [generated[0]] and packages[0] == packages[1]  # only the first copy's was generated
    (tmp_path / "template.db").write_bytes(packages[0][ASSIGNMENT].gradebook)
    with sqlite3.connect(tmp_path / "template.db") as db:  # it knows the editions and nobody
        assert {name for (name,) in db.execute("SELECT name FROM assignment")} == {e.assignment for e in EDITIONS}
        assert db.execute("SELECT count(*) FROM student").fetchone() == (0,)
    edit_source(second)
    assignment_packages(second)
    assert len(generated) == 2


def test_an_unwritable_cache_only_means_building_every_time(tmp_path, generated, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(cache, "CACHE_DIR", blocker / "cache")
    root = built_course(tmp_path / "course")
    assert build_release(root, force=False) is True
    assert assignment_packages(root)[ASSIGNMENT].gradebook
    assert len(generated) == 3
