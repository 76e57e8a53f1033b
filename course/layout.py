"""Where everything lives in the course folder: nbgrader's layout, named once.

<root>/nbgrader_config.py, reg_utils.py, ...   the helpers everyone edits (HELPER_FILES)
<root>/source/<assignment>/                    the instructor's notebook, with copies of the helpers
                                               (helper_sources: the course's, and the package's
                                               compiled message catalogues) and language.txt,
                                               the edition's language
<root>/release/<assignment>/                   what students get (nbgrader generate_assignment)
<root>/submitted/<student>/<assignment>/       a submission, with nbgrader collect's timestamp.txt
<root>/autograded/<student>/<assignment>/      its graded notebook and grading.json
<root>/feedback/<student>/<assignment>/        its feedback page
<root>/grades.csv, report/, students.csv       the class's grades, the class report, the roster
<root>/locale/<language>/                      the translation of the notebook's text
course/i18n/locale/<language>/                 the translation of the messages (in the package)

Course(root).path(stage, student, assignment) makes every one of these paths, the edition always named.
A command works on the course folder it runs in, as nbgrader's do (course_root); the package
itself carries only code, the feedback page's template and the messages' catalogues.

Each edition of the assignment is an nbgrader assignment of its own (EDITIONS): the English source
notebook is the one anyone edits, the others are built from it and a translation of its text.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from course.i18n.catalogue import SOURCE_LANGUAGE, catalogue_file

if TYPE_CHECKING:  # imported where used: nbgrader is slow to import
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config


@dataclass(frozen=True)
class Edition:
    assignment: str  # the nbgrader assignment id
    language: str  # gettext's code for the language of its text: "en", "zh_CN"


PACKAGE_DIR = Path(__file__).resolve().parent
EDITIONS = (Edition("regularization", "en"), Edition("regularization-zh", "zh_CN"))
ASSIGNMENT = EDITIONS[0].assignment  # the English edition, whose source notebook is the one anyone edits
NOTEBOOK = "Regularization"  # the notebook's name in every edition
HELPER_FILES = (
    "reg_utils.py",
    "testCases.py",
    "testCases.json",
    "public_tests.py",
    "handin.py",
    "translation.py",  # with the edition's catalogue (helper_sources): messages in the edition's language
    "datasets/data.mat",
)
ROSTER = "students.csv"  # id,first_name,last_name,email, as `nbgrader db student import` reads it
GRADES_CSV = "grades.csv"
REPORT_DIR = "report"


def edition(assignment: str) -> Edition:
    return next(edition for edition in EDITIONS if edition.assignment == assignment)


def helper_sources(root: Path) -> dict[str, Path]:
    """{path in an edition's folder: the file it copies}: the course's HELPER_FILES, and each translated
    edition's compiled message catalogue, which the package carries (the grader reads it too)."""
    catalogues = {
        str(catalogue_file(e.language, locale_dir=Path("locale"))): catalogue_file(e.language)
        for e in EDITIONS
        if e.language != SOURCE_LANGUAGE
    }
    return {name: Path(root) / name for name in HELPER_FILES} | catalogues


def course_root(given: str = "") -> Path:
    """The course folder a command works on: the one given, else the current folder, which must hold
    nbgrader_config.py (as for nbgrader's own commands)."""
    root = Path(given or ".").resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise SystemExit(f"{root} is not a course folder (it has no nbgrader_config.py): run from the course's folder")
    return root


def submission_name(student: str, assignment: str | None) -> str:
    """How the instructor reads a submission's name: the student, with the edition if not the English one."""
    return student if assignment in (ASSIGNMENT, None) else f"{student} ({assignment})"


class Stage(StrEnum):
    """nbgrader's steps, each a folder of the course."""

    SOURCE = "source"
    RELEASE = "release"
    SUBMITTED = "submitted"
    AUTOGRADED = "autograded"
    FEEDBACK = "feedback"


@dataclass(frozen=True)
class Course:
    """A course folder, and the one place its paths are made (as nbgrader's CourseDirectory.format_path):
    every path names its stage, its student (None for source and release) and its edition."""

    root: Path

    def path(self, stage: Stage, student: str | None, assignment: str) -> Path:
        """<root>/<stage>[/<student>]/<assignment>: source and release have no student folder."""
        folder = Path(self.root) / stage if student is None else Path(self.root) / stage / student
        return folder / assignment

    def notebook(self, stage: Stage, student: str | None, assignment: str) -> Path:
        return self.path(stage, student, assignment) / f"{NOTEBOOK}.ipynb"

    def feedback_page(self, student: str, assignment: str) -> Path:
        return self.path(Stage.FEEDBACK, student, assignment) / f"{NOTEBOOK}.html"

    def students(self, stage: Stage, assignment: str) -> list[str]:
        """Students with a folder for the assignment under <root>/<stage>, sorted."""
        return sorted(folder.parent.name for folder in (Path(self.root) / stage).glob(f"*/{assignment}"))


def copy_course(target: Path, root: Path, folders=("source",)) -> Path:
    """A separate course at target: nbgrader_config.py (which anchors paths to its own folder), the
    helpers, the translations and the given folders, without a gradebook. Tests and benchmarks work in such copies."""
    for name in ("nbgrader_config.py", *HELPER_FILES):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, target / name)
    for folder in ("locale", *folders):
        shutil.copytree(
            root / folder,
            target / folder,
            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
            dirs_exist_ok=True,
        )
    return target


def course_config(root: Path) -> Config:
    """The course's nbgrader_config.py as nbgrader loads it."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def course_directory(root: Path) -> CourseDirectory:
    """nbgrader's view of the course under root: its folders and gradebook URL."""
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=course_config(root))


@contextlib.contextmanager
def course_modules(folder: Path, kept: dict | None = None) -> Iterator[None]:
    """The helper modules of `folder` importable by their plain names (reg_utils, ...), for the
    duration only: another job may bring other versions of them. `kept`, for a folder that never
    changes, holds its modules between uses: imported on the first, the same module objects after."""
    names = [path.stem for path in Path(folder).glob("*.py")]
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    sys.path.insert(0, str(folder))
    sys.modules.update(kept or {})
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in names:
            module = sys.modules.pop(name, None)
            if kept is not None and module is not None:
                kept[name] = module
        sys.modules.update(saved)
