"""Grade one submission: bytes in; scores, the autograded notebook and its feedback page out.

`grade_submission(job)` is a pure unit of work. Everything it needs travels in the job as bytes
(the submission and the assignment package: released helpers, a gradebook that knows the source
cells), and it runs in a scratch folder whose kernel was started while the previous submission was
graded (kernels.py), so it runs the same in a local worker process or on any machine of a cluster.
It never touches the course's gradebook: the caller records the result and saves the files.

The pipeline is nbgrader's autograde pipeline, step by step, in the order `_grade_in` shows:
sanitize (restore locked and test cells from the source, read once per worker: source_cells.py;
re-add deleted ones), execute in a bubblewrap sandbox (execute.py, sandbox.py; the cells that only
train or plot are not run), judge the test cells again in this process against what the kernel
handed in (judge.py), tidy up, score each grade cell as nbgrader does, and render the feedback page
(feedback.py).
"""

import functools
import os
import time
from pathlib import Path

import jsonschema
import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor, Preprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
)
from traitlets import Bool
from traitlets.config import Config

from course.grader.execute import GuardedExecute
from course.grader.feedback import render_feedback
from course.grader.job import CellScore, GradingJob, GradingResult, Status, sha256
from course.grader.judge import judge_test_cells, judged
from course.grader.kernels import Kernel, close, kernel_for
from course.grader.sandbox import unavailable_because
from course.grader.source_cells import OverwriteCellsOnce, OverwriteKernelspecOnce
from course.grader.source_cells import for_package as source_for_package
from course.i18n.catalogue import N_
from course.layout import NOTEBOOK
from course.record.attention import not_a_notebook


class DropInterpreterVersion(Preprocessor):
    """The kernel writes its Python's full version (3.11.2, 3.11.7, ...) into the notebook's
    language_info: drop it, so the same submission grades to the same bytes on every machine."""

    enabled = Bool(True)  # nbconvert's preprocessors start disabled, and _run honours that

    def preprocess(self, nb, resources):
        nb.metadata.get("language_info", {}).pop("version", None)
        return nb, resources


class CompiledMetadataValidator(MetadataValidator):
    """nbgrader's validator of the cells' nbgrader metadata, with its JSON schema checked and compiled once:
    nbgrader calls jsonschema.validate for each cell, which checks the schema itself again every time
    (9 ms a notebook). Cells of another schema version go to nbgrader's own check, which names the version."""

    @functools.cached_property
    def compiled(self):
        return jsonschema.validators.validator_for(self.schema)(self.schema)

    def validate_cell(self, cell):
        metadata = cell.metadata.get("nbgrader")
        if metadata is not None and metadata.get("schema_version", 0) == self.schema_version:
            self.compiled.validate(metadata)
        else:
            super().validate_cell(cell)


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's CheckCellMetadata (valid metadata, unique grade ids), with one validator for the process."""

    validator = CompiledMetadataValidator()

    def preprocess(self, nb, resources):
        try:
            self.validator.validate_nb(nb)
        except ValidationError as error:
            raise ValidationError("Notebook failed to validate; the nbgrader metadata may be corrupted.") from error
        return nb, resources


# nbgrader's own steps before and after the run, in nbgrader autograde's order, and ours last.
SANITIZE = (ClearOutput, DeduplicateIds, OverwriteKernelspecOnce, OverwriteCellsOnce, CheckCellMetadataOnce)
TIDY = (IgnorePattern, ClearMetadataPreprocessor, LimitOutput, CheckCellMetadataOnce, DropInterpreterVersion)


