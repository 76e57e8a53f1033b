"""The assignment package: what every grading worker needs, built once per run from the release."""

import shutil
import tempfile
from pathlib import Path

import nbformat

from course.build import cache
from course.build.release import generate_releases
from course.grader.job import AssignmentPackage
from course.grader.parts import configured_points
from course.layout import EDITIONS, NOTEBOOK, Course, Stage, copy_course, course_config

SKIP_TAG = "skip-at-grading"  # on the instructor's locked cells that only train or plot: no score depends on them


def assignment_packages(root: Path) -> dict[str, AssignmentPackage]:
    """{assignment: its package} for every edition, sharing one template gradebook."""
    with tempfile.TemporaryDirectory(prefix="course-template-") as scratch:
        gradebook = template_gradebook(root, Path(scratch)).read_bytes()
    return {edition.assignment: assignment_package(root, edition.assignment, gradebook) for edition in EDITIONS}


def assignment_package(root: Path, assignment: str, gradebook: bytes = b"") -> AssignmentPackage:
    """The released helper files (not the notebook), a template gradebook (made when not given), and
    the grade_ids of the released notebook's locked cells that grading skips, and the parts' points."""
    release_dir = Course(root).path(Stage.RELEASE, None, assignment)
    files = {
        str(path.relative_to(release_dir)): path.read_bytes()
        for path in sorted(release_dir.rglob("*"))
        if path.is_file() and path.suffix != ".ipynb" and "__pycache__" not in path.parts
    }
    release_nb = nbformat.read(release_dir / f"{NOTEBOOK}.ipynb", as_version=4)
    skipped = tuple(
        cell.metadata.nbgrader["grade_id"]
        for cell in release_nb.cells
        if SKIP_TAG in cell.metadata.get("tags", []) and cell.metadata.get("nbgrader", {}).get("locked")
    )
    test_points = {
        cell.metadata.nbgrader["grade_id"].removeprefix("test_"): cell.metadata.nbgrader["points"]
        for cell in release_nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    if not gradebook:
        with tempfile.TemporaryDirectory(prefix="course-template-") as scratch:
            gradebook = template_gradebook(root, Path(scratch)).read_bytes()
    return AssignmentPackage(assignment, files, gradebook, skipped, configured_points(root, test_points))


def template_gradebook(root: Path, scratch: Path) -> Path:
    """A gradebook that knows the editions and their source cells and nothing else: nbgrader's
    generate_assignment run on a copy of source/ in `scratch`, or the copy cache.py kept of one."""
    digest = cache.source_digest(root)
    target = scratch / "gradebook.db"
    if cache.template_path(digest).is_file():
        shutil.copyfile(cache.template_path(digest), target)
        return target
    copy_course(scratch, folders=("source",), root=root)
    config = course_config(scratch)
    config.CourseDirectory.db_url = f"sqlite:///{target}"  # even when the course's is a server
    generate_releases(scratch, config)
    cache.keep_template(digest, target.read_bytes())
    return target
