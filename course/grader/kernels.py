"""Kernels started one submission ahead, each in a scratch folder laid out for grading.

A sandboxed kernel is forked from a warm parent (warm.py, forkserver.py: the worker's own, or the one
`grade` started and its workers share), which has imported Python's share of the start (ipykernel,
numpy, matplotlib) once; where forking is not possible, it starts fresh behind the same sandbox
(SandboxedKernelManager). What is left of a start does not depend on the student either: the scratch
folder holds the released helpers and the hidden cases' plans, both the assignment's. So when a worker
takes a kernel for one submission it starts the next one's, which boots while this one is graded.

scratch/<assignment>/ is the kernel's folder (the only one it sees when sandboxed). The helpers the
judge imports are the grader's alone (helpers.py: one copy per worker and package, outside every
scratch folder), as is the source notebook the submission is restored from (source_cells.py).
"""

import atexit
import math
import os
import shutil
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from traitlets.config import Config

from course.grader import helpers
from course.grader.helpers import TrustedHelpers
from course.grader.job import AssignmentPackage
from course.grader.sandbox import GRADING_ENVIRONMENT, Limits, SandboxedKernelManager, process_cap
from course.grader.warm import ForkedKernelManager, WarmParent, fork_unavailable_because, usual_parent

EXTRA_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]  # as nbclient starts kernels: no history file


@dataclass
class Kernel:
    scratch: Path
    manager: AsyncKernelManager
    fits: tuple  # what it was started for: the package's files, the sandbox flag and the limits
    cleanup: ExitStack
    package: AssignmentPackage

    @property
    def workdir(self) -> Path:
        return self.scratch / self.package.assignment

    @property
    def helpers(self) -> TrustedHelpers:
        return helpers.for_package(self.package)


_ahead: Kernel | None = None
_parent: WarmParent | None = None


def _fits(job) -> tuple:
    return job.package.digest, job.sandbox, job.limits


def kernel_for(job) -> Kernel:
    """A started kernel for `job`: the one started ahead if it was started for the same assignment,
    sandbox and limits and is still alive, else a new one; and start the next job's."""
    global _ahead
    kernel, _ahead = _ahead, None
    if kernel is None or kernel.fits != _fits(job) or not run_sync(kernel.manager.is_alive)():
        if kernel is not None:
            close(kernel)
        kernel = _start(job)
    _ahead = _start(job)
    return kernel


def close(kernel: Kernel) -> None:
    """Stop the kernel, whatever it is doing, and remove its cgroup and scratch folder."""
    if kernel.manager.has_kernel:
        run_sync(kernel.manager.shutdown_kernel)(now=True)
    kernel.cleanup.close()
    shutil.rmtree(kernel.scratch, ignore_errors=True)


@atexit.register
def close_all():
    """Close the kernel started ahead and the warm parent (in a worker forked from its owner, only this
    process's ends of it)."""
    global _ahead, _parent
    ahead, parent, _ahead, _parent = _ahead, _parent, None, None
    if ahead is not None:
        close(ahead)
    if parent is not None:
        parent.close()


def _warm_parent(limits: Limits) -> WarmParent:
    """The worker's warm parent, started anew when the limits change or it is gone."""
    global _parent
    if _parent is None or _parent.limits != limits or not _parent.alive():
        if _parent is not None:
            _parent.close()
        _parent = WarmParent(limits)
    return _parent


def warm_up(parent: WarmParent | None = None) -> None:
    """Have a warm parent ready before the first submission: `parent` (started earlier by this process),
    else the one this process has (inherited from the process it was forked from), else one started
    now, where kernels can be forked."""
    global _parent
    if parent is None and _parent is not None and _parent.alive():
        return
    if _parent is not None:
        _parent.close()
    _parent = parent or usual_parent()
    if _parent is not None:
        _parent.wait_up()  # before any worker is forked from this process: its one message is read here


def _start(job, again: bool = True) -> Kernel:
    """A kernel for `job` in a new scratch folder. A warm parent found gone at the fork is replaced once: it
    can die between the check and the fork (on a Dask worker, bubblewrap's --die-with-parent follows the
    thread that started it, and a worker shutting down ends its task thread first)."""
    global _parent
    parent = _warm_parent(job.limits) if job.sandbox and not fork_unavailable_because() else None
    scratch = Path(tempfile.mkdtemp(prefix="grade-", dir=parent and parent.root))
    cleanup = ExitStack()
    kernel = Kernel(scratch, None, _fits(job), cleanup, job.package)
    job.package.write_files(kernel.workdir)
    (kernel.workdir / ".kernel").mkdir()
    kernel.helpers.write_plans(kernel.workdir)
    cgroup = cleanup.enter_context(process_cap(job.limits.processes)) if job.sandbox else ""
    config = _manager_config(kernel.workdir, cgroup)
    start = {"extra_arguments": EXTRA_ARGUMENTS, "cwd": str(kernel.workdir)}
    if parent:
        kernel.manager = ForkedKernelManager(config=config, kernel_name="python3", warm_parent=parent)
    elif job.sandbox:
        config.SandboxedKernelManager.update(
            workdir=str(kernel.workdir),
            cgroup=cgroup,
            memory_bytes=job.limits.memory_bytes,
            processes=job.limits.processes,
        )
        kernel.manager = SandboxedKernelManager(config=config, kernel_name="python3")
    else:  # sandboxed kernels have the grading environment from sandbox.kernel_environment()
        kernel.manager = AsyncKernelManager(config=config, kernel_name="python3")
        start["env"] = os.environ | GRADING_ENVIRONMENT
    try:
        run_sync(kernel.manager.start_kernel)(**start)
    except (BrokenPipeError, ConnectionResetError):  # the warm parent's end of its socket is closed
        close(kernel)
        if not (parent and again):
            raise
        parent.close()
        if _parent is parent:
            _parent = None
        return _start(job, again=False)
    return kernel


class ReadyKernelClient(AsyncKernelClient):
    """jupyter_client's client, ready once the kernel has answered kernel_info and IOPub has carried a
    message (it is connected), as jupyter_client's own wait; but without its last step, waiting for
    IOPub to stay silent for 0.2 s: a fifth of a second of every kernel's start. What may still come on
    IOPub (the status of the kernel_info request) is passed over by nbclient, which reads only the
    messages of its own requests."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (math.inf if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
                if reply["msg_type"] == "kernel_info_reply":
                    await self.iopub_channel.get_msg(timeout=0.2)
                    self._handle_kernel_info_reply(reply)
                    return
            except Empty:
                pass
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")


def _manager_config(workdir: Path, cgroup: str) -> Config:
    config = Config()
    # IPC sockets and the connection file in the kernel's own folder: concurrent kernel starts cannot
    # race for TCP ports, and a sandboxed kernel, with no network, can still reach the grader.
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(workdir / ".kernel" / "ipc")
    config.KernelManager.connection_file = str(workdir / ".kernel" / "connection.json")
    config.ForkedKernelManager.cgroup = cgroup
    config.KernelManager.client_factory = ReadyKernelClient
    return config
