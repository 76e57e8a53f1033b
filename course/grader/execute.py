"""nbgrader's Execute step, hardened for code nobody has reviewed (see GuardedExecute)."""

import asyncio
import json
import time

import nbformat
from jupyter_client.utils import ensure_async
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Int, List, Unicode

from course.grader.sandbox import Limits
from course.i18n.catalogue import N_, SOURCE_LANGUAGE, translations

KILLED = "KernelKilled"  # the error name of a cell stopped by a kill, a death or the submission's time limit
TIMEOUT = "Timeout"  # the error name of a cell stopped by the per-cell limit
SKIPPED_NOTE = N_(
    "Not run at grading: this cell only trains or plots, and no score depends on it. "
    "Run the notebook yourself to see its output."
)


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
    language = Unicode(SOURCE_LANGUAGE, help="The language of what the cells are told (a locale code).").tag(
        config=True
    )
    # How output is chunked into messages varies from run to run; merged streams make regrading
    # byte-for-byte reproducible. (nbclient's trait is not configurable, hence the override.)
    coalesce_streams = Bool(True)

    def preprocess(self, nb, resources=None, km=None):
        self.stopped = ""  # why the remaining cells are not run, for the instructor; empty while all is well
        self.stopped_for_students = ""  # the same, in the edition's language
        self._ = translations(self.language).gettext
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
            self._stop(N_("a cell ran past the timeout and the kernel ignored the interrupt, so it was killed"))
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
            self._stop(N_("the submission ran longer than {seconds} s in all"), seconds=self.submission_timeout)
        if self.stopped:
            if nbgrader_utils.is_grade(cell) and cell.cell_type == "code":
                cell.outputs = [_killed_output(self._("not run: {reason}").format(reason=self.stopped_for_students))]
            return cell
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in self.skipped_grade_ids:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=self._(SKIPPED_NOTE) + "\n")]
            return cell
        self.cell_output_bytes, self.output_cut, self.cell_timed_out = 0, False, 0
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except (CellTimeoutError, DeadKernelError):
            if not self.stopped:
                self._stop(N_("the kernel died (os._exit, a crash or the memory cap)"))
            cell.outputs.append(_killed_output(self.stopped_for_students))
            return cell
        if self.cell_timed_out:  # say what happened, in place of the errors the interrupt raised
            cell.outputs = [
                output
                for output in cell.outputs
                if output.get("ename") not in ("KeyboardInterrupt", "CellTimeoutError")
            ]
            stopped = self._("stopped after {seconds} s, the per-cell limit: an endless loop?")
            cell.outputs.append(_killed_output(stopped.format(seconds=self.cell_timed_out), TIMEOUT))
        if self.output_cut:
            too_much = self._("the cell printed more than {mib} MiB; the rest was dropped and the cell interrupted")
            cell.outputs.append(_killed_output(too_much.format(mib=self.output_limit // 2**20), "OutputLimit"))
        return cell

    def _stop(self, reason: str, **values) -> None:
        """Run no more cells, for `reason` (a message with its values)."""
        self.stopped = reason.format(**values)
        self.stopped_for_students = self._(reason).format(**values)

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the sync name to its own coroutine


def _killed_output(reason, ename=KILLED):
    return nbformat.v4.new_output("error", ename=ename, evalue=reason, traceback=[f"{ename}: {reason}"])
