"""Grade one submission: bytes in, scores and the autograded notebook out.

`grade_submission(job)` is a pure unit of work. Everything it needs travels in the
job as bytes (the submission, the released helper files, a gradebook that knows the
assignment's source cells), and it runs in a scratch folder of its own, so it can
run in a local worker process or on any machine of a cluster. It never touches the
course's gradebook: the caller records the result.

The pipeline is nbgrader's autograde pipeline, run preprocessor by preprocessor:
sanitize (restore locked and test cells from the source, re-add deleted ones),
execute, then score each grade cell as nbgrader does.
"""
import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
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
from traitlets import Float
from traitlets.config import Config

from course import ASSIGNMENT, NOTEBOOK

KILLED = "KernelKilled"


@dataclass(frozen=True)
class AssignmentPackage:
    """What a worker needs to grade any submission of the assignment.

    files: released helper files by relative path (reg_utils.py, datasets/data.mat, ...);
    gradebook: an SQLite gradebook holding the assignment's source cells, hidden tests included.
    """
    files: dict
    gradebook: bytes


@dataclass(frozen=True)
class GradingJob:
    student: str
    submission: bytes
    package: AssignmentPackage
    cell_timeout: int = 60
    interrupt_grace: float = 10.0


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
    """nbgrader's Execute, plus: a kernel still busy after the timeout's interrupt is killed,
    and the grade cells it can no longer run are failed explicitly (nbgrader would give full
    marks to a test cell with no output)."""

    interrupt_grace = Float(10.0, help="Seconds an interrupted kernel gets to become responsive.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self.kernel_killed = False
        return super().preprocess(nb, resources, km)

    async def _async_handle_timeout(self, timeout, cell=None):
        reply = await super()._async_handle_timeout(timeout, cell)
        if not await self._answers_within(self.interrupt_grace):
            self.log.error("Kernel ignored the interrupt; killing it")
            self.kernel_killed = True
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

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self.kernel_killed:
            if nbgrader_utils.is_grade(cell) and cell.cell_type == "code":
                cell.outputs = [_killed_output("not run: the kernel ignored an interrupt and was killed")]
            return cell
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except (CellTimeoutError, DeadKernelError):
            if not self.kernel_killed:  # the kernel died on its own: let the caller report it
                raise
            cell.outputs.append(_killed_output("ran past the timeout and ignored the interrupt"))
            return cell

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the sync name to its own coroutine


def _killed_output(reason):
    return nbformat.v4.new_output("error", ename=KILLED, evalue=reason, traceback=[f"{KILLED}: {reason}"])


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


def _execution_config(job: GradingJob, scratch: Path) -> Config:
    config = Config()
    config.Execute.timeout = job.cell_timeout
    config.Execute.interrupt_on_timeout = True
    config.Execute.record_timing = False  # timestamps would make every autograded notebook differ
    config.Execute.coalesce_streams = True  # how output is chunked into messages varies from run to run
    config.GuardedExecute.interrupt_grace = job.interrupt_grace
    # IPC sockets under a path private to this job: concurrent kernel starts cannot race for TCP ports.
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(scratch / "kernel")
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

    scratch = Path(tempfile.mkdtemp(prefix=f"grade-{job.student[:40]}-"))
    try:
        nb = _grade_in(scratch, nb, job, result)
        result.scores = score_cells(nb)
        result.notebook = nbformat.writes(nb).encode("utf-8")
    except Exception as error:
        result.status = "error"
        result.problems.append(f"grading failed ({type(error).__name__}): {str(error).splitlines()[0][:300]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def _grade_in(scratch: Path, nb: NotebookNode, job: GradingJob, result: GradingResult) -> NotebookNode:
    workdir = scratch / ASSIGNMENT
    for name, data in job.package.files.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes(data)
    (scratch / "gradebook.db").write_bytes(job.package.gradebook)
    resources = {
        "nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "student": job.student,
                     "db_url": f"sqlite:///{scratch / 'gradebook.db'}"},
        "metadata": {"path": str(workdir)},
    }
    config = _execution_config(job, scratch)
    sanitize = [ClearOutput(config=config), DeduplicateIds(config=config), OverwriteKernelspec(config=config),
                OverwriteCells(config=config), CheckCellMetadata(config=config)]
    nb, resources = _run(sanitize, nb, resources)
    nb = _complete_restored_cells(nb)

    execute = GuardedExecute(config=config)
    # One kernel per core: BLAS threads in a kernel would only compete with the other workers' kernels.
    with nbgrader_utils.setenv(NBGRADER_EXECUTION="autograde", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"):
        nb, resources = _run([execute], nb, resources)
    if execute.kernel_killed:
        result.status = "killed"
        result.problems.append(f"a cell ran past the {job.cell_timeout} s timeout and the kernel ignored the "
                               "interrupt; it was killed and the remaining test cells scored 0")
    finish = [IgnorePattern(config=config), ClearMetadataPreprocessor(config=config), LimitOutput(config=config),
              CheckCellMetadata(config=config)]
    nb, _ = _run(finish, nb, resources)
    return _without_scratch_paths(nb, workdir)


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
    """Bundle the released helper files (not the notebook) and a template gradebook."""
    files = {str(path.relative_to(release_dir)): path.read_bytes()
             for path in sorted(release_dir.rglob("*"))
             if path.is_file() and path.suffix != ".ipynb" and "__pycache__" not in path.parts}
    return AssignmentPackage(files=files, gradebook=gradebook_file.read_bytes())
