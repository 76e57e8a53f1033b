"""Grade one submission: bytes in, scores and the autograded notebook out.

`grade_submission(job)` is a pure unit of work. Everything it needs travels in the
job as bytes (the submission, the released helper files, a gradebook that knows the
assignment's source cells), and it runs in a scratch folder of its own, whose kernel
was started while the previous submission was graded (kernels.py), so it can run in a
local worker process or on any machine of a cluster. It never touches the course's
gradebook: the caller records the result and saves the notebook and feedback page it
returns.

The pipeline is nbgrader's autograde pipeline, run preprocessor by preprocessor:
sanitize (restore locked and test cells from the source, re-add deleted ones),
execute (in a bubblewrap sandbox, see sandbox.py; the cells tagged SKIP_TAG in the
release only train or plot and are not run), judge the test cells again in this
process against what the kernel handed in (judge.py), score each grade cell as
nbgrader does, and render the feedback page (feedback.py).
"""
import asyncio
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import nbformat
from jupyter_client.utils import ensure_async
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, Execute, IgnorePattern,
                                    LimitOutput, OverwriteCells, OverwriteKernelspec)
from traitlets import Bool, Float, Int, List, Unicode
from traitlets.config import Config

from course import ASSIGNMENT, NOTEBOOK
from course.feedback import render_feedback
from course.judge import TIMEOUT, judge_test_cells
from course.kernels import Kernel, close, kernel_for
from course.sandbox import Limits, unavailable_because

KILLED = "KernelKilled"


SKIP_TAG = "skip-at-grading"  # on the instructor's locked cells that only train or plot: no score depends on them
SKIPPED_NOTE = ("Not run at grading: this cell only trains or plots, and no score depends on it. "
                "Run the notebook yourself to see its output.\n")


@dataclass(frozen=True)
class AssignmentPackage:
    """What a worker needs to grade any submission of the assignment.

    files: released helper files by relative path (reg_utils.py, datasets/data.mat, ...);
    gradebook: an SQLite gradebook holding the assignment's source cells;
    skipped_at_grading: grade_ids of the locked cells tagged SKIP_TAG in the release (never the
    submission's tags: a student cannot untag a training cell, nor tag a test cell away).
    """
    files: dict
    gradebook: bytes
    skipped_at_grading: tuple = ()

    @cached_property
    def digest(self) -> str:
        """Tells two packages apart, even as copies unpickled in a worker."""
        digest = hashlib.sha256(self.gradebook)
        for name, data in sorted(self.files.items()):
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()


@dataclass(frozen=True)
class GradingJob:
    student: str
    submission: bytes
    package: AssignmentPackage
    cell_timeout: int = 60
    interrupt_grace: float = 10.0
    sandbox: bool = True  # run the kernel in bubblewrap (sandbox.py); off only for local debugging
    limits: Limits = Limits()
    full: bool = False  # run the cells that only train or plot too


@dataclass
class CellScore:
    grade_id: str
    points: float
    max_points: float
    failure: str = ""  # "ename: evalue" of the first error, empty when the cell passed


