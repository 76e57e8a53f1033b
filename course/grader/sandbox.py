"""Run a submission's kernel in a bubblewrap sandbox, with resource limits.

Inside, the kernel sees the system's programs and libraries and the Python environment,
all read-only, a private /tmp, and of the course only its own scratch folder (the
submission's copy of the released helpers and data, and the kernel's IPC sockets), which
it may write. It has no network at all: a namespace of its own, where loopback reaches
nothing of the machine's. Its address space, its number of processes and (in the grader)
its output and running time are capped.

Nothing of the grader's that the kernel could read gets in: bubblewrap, and what wraps it, start
with the same short environment as the kernel (the kernel can read /proc/1/environ and
/proc/1/mem, bubblewrap's), and with /dev/null for standard streams instead of the grader's, which
it could reopen through /proc/1/fd.

The process cap uses a pids cgroup where this process may create one (as root, for whom
RLIMIT_NPROC does not count), else RLIMIT_NPROC (as any other user, for whom it does).
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Int, Unicode

# What the sandbox inherits of the grader's environment; nothing else (a database URL with its
# password, say) gets in.
KERNEL_ENVIRONMENT = (
    "PATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "NBGRADER_EXECUTION",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    # The choice of numeric kernels: the grader replays the kernel's calls with inputs it computes itself
    # and matches them bit for bit (handin.py), so both sides must round alike.
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "NPY_DISABLE_CPU_FEATURES",
    "NPY_ENABLE_CPU_FEATURES",
    "MKL_CBWR",
    "MKL_ENABLE_INSTRUCTIONS",
)
# Set for every kernel under grading. One BLAS thread: a worker per core, and threads would only compete
# with the other workers' kernels.
GRADING_ENVIRONMENT = {"NBGRADER_EXECUTION": "autograde", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# On the private /tmp: a HOME that contains the scratch folder would make IPython print its paths as ~/...
SANDBOX_HOME = "/tmp/.home"
PIDS_HIERARCHIES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))  # cgroup v1, then v2


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 4 * 2**30  # the kernel's address space; numpy and matplotlib map about 1.3 GiB
    processes: int = 64  # in the kernel's pids cgroup, or per user with RLIMIT_NPROC
    output_bytes: int = 16 * 2**20  # per cell; the largest of the release (a plot) is about 100 KiB
    submission_seconds: int = 900  # wall clock for a whole submission (cells also have their own timeout)


_started_here = False  # a sandbox has started in this process: it can run here


def unavailable_because() -> str:
    """Why the sandbox cannot run here, or "" when it can. A success holds for the process's life; a
    failure is checked again next time (a file of /etc may have vanished while it started)."""
    global _started_here
    if not _started_here:
        reason = _why_the_sandbox_cannot_start()
        _started_here = not reason
        return reason
    return ""


def _why_the_sandbox_cannot_start() -> str:
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as folder:
        probe = subprocess.run(
            [*kernel_command(Path(folder), Limits()), sys.executable, "-c", "pass"],
            capture_output=True,
            text=True,
            env=kernel_environment(),
        )
    if probe.returncode != 0:
        return f"the sandbox cannot start here: {probe.stderr.strip()[:200]}"
    return ""


def kernel_environment() -> dict:
    """The whole environment of the sandbox, from the launcher to the kernel: the allow-listed
    variables the grader has, the grading ones, and a home inside the sandbox."""
    inherited = {name: os.environ[name] for name in KERNEL_ENVIRONMENT if name in os.environ}
    return inherited | GRADING_ENVIRONMENT | {"HOME": SANDBOX_HOME, "MPLCONFIGDIR": f"{SANDBOX_HOME}/matplotlib"}


def _system_mounts():
    """Read-only views of what programs need: /usr and /etc, the environment's Python, and
    /bin, /lib, ... as the symlinks or folders they are on this system."""
    arguments = []
    for top in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            arguments += ["--ro-bind", top, top]
    for prefix in sorted({sys.prefix, sys.base_prefix, sys.exec_prefix}):
        arguments += ["--ro-bind", prefix, prefix]
    return arguments + _private_system_files()


def _private_system_files() -> list:
    """Hide what under /etc others may not read (/etc/shadow, private keys): grading as root, the kernel
    is root in its user namespace, so file permissions would not keep it out. Each such file is covered
    by /dev/null, which a sandbox cannot open (device files are off in its mounts); each folder by an
    empty one. Listed afresh for every sandbox: the system makes and removes such files (useradd's
    /etc/shadow.lock), and bubblewrap cannot cover one that is gone."""
    hidden = []
    for folder, folders, files in os.walk("/etc"):
        for name in [*folders, *files]:
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(mode) and not mode & stat.S_IROTH:
                hidden += ["--tmpfs", path]
                folders.remove(name)
            elif stat.S_ISREG(mode) and not mode & stat.S_IROTH:
                hidden += ["--ro-bind", "/dev/null", path]
    return hidden


def _bwrap_arguments(workdir: Path, extra=()):
    # bwrap mounts in order: the private /tmp first, or it would hide what is bound under /tmp
    # (the scratch folder usually, a virtual environment sometimes).
    # HOME exists and is writable, as IPython expects (else it warns at every start).
    return [
        "bwrap",
        "--unshare-all",
        "--die-with-parent",
        *extra,
        "--tmpfs",
        "/tmp",
        "--dir",
        SANDBOX_HOME,
        *_system_mounts(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--bind",
        str(workdir),
        str(workdir),
        "--chdir",
        str(workdir),
        # The kernel gets this environment whatever bwrap was started with: no JPY_PARENT_PID, say, which
        # would make ipykernel shut itself down (its parent is bwrap's init).
        "--clearenv",
        *(argument for name, value in kernel_environment().items() for argument in ("--setenv", name, value)),
    ]


def kernel_command(workdir: Path, limits: Limits, cgroup: str = "") -> list:
    """The prefix that runs a kernel command in the sandbox, under the limits."""
    command = ["prlimit", f"--as={limits.memory_bytes}", "--", *_bwrap_arguments(workdir), "--"]
    if not cgroup:
        # Set inside the kernel's user namespace, RLIMIT_NPROC counts only the processes and threads in it;
        # outside, it would count all of the account's, the grader's and the other kernels' included.
        command += ["prlimit", f"--nproc={limits.processes}", "--"]
    if cgroup:  # join the cgroup first: everything the kernel starts stays in it
        command = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, *command]
    return command


def parent_command(root: Path, limits: Limits) -> list:
    """The prefix that runs forkserver.py's warm parent in the sandbox, with `root` (where each kernel's
    folder will be) as its one course folder. It may lift bubblewrap's covers on /proc, and then drops the
    capability; its kernels set their own process caps (forkserver.py)."""
    sandbox = _bwrap_arguments(root, ("--cap-add", "CAP_SYS_ADMIN"))
    return ["prlimit", f"--as={limits.memory_bytes}", "--", *sandbox, "--"]


def process_cap_kind() -> str:
    """How the process cap is enforced here: "pids cgroup", "RLIMIT_NPROC", or "" when it is not
    (root, for whom RLIMIT_NPROC does not count, without a pids cgroup to create)."""
    with process_cap(Limits.processes) as cgroup:
        if cgroup:
            return "pids cgroup"
    return "RLIMIT_NPROC" if os.geteuid() != 0 else ""


@contextmanager
def process_cap(limit: int) -> Iterator[str]:
    """A pids cgroup capped at `limit` processes for one kernel (its path), or "" where this
    process may not create one; on leaving, what still runs in it is killed."""
    folder = _new_pids_cgroup(limit)
    try:
        yield str(folder or "")
    finally:
        if folder:
            _remove_cgroup(folder)


def _new_pids_cgroup(limit: int):
    if os.geteuid() != 0:
        return None
    for hierarchy in PIDS_HIERARCHIES:
        if not (hierarchy / "cgroup.procs").exists():
            continue
        folder = hierarchy / f"course-grading-{uuid.uuid4().hex[:12]}"
        try:
            folder.mkdir()
        except OSError:
            continue
        try:
            (folder / "pids.max").write_text(str(limit))
            return folder
        except OSError:  # a cgroup v2 hierarchy without the pids controller
            _remove_cgroup(folder)
    return None


def _remove_cgroup(folder: Path):
    for _ in range(50):
        try:
            for pid in (folder / "cgroup.procs").read_text().split():
                os.kill(int(pid), 9)
            folder.rmdir()
            return
        except (OSError, ValueError):  # processes still exiting
            time.sleep(0.1)


class SandboxedKernelManager(AsyncKernelManager):
    """A fresh kernel behind `kernel_command`'s prefix: where kernels cannot be forked from a warm parent
    (warm.fork_unavailable_because). Interrupts travel as messages on the control channel: a signal to
    the launcher would stop at bwrap's init."""

    workdir = Unicode(help="The only course folder the kernel sees, and may write.").tag(config=True)
    cgroup = Unicode("", help="pids cgroup the kernel joins (empty: RLIMIT_NPROC instead).").tag(config=True)
    memory_bytes = Int(Limits.memory_bytes).tag(config=True)
    processes = Int(Limits.processes).tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        limits = Limits(memory_bytes=self.memory_bytes, processes=self.processes)
        return kernel_command(Path(self.workdir), limits, self.cgroup) + super().format_kernel_cmd(extra_arguments)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = kernel_environment()
        kw["independent"] = True  # on POSIX, only keeps jupyter_client from adding JPY_PARENT_PID to it
        # Output goes over IOPub. The grader's streams would let the kernel write past the output limit
        # to the instructor's terminal or log, and read a terminal's keystrokes.
        kw["stdin"] = kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def interrupt_kernel(self):
        self.kernel_spec.interrupt_mode = "message"
        await super().interrupt_kernel()
