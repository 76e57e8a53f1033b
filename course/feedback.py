"""Feedback for students: nbgrader's own HTML feedback, minus the hidden tests.

    write_feedback(root, students=None) -> dict[str, Path]

writes feedback/<student>/<assignment>/<notebook>.html from the autograded notebooks through
nbgrader's GenerateFeedback converter (via NbGraderAPI). nbgrader would show the hidden tests,
which the autograder put back into the test cells, so two small preprocessors are added to the
converter: one replaces each hidden-test block with a comment, one cuts error tracebacks in grade
cells down to "ExceptionName: message" (IPython prints the source lines of every frame, and the
test cell's frame is hidden-test code).
"""
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader import utils
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import Unicode

from course import ASSIGNMENT, NOTEBOOK, course_config


class HideHiddenTests(NbGraderPreprocessor):
    """Replace every BEGIN/END HIDDEN TESTS block with one comment line, so students see
    that more tests ran without seeing them."""

    begin_delimiter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_delimiter = Unicode("END HIDDEN TESTS").tag(config=True)
    placeholder = Unicode("# hidden tests are not shown").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        lines, hiding = [], False
        for line in cell.source.split("\n"):
            if self.begin_delimiter in line:
                hiding = True
                indent = line[:len(line) - len(line.lstrip())]
                lines.append(indent + self.placeholder)
            elif self.end_delimiter in line:
                hiding = False
            elif not hiding:  # an unterminated block hides the rest of the cell
                lines.append(line)
        cell.source = "\n".join(lines)
        return cell, resources


class ShortenGradeCellErrors(NbGraderPreprocessor):
    """Replace the traceback of each error in a grade cell by "ExceptionName: message":
    the message is the feedback, the frames would quote hidden-test lines."""

    def preprocess_cell(self, cell, resources, index):
        if utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}" if output.evalue else output.ename]
        return cell, resources


def autograded_students(root: Path) -> list[str]:
    """Students with an autograded notebook on disk, sorted."""
    pattern = f"autograded/*/{ASSIGNMENT}/{NOTEBOOK}.ipynb"
    return sorted(path.parent.parent.name for path in Path(root).glob(pattern))


def feedback_path(root: Path, student: str) -> Path:
    return Path(root) / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"


def write_feedback(root: Path, students=None) -> dict[str, Path]:
    """Generate (overwrite) the feedback HTML of each student, by default of every autograded one.

    Returns {student: html path}. Every student is attempted; if any fails, RuntimeError
    names them with nbgrader's log, after the others are written.
    """
    root = Path(root)
    config = course_config(root)
    # GetGrades first: it copies the scores into the cells that the template displays.
    config.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, ShortenGradeCellErrors,
                                             CSSHTMLHeaderPreprocessor]
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    written, failures = {}, []
    for student in (autograded_students(root) if students is None else sorted(students)):
        result = api.generate_feedback(ASSIGNMENT, student_id=student, force=True)
        if result["success"] and feedback_path(root, student).exists():
            written[student] = feedback_path(root, student)
        else:
            failures.append(f"{student}:\n{result.get('error', '')}{result.get('log', '')}")
    if failures:
        raise RuntimeError("feedback failed for\n" + "\n".join(failures))
    return written
