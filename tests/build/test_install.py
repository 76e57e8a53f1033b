"""The course package as `pip install .` (not editable) installs it: built as a wheel, run from a course folder
that has no course/ beside it, it grades the sample class into the very bytes committed, in both editions
(the feedback page's template and the Chinese catalogue come from the installed package)."""

import os
import shutil
import subprocess
import sys

import pytest

from course.build.sample_class import edition_of
from course.layout import Course, Stage
from tests import COURSE_ROOT
from tests.courses import course_copy

pytestmark = pytest.mark.slow  # builds the package and grades two submissions

STUDENTS = ["full-marks", "full-marks-zh", "unscaled-dropout-zh"]


def test_the_installed_package_grades_the_sample_class_as_committed(tmp_path):
    project = tmp_path / "project"  # what the package is built from, without a build/ left by another build
    for name in ("pyproject.toml", "README.md"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(COURSE_ROOT / name, project / name)
    shutil.copytree(COURSE_ROOT / "course", project / "course", ignore=shutil.ignore_patterns("__pycache__"))
    installed = tmp_path / "site"
    built = subprocess.run(  # the wheel pip builds for `pip install .`; the dependencies are this venv's
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(installed), "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert (installed / "course" / "grader" / "templates").is_dir() and not (installed / "course" / "tests").exists()

    course = course_copy(tmp_path / "course", STUDENTS)
    assert not (course / "course").exists()
    with_installed = {**os.environ, "PYTHONPATH": str(installed)}
    done = subprocess.run(
        [sys.executable, "-m", "course", "grade"],
        cwd=course,
        env=with_installed,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (
        f"{installed}/course/"
        in subprocess.run(
            [sys.executable, "-c", "import course.fanout.grade; print(course.fanout.grade.__file__)"],
            cwd=course,
            env=with_installed,
            capture_output=True,
            text=True,
        ).stdout
    )
    for student in STUDENTS:
        for graded, committed in zip(outputs(course, student), outputs(COURSE_ROOT, student)):
            assert graded.read_bytes() == committed.read_bytes(), graded


def outputs(root, student):
    """The autograded notebook and the feedback page of the student's submission."""
    assignment = edition_of(student)
    return Course(root).notebook(Stage.AUTOGRADED, student, assignment), Course(root).feedback_page(student, assignment)
