"""The grader's side of forked kernels: a warm parent (forkserver.py, whose docstring is the threat model),
and a kernel manager that forks from it instead of starting a fresh Python. `grade` starts one before
its own imports, and its workers, forked from it, share it; elsewhere each worker starts its own."""

import hashlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, Unicode

from course.grader import forkserver
from course.grader.sandbox import Limits, kernel_environment, parent_command, unavailable_because
from course.kept import CACHE_DIR, keep

LAUNCHER = ["-m", "ipykernel_launcher"]
STARTS = 10  # bubblewrap's starts for one warm parent, at most
log = logging.getLogger(__name__)  # what jupyter_client's kernel command runs, after the Python


class WarmParent:
    """forkserver.py running in the sandbox, under `limits`, forking kernels whose folders are under `root`."""

    def __init__(self, limits: Limits, warm: bool = True):
        self.limits, self.warm = limits, warm
        self.root = Path(tempfile.mkdtemp(prefix="grade-kernels-"))
        self.owner = os.getpid()  # the process that stops it; the workers forked from it only fork from it
        self.up = False  # its first message came: bubblewrap has set the sandbox up
        self._start()

    def _start(self):
        self.channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        source = Path(forkserver.__file__).read_text()
        self.process = subprocess.Popen(
            [
                *parent_command(self.root, self.limits),
                *(sys.executable, "-c", source, str(theirs.fileno()), str(self.root)),
                *([] if self.warm else ["cold"]),
            ],
            env=kernel_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=[theirs.fileno()],
            start_new_session=True,  # out of the grader's process group (see forkserver.py)
        )
        theirs.close()
        self.pidfd = os.pidfd_open(self.process.pid)  # a forked worker, which cannot wait() for it, can poll this

    def wait_up(self):
        """Return once bubblewrap has set the sandbox up and the parent runs (its imports may go on). While
        a useradd, say, replaces the files of /etc that bubblewrap covers, bubblewrap may fail at its start:
        then it is started again (STARTS times at most), by the process that owns it."""
        starts = 1
        while not self.up:
            self.up = _readable_within(self.channel, 60) and self.channel.recv(16) == forkserver.UP
            if self.up:
                return
            if os.getpid() != self.owner or starts == STARTS:
                raise BrokenPipeError(f"bubblewrap did not start the warm parent ({starts} starts)")
            self._end()
            self._start()
            starts += 1

    def alive(self) -> bool:
        """Whether bubblewrap, and so the parent, still runs."""
        return not _readable_within(self.pidfd, 0)

    def fork(self, workdir: Path, argv: list, cgroup: str) -> "ForkedKernel":
        """A kernel running `ipykernel_launcher argv` in `workdir` (under root), in `cgroup` if given."""
        self.wait_up()
        reports, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        request = {
            "workdir": str(workdir),
            "argv": argv,
            "memory_bytes": self.limits.memory_bytes,
            "processes": 0 if cgroup else self.limits.processes,
        }
        socket.send_fds(self.channel, [json.dumps(request).encode()], [theirs.fileno()])
        theirs.close()
        try:
            waiter = _receive_pidfd(reports, "waiter")
            try:
                if cgroup:
                    Path(cgroup, "cgroup.procs").write_text(str(_pid(waiter)))
            finally:
                os.close(waiter)
            reports.send(b"go")
            return ForkedKernel(_receive_pidfd(reports, "kernel"), reports)
        except BaseException:
            reports.close()
            raise

    def close(self):
        """Stop the parent, and with it every kernel it forked (bubblewrap's --die-with-parent, then the
        end of its PID namespace), and remove the folder their scratch folders were made in. The parent
        keeps nothing worth a graceful exit, which would cost its interpreter's teardown. In a process
        forked from the owner, only this process's copies of the channel and the pidfd are closed."""
        self._end()
        if os.getpid() == self.owner:
            shutil.rmtree(self.root, ignore_errors=True)

    def _end(self):
        self.channel.close()
        os.close(self.pidfd)
        if os.getpid() == self.owner:
            self.process.kill()
            self.process.wait()


def _readable_within(fd, seconds: float | None) -> bool:
    """Whether `fd` (a pidfd: its process has ended; a socket: a message or its end) is readable within
    `seconds` (None: wait until it is)."""
    poller = select.poll()  # not select.select, which takes no descriptor past 1023
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(None if seconds is None else seconds * 1000))


def _receive_pidfd(reports: socket.socket, what: str) -> int:
    message, fds, _, _ = socket.recv_fds(reports, forkserver.MESSAGE_BYTES, 1)
    report = json.loads(message or b"{}")
    if what not in report or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise RuntimeError(f"the warm parent could not start a kernel: {report.get('error', 'no answer')}")
    return fds[0]