@dataclass
class GradingResult:
    student: str
    submission_sha256: str
    status: str  # "graded", "killed" (kernel ignored interrupts), "invalid" (not a notebook), "error"
    scores: list = field(default_factory=list)
    notebook: bytes = b""  # the autograded notebook, empty when nothing could be run
    feedback: bytes = b""  # its feedback page (HTML), rendered here so that the recorder only saves it
    problems: list = field(default_factory=list)  # what the instructor should look at
    seconds: float = 0.0

    @property
    def points(self):
        return sum(score.points for score in self.scores)

    @property
    def needs_attention(self):
        return self.status != "graded"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class GuardedExecute(Execute):
    """nbgrader's Execute, hardened for code nobody has reviewed:

    - a kernel still busy after the timeout's interrupt is killed;
    - a kernel that dies (os._exit, a crash, the memory cap) fails the cell it was running;
    - a cell's output beyond `output_limit` bytes is dropped and the cell interrupted;
    - once the submission has run `submission_timeout` seconds, no further cell starts.

    After a kill, a death or the time limit, the grade cells left are failed explicitly
    (nbgrader would give full marks to a test cell with no output).
    """

    interrupt_grace = Float(10.0, help="Seconds an interrupted kernel gets to become responsive.").tag(config=True)
    output_limit = Int(Limits.output_bytes, help="Bytes of output a cell may produce.").tag(config=True)
    submission_timeout = Int(Limits.submission_seconds, help="Seconds the whole notebook may run.").tag(config=True)
    skipped_grade_ids = List(Unicode(), help="Locked cells not run: they only train or plot.").tag(config=True)
    # How output is chunked into messages varies from run to run; merged streams make regrading
    # byte-for-byte reproducible. (nbclient's trait is not configurable, hence the override.)
    coalesce_streams = Bool(True)

    def preprocess(self, nb, resources=None, km=None):
        self.stopped = ""  # why the remaining cells are not run; empty while all is well
        self.deadline = time.monotonic() + self.submission_timeout
        self.cell_output_bytes, self.output_cut = 0, False
        return super().preprocess(nb, resources, km)

    def _get_timeout(self, cell):
        left = max(1, int(self.deadline - time.monotonic()))
        timeout = super()._get_timeout(cell)
        return min(timeout, left) if timeout else left

    async def _async_handle_timeout(self, timeout, cell=None):
        self.cell_timed_out = timeout
        reply = await super()._async_handle_timeout(timeout, cell)
        if not await self._answers_within(self.interrupt_grace):
            self.log.error("Kernel ignored the interrupt; killing it")
            self.stopped = "a cell ran past the timeout and the kernel ignored the interrupt, so it was killed"
            await ensure_async(self.km.shutdown_kernel(now=True))
        return reply

    async def _answers_within(self, seconds):
        """Whether the kernel replies to a kernel_info request within `seconds`."""
        msg_id = self.kc.kernel_info()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Exception:  # queue.Empty: no message in time
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    def output(self, outs, msg, display_id, cell_index):
        self.cell_output_bytes += len(json.dumps(msg["content"], default=str))
        if self.cell_output_bytes <= self.output_limit:
            return super().output(outs, msg, display_id, cell_index)
        if not self.output_cut:
            self.output_cut = True
            asyncio.ensure_future(ensure_async(self.km.interrupt_kernel()))
        return None

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if not self.stopped and time.monotonic() > self.deadline:
            self.stopped = f"the submission ran longer than {self.submission_timeout} s in all"
        if self.stopped:
            if nbgrader_utils.is_grade(cell) and cell.cell_type == "code":
                cell.outputs = [_killed_output(f"not run: {self.stopped}")]
            return cell
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in self.skipped_grade_ids:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=SKIPPED_NOTE)]
            return cell
        self.cell_output_bytes, self.output_cut, self.cell_timed_out = 0, False, 0
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except (CellTimeoutError, DeadKernelError):
            if not self.stopped:
                self.stopped = "the kernel died (os._exit, a crash or the memory cap)"
            cell.outputs.append(_killed_output(self.stopped))
            return cell
        if self.cell_timed_out:  # say what happened, in place of the errors the interrupt raised
            cell.outputs = [output for output in cell.outputs
                            if output.get("ename") not in ("KeyboardInterrupt", "CellTimeoutError")]
            cell.outputs.append(_killed_output(f"stopped after {self.cell_timed_out} s, the per-cell limit: "
                                               "an endless loop?", TIMEOUT))
        if self.output_cut:
            cell.outputs.append(_killed_output(f"the cell printed more than {self.output_limit // 2**20} MiB; "
                                               "the rest was dropped and the cell interrupted", "OutputLimit"))
        return cell

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the sync name to its own coroutine


def _killed_output(reason, ename=KILLED):
    return nbformat.v4.new_output("error", ename=ename, evalue=reason, traceback=[f"{ename}: {reason}"])