def grade_submission(job: GradingJob) -> GradingResult:
    """Autograde one submission in a scratch folder; never raises for a bad submission."""
    started = time.monotonic()
    result = GradingResult(job.student, job.package.assignment, sha256(job.submission), Status.GRADED)
    try:
        nb = nbformat.reads(job.submission.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # bad UTF-8, bad JSON, not a notebook: all mean the same to the student
        result.status = Status.INVALID
        result.problems.append(not_a_notebook(_why_unreadable(error)))
        result.seconds = time.monotonic() - started
        return result

    if job.sandbox and (reason := unavailable_because()):
        result.status = Status.ERROR
        result.problems.append(f"not graded: the sandbox cannot run on this machine ({reason})")
        return result
    kernel = kernel_for(job)
    try:
        nb = _grade_in(kernel, nb, job, result)
        result.scores = score_cells(nb)
        result.notebook = nbformat.writes(nb).encode("utf-8")
        result.feedback = render_feedback(nb, job.student, job.package.assignment, job.package.language)
    except Exception as error:
        result.status = Status.ERROR
        result.problems.append(f"grading failed ({type(error).__name__}): {str(error).splitlines()[0][:300]}")
    finally:
        close(kernel)
    result.seconds = time.monotonic() - started
    return result


def _grade_in(kernel: Kernel, nb: NotebookNode, job: GradingJob, result: GradingResult) -> NotebookNode:
    """Sanitize, execute on the kernel, judge, then tidy up as nbgrader's autograde does."""
    resources = {
        "nbgrader": {
            "notebook": NOTEBOOK,
            "assignment": job.package.assignment,
            "student": job.student,
            "source": source_for_package(job.package),
        },
        "metadata": {"path": str(kernel.workdir)},
    }
    config = _execution_config(job)
    nb, resources = _run(SANITIZE, config, nb, resources)
    nb = _complete_restored_cells(nb)
    execute = GuardedExecute(config=config)
    try:
        nb, resources = execute.preprocess(nb, resources, km=kernel.manager)
    finally:
        if execute.kc is not None:
            execute.kc.stop_channels()
    if execute.stopped:
        result.status = Status.KILLED
        result.problems.append(f"{execute.stopped}; the test cells left were scored 0")
    nb = judge_test_cells(nb, kernel.helpers, kernel.workdir, job.package.parts)
    nb, _ = _run(TIDY, config, nb, resources)
    return _without_scratch_paths(nb, kernel.workdir)


def _why_unreadable(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return N_("the file is not UTF-8 text")
    if isinstance(error, nbformat.reader.NotJSONError):
        return N_("the file is not valid JSON (truncated or edited outside Jupyter?)")
    return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"


def _complete_restored_cells(nb):
    """Cells that OverwriteCells re-added hold plain dicts and no id: make them proper cells,
    with their grade_id as a stable id (a random one would make regrading non-reproducible)."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        cell.setdefault("id", cell.metadata.get("nbgrader", {}).get("grade_id", "restored-cell"))
    return nb


def _run(steps, config, nb, resources):
    """Apply nbgrader's preprocessors the way an nbconvert exporter does, honouring their `enabled` flag."""
    for step in steps:
        nb, resources = step(config=config)(nb, resources)
    return nb, resources


def _first_failure(cell) -> str:
    if failure := judged(cell)[0]:
        return failure.strip()
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stderr":
            return "wrote to stderr: " + output.text.strip().splitlines()[0] if output.text.strip() else "stderr"
    return ""


def score_cells(nb) -> list:
    """Each grade cell's points, as nbgrader's determine_grade gives them."""
    scores = []
    for cell in nb.cells:
        if nbgrader_utils.is_grade(cell):
            points, max_points = nbgrader_utils.determine_grade(cell)
            scores.append(
                CellScore(
                    cell.metadata.nbgrader["grade_id"],
                    float(points or 0),
                    max_points,
                    _first_failure(cell) if (points or 0) < max_points else "",
                )
            )
    return scores


def _execution_config(job: GradingJob) -> Config:
    config = Config()
    config.Execute.timeout = job.cell_timeout
    config.Execute.interrupt_on_timeout = True
    config.Execute.record_timing = False  # timestamps would make every autograded notebook differ
    config.GuardedExecute.output_limit = job.limits.output_bytes
    config.GuardedExecute.submission_timeout = job.limits.submission_seconds
    config.GuardedExecute.skipped_grade_ids = [] if job.full else list(job.package.skipped_at_grading)
    config.GuardedExecute.language = job.package.language
    config.OverwriteCells.add_missing_cells = True
    return config


def _without_scratch_paths(nb, workdir: Path):
    """Tracebacks name files by their scratch path; make it relative to the assignment folder,
    which reads better and makes regrading byte-for-byte reproducible."""
    prefix = str(workdir) + os.sep
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "traceback" in output:
                output.traceback = [line.replace(prefix, "") for line in output.traceback]
            if "text" in output:
                output.text = output.text.replace(prefix, "")
    return nb