def _pid(pidfd: int) -> int:
    """The process's PID in this process's namespace."""
    for line in Path(f"/proc/self/fdinfo/{pidfd}").read_text().splitlines():
        if line.startswith("Pid:"):
            return int(line.split()[1])
    raise RuntimeError("not a pidfd")


class ForkedKernel:
    """What jupyter_client needs of a subprocess.Popen, for a forked kernel: its pidfd to signal it and
    see it end, and the waiter's channel for its exit status."""

    stdin = stdout = stderr = None

    def __init__(self, pidfd: int, reports: socket.socket):
        self.pidfd, self.reports = pidfd, reports
        self.pid = _pid(pidfd)
        self.returncode = None
        self.error = ""  # why it died before it could run anything

    def _exits_within(self, seconds) -> bool:
        """Whether the kernel has exited or does within `seconds` (None: wait until it does)."""
        return _readable_within(self.pidfd, seconds)

    def poll(self):
        if self.returncode is None and self._exits_within(0):
            report = json.loads(self.reports.recv(forkserver.MESSAGE_BYTES) or b"{}")
            # No report: the waiter was killed too (the pids cgroup removed), and the kernel with it.
            self.returncode = report.get("exit", 1 if report else -signal.SIGKILL)
            self.error = report.get("error", "")
            if self.error:  # the kernel died before it could run anything: say why, in the grader's log
                log.error("a forked kernel could not start: %s", self.error)
            os.close(self.pidfd)
            self.reports.close()
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            self._exits_within(timeout)
        if self.poll() is None:
            raise subprocess.TimeoutExpired("kernel", timeout)
        return self.returncode

    def send_signal(self, signum):
        """Signal the kernel; after SIGKILL, wait for its end, which comes within milliseconds (a second at
        most): jupyter_client looks right after, and finding it alive, sleeps a tenth of a second."""
        if self.poll() is None:
            signal.pidfd_send_signal(self.pidfd, signum)
            if signum == signal.SIGKILL:
                self._exits_within(1)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class ForkedKernelManager(AsyncKernelManager):
    """Starts the kernel as a fork of a warm parent, in the scratch folder given as `cwd`. Interrupts travel
    as messages on the control channel, as for any sandboxed kernel."""

    warm_parent = Any(help="The WarmParent to fork from.")
    cgroup = Unicode("", help="pids cgroup the kernel joins (empty: RLIMIT_NPROC instead).").tag(config=True)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if kernel_cmd[1:3] != LAUNCHER:
            raise ValueError(f"not an ipykernel command: {kernel_cmd}")
        process = self.warm_parent.fork(Path(kw["cwd"]), kernel_cmd[3:], self.cgroup)
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid, provisioner.cwd = process, process.pid, None, kw["cwd"]
        self._reconcile_connection_info(provisioner.connection_info)

    async def interrupt_kernel(self):
        self.kernel_spec.interrupt_mode = "message"
        await super().interrupt_kernel()


@lru_cache(maxsize=1)
def fork_unavailable_because() -> str:
    """Why kernels cannot be forked from a warm parent here, or "" when they can. Where bubblewrap runs
    but its processes may not make namespaces of their own (Ubuntu's AppArmor rules allow bubblewrap
    alone, say), kernels start fresh in bubblewrap instead. Checked once per system, account, Python
    and bubblewrap by forking a real kernel that only prints its version; a success is kept in the cache
    folder (a failure is checked again next time: it may have been the load of the moment)."""
    facts = [os.uname().release, str(os.geteuid()), sys.executable, _bubblewrap_version()]
    facts.append(Path(forkserver.__file__).read_text())
    kept = CACHE_DIR / "fork-checks" / hashlib.sha256("\0".join(facts).encode()).hexdigest()
    if kept.is_file():
        return ""
    reason = _fork_check()
    if not reason:
        keep(kept, b"")
    return reason


def _bubblewrap_version() -> str:
    bwrap = shutil.which("bwrap")
    return subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout if bwrap else ""


def _fork_check() -> str:
    parent = WarmParent(Limits(), warm=False)
    try:
        workdir = parent.root / "check"
        workdir.mkdir()
        kernel = parent.fork(workdir, ["--version"], cgroup="")
        try:
            status = kernel.wait(timeout=60)
        except subprocess.TimeoutExpired:
            kernel.kill()
            return "a forked kernel did not answer within 60 s"
        return "" if status == 0 else kernel.error or f"a forked kernel exited with status {status}"
    except (OSError, RuntimeError) as error:
        return f"the warm parent cannot fork kernels here: {error}"
    finally:
        parent.close()


def usual_parent() -> WarmParent | None:
    """A warm parent for the usual limits, started now; None where kernels cannot be forked."""
    if unavailable_because() or fork_unavailable_because():
        return None
    return WarmParent(Limits())