def _why_unreadable(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "the file is not UTF-8 text"
    if isinstance(error, nbformat.reader.NotJSONError):
        return "the file is not valid JSON (truncated or edited outside Jupyter?)"
    return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"


def _complete_restored_cells(nb):
    """Cells that OverwriteCells re-added hold plain dicts and no id: make them proper cells,
    with their grade_id as a stable id (a random one would make regrading non-reproducible)."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        cell.setdefault("id", cell.metadata.get("nbgrader", {}).get("grade_id", "restored-cell"))
    return nb


def _run(preprocessors, nb, resources):
    """Apply preprocessors the way an nbconvert exporter does, honouring their `enabled` flag."""
    for preprocessor in preprocessors:
        nb, resources = preprocessor(nb, resources)
    return nb, resources


def _first_failure(cell) -> str:
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}".strip()
        if output.output_type == "stream" and output.name == "stderr":
            return "wrote to stderr: " + output.text.strip().splitlines()[0] if output.text.strip() else "stderr"
    return ""


def score_cells(nb) -> list:
    """Each grade cell's points, as nbgrader's determine_grade gives them."""
    scores = []
    for cell in nb.cells:
        if nbgrader_utils.is_grade(cell):
            points, max_points = nbgrader_utils.determine_grade(cell)
            scores.append(CellScore(cell.metadata.nbgrader["grade_id"], float(points or 0), max_points,
                                    _first_failure(cell) if (points or 0) < max_points else ""))
    return scores


def _execution_config(job: GradingJob) -> Config:
    config = Config()
    config.Execute.timeout = job.cell_timeout
    config.Execute.interrupt_on_timeout = True
    config.Execute.record_timing = False  # timestamps would make every autograded notebook differ
    config.GuardedExecute.interrupt_grace = job.interrupt_grace
    config.GuardedExecute.output_limit = job.limits.output_bytes
    config.GuardedExecute.submission_timeout = job.limits.submission_seconds
    config.GuardedExecute.skipped_grade_ids = [] if job.full else list(job.package.skipped_at_grading)
    config.OverwriteCells.add_missing_cells = True
    return config


def grade_submission(job: GradingJob) -> GradingResult:
    """Autograde one submission in a scratch folder; never raises for a bad submission."""
    started = time.monotonic()
    result = GradingResult(job.student, sha256(job.submission), "graded")
    try:
        nb = nbformat.reads(job.submission.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # bad UTF-8, bad JSON, not a notebook: all mean the same to the student
        result.status = "invalid"
        result.problems.append(f"not a notebook: {_why_unreadable(error)}")
        result.seconds = time.monotonic() - started
        return result

    if job.sandbox and (reason := unavailable_because()):
        result.status = "error"
        result.problems.append(f"not graded: the sandbox cannot run on this machine ({reason})")
        return result
    kernel = kernel_for(job)
    try:
        nb = _grade_in(kernel, nb, job, result)
        result.scores = score_cells(nb)
        result.notebook = nbformat.writes(nb).encode("utf-8")
        result.feedback = render_feedback(nb, job.student)
    except Exception as error:
        result.status = "error"
        result.problems.append(f"grading failed ({type(error).__name__}): {str(error).splitlines()[0][:300]}")
    finally:
        close(kernel)
    result.seconds = time.monotonic() - started
    return result


def _grade_in(kernel: Kernel, nb: NotebookNode, job: GradingJob, result: GradingResult) -> NotebookNode:
    """Sanitize, execute on the kernel, judge, then tidy up as nbgrader's autograde does."""
    resources = {
        "nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "student": job.student,
                     "db_url": f"sqlite:///{kernel.gradebook}"},
        "metadata": {"path": str(kernel.workdir)},
    }
    config = _execution_config(job)
    sanitize = [ClearOutput(config=config), DeduplicateIds(config=config), OverwriteKernelspec(config=config),
                OverwriteCells(config=config), CheckCellMetadata(config=config)]
    nb, resources = _run(sanitize, nb, resources)
    nb = _complete_restored_cells(nb)
    execute = GuardedExecute(config=config)
    try:
        nb, resources = execute.preprocess(nb, resources, km=kernel.manager)
    finally:
        if execute.kc is not None:
            execute.kc.stop_channels()
    if execute.stopped:
        result.status = "killed"
        result.problems.append(f"{execute.stopped}; the test cells left were scored 0")
    nb = judge_test_cells(nb, kernel.helpers, kernel.workdir / ".handin")
    finish = [IgnorePattern(config=config), ClearMetadataPreprocessor(config=config), LimitOutput(config=config),
              CheckCellMetadata(config=config)]
    nb, _ = _run(finish, nb, resources)
    return _without_scratch_paths(nb, kernel.workdir)


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


def package_from(release_dir: Path, gradebook_file: Path) -> AssignmentPackage:
    """Bundle the released helper files (not the notebook), a template gradebook and the grade_ids of
    the released notebook's cells that grading skips."""
    files = {str(path.relative_to(release_dir)): path.read_bytes()
             for path in sorted(release_dir.rglob("*"))
             if path.is_file() and path.suffix != ".ipynb" and "__pycache__" not in path.parts}
    release_nb = nbformat.read(release_dir / f"{NOTEBOOK}.ipynb", as_version=4)
    skipped = tuple(cell.metadata.nbgrader["grade_id"] for cell in release_nb.cells
                    if SKIP_TAG in cell.metadata.get("tags", []) and cell.metadata.get("nbgrader", {}).get("locked"))
    return AssignmentPackage(files=files, gradebook=gradebook_file.read_bytes(), skipped_at_grading=skipped)
