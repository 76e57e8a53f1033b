"""The warm parent: in the bubblewrap sandbox, forking each submission's kernel for the grading workers.

It runs as `python -c <this file's text> <socket fd> <root> [cold]` behind `sandbox.parent_command` (the
package itself is not mounted in the sandbox), so it imports nothing of the course: the standard
library, then what the locked import cell needs. kernels.py holds the other end of the socket.

Threat model. The student's code runs in a kernel ("the child") and may do anything a process can.

The parent is started with no student's data: bubblewrap gives it the same read-only system, the
same allow-listed environment, no network, /dev/null for standard streams and the same address-space
cap as a fresh kernel, plus an empty folder, `root`, under which the grader lays out each
submission's scratch folder. It imports numpy, scipy, matplotlib, ipykernel (debugpy included) and
what a kernel's start, first figure and first traceback load, and never runs a submission's code: it
says it is up on the grader's socket (bubblewrap has set the sandbox up), then only reads requests (a
folder, the kernel's arguments, the limits) from that socket and forks.
It keeps no thread, no zmq context, and no open file but that socket and /dev/null. `grade` starts
one before its own imports, and its local workers, forked from it, share it; the service's workers
and a cluster's each start their own. The process that started it stops it by killing its
bubblewrap, whose --die-with-parent ends the parent too (also when that process dies), and with it
every waiter and kernel below it (they live in its PID namespace).

For each request a waiter is forked, which enters new user, mount, PID, network and IPC namespaces,
reports its pidfd (the grader puts it in the submission's pids cgroup), waits for the grader's go,
forks the kernel and reports the kernel's pidfd, then waits for it and reports its exit status; if
the worker that asked for the kernel dies first (its end of the waiter's socket closes), the waiter
kills the kernel, so that a kernel never outlives its worker. The kernel, before any student code:

- is PID 1 of its own PID namespace, with a /proc of that namespace: the parent, the waiter and the
  other kernels have no PID in it, so it can neither signal, trace (ptrace, /proc/<pid>/mem) nor
  read them; if it dies, the kernel kills everything in its namespace. It leads a session and
  process group of its own: a process group spans PID namespaces, and kill(0, ...) would otherwise
  reach the parent's group (the parent too is started in a session of its own, away from the grader's);
- sees a mount namespace of its own, where /tmp and `root` are covered by empty file systems (what
  bubblewrap bound read-only under /tmp, a virtual environment, say, bound back read-only) and
  only its own scratch folder is bound back at its path: nothing the parent, a sibling or an earlier
  kernel wrote is visible, and what it writes goes only to its folder or its own empty /tmp (gone
  with it); /dev is read-only and /dev/shm its own; the rest of the system is read-only, as today;
  what under /etc others may not read is covered again (a file the system replaced since the parent
  started, /etc/shadow after a useradd, would otherwise show through the parent's cover);
- drops every capability (bounding set included) and sets no_new_privs, so it cannot undo those
  mounts (they would reveal the parent's) nor gain privileges by running a program;
- has no network (an empty network namespace) and its own System V IPC;
- closes every inherited file descriptor but its standard streams, which are /dev/null: it cannot
  reach the parent's socket, nor the channel on which its exit is reported;
- gets its address-space cap (RLIMIT_AS) and, where no pids cgroup holds it, RLIMIT_NPROC, counted
  in its own user namespace; the waiter joined the cgroup before forking it, so everything the
  kernel starts is in it;
- holds a copy of the parent's memory and environment, copy-on-write: what it changes there (a
  variable, a module, os.environ, memory it corrupts or exhausts) is its own; the next kernel is
  forked from the untouched parent. numpy's global random state is reseeded, as a fresh start would.

What it can still reach, as a fresh kernel could: the read-only system and Python environment, the
parent's imported modules as they were at the fork (not secret: the same code a fresh start loads).
"""

import ctypes
import json
import os
import select
import signal
import socket
import stat
import sys

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
CLONE_NEWNET, CLONE_NEWIPC = 0x40000000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
# statvfs's flag -> mount's flag, for what a remount must keep (the kernel refuses to clear locked ones)
KEPT_ON_REMOUNT = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: 1024,
    os.ST_NODIRATIME: 2048,
    os.ST_RELATIME: 1 << 21,
}
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAPABILITY_VERSION_3 = 0x20080522
CAP_SETPCAP, CAP_SETFCAP = 8, 31
# The parent keeps CAP_SETFCAP where it has it (grading as root): a waiter needs it to map root into its
# user namespace. It does not reach the kernels, which drop everything.
PARENT_KEEPS = 1 << CAP_SETFCAP
SANDBOX_HOME = "/tmp/.home"  # as sandbox.SANDBOX_HOME, which this file cannot import
PROC_COVERED = ("sys", "sysrq-trigger", "irq", "bus")  # what bubblewrap makes read-only in /proc
MESSAGE_BYTES = 65536
UP = b"up"  # the parent's first message to the grader: bubblewrap has set the sandbox up

libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source, target, kind, flags):
    encode = lambda text: text.encode() if text else None  # noqa: E731
    _check(libc.mount(encode(source), encode(target), encode(kind), ctypes.c_ulong(flags), None), f"mount {target}")


def _read_only(path):
    """Remount `path` read-only, keeping its other flags."""
    flags = os.statvfs(path).f_flag
    kept = sum(flag for statvfs_flag, flag in KEPT_ON_REMOUNT.items() if flags & statvfs_flag)
    _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def _drop_capabilities(keep: int = 0):
    """No capability left but those of the mask `keep` that this process has, and none to gain by running
    a program (no_new_privs; the bounding set emptied too where this process may, with CAP_SETPCAP)."""
    header, now = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0), (ctypes.c_uint32 * 6)()
    _check(libc.capget(header, now), "capget")  # effective, permitted, inheritable; low 32 bits, then high
    if now[1] >> CAP_SETPCAP & 1:
        for cap in range(int(open("/proc/sys/kernel/cap_last_cap").read()) + 1):
            if not keep >> cap & 1:
                _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop from the bounding set")
    _check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities")
    kept = [now[1] & keep & 0xFFFFFFFF, now[4] & keep >> 32]
    _check(libc.capset(header, (ctypes.c_uint32 * 6)(kept[0], kept[0], 0, kept[1], kept[1], 0)), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _lift_proc_covers():
    """bubblewrap covers parts of /proc read-only; a kernel may mount a /proc of its own only where a
    /proc without such covers is visible (the kernel's rule), so the parent lifts them (its one use of
    CAP_SYS_ADMIN, which it then drops) and each kernel covers them again in its own /proc."""
    for name in PROC_COVERED:
        libc.umount2(f"/proc/{name}".encode(), 0)  # not covered when bubblewrap found it read-only already


def _warm_up():
    """What every kernel would otherwise import at its start, and the locked import cell."""
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel does
    import sqlite3  # noqa: F401

    import ipykernel.debugger  # noqa: F401  (debugpy: the kernel resolves its debugger class at its start)
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import IPython.core.completerlib  # noqa: F401  (and below: what the kernel's start imports too)
    import IPython.core.debugger  # noqa: F401
    import IPython.core.logger  # noqa: F401
    import IPython.core.magics.execution  # noqa: F401
    import IPython.core.magics.pylab  # noqa: F401
    import IPython.core.oinspect  # noqa: F401
    import IPython.core.pylabtools  # noqa: F401
    import IPython.extensions.storemagic  # noqa: F401
    import matplotlib.backends.backend_agg  # noqa: F401  (not the inline backend: it hooks into the shell on import)
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import PIL.Image
    import pygments.formatters.terminal256  # noqa: F401  (and stack_data: what a traceback's first print needs)
    import scipy.io  # noqa: F401
    import scipy.special  # noqa: F401
    import stack_data  # noqa: F401
    import tornado.platform.asyncio  # noqa: F401
    import tornado.queues  # noqa: F401
    import zmq.utils.garbage  # noqa: F401

    PIL.Image.preinit()  # the image formats matplotlib's first PNG loads


def serve(channel: socket.socket, root: str):
    """Fork a waiter for each request until the grader closes the socket."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # waiters are reaped by the system
    while True:
        message, fds, _, _ = socket.recv_fds(channel, MESSAGE_BYTES, 1)
        if not message:
            return
        if os.fork() == 0:
            reports = socket.socket(fileno=fds[0])
            try:  # a forked process never returns into this loop
                channel.close()
                _wait_on_kernel(reports, root, json.loads(message))
            except BaseException as error:
                _report_error(reports, error)
            finally:
                os._exit(1)
        os.close(fds[0])


def _report_error(reports: socket.socket, error: BaseException):
    try:
        reports.send(json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
    except OSError:  # the kernel closed it already
        pass


def _send_pidfd(reports: socket.socket, pid: int, what: str):
    pidfd = os.pidfd_open(pid)
    socket.send_fds(reports, [json.dumps({what: pid}).encode()], [pidfd])
    os.close(pidfd)


def _wait_on_kernel(reports: socket.socket, root: str, request: dict):
    """The waiter: new namespaces, the cgroup, the kernel, its exit status."""
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)
    _send_pidfd(reports, os.getpid(), "waiter")
    if reports.recv(MESSAGE_BYTES) != b"go":  # the grader put this process in the pids cgroup
        os._exit(1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    kernel = os.fork()
    if kernel == 0:
        try:
            _become_kernel(root, request)
        except BaseException as error:
            _report_error(reports, error)
        finally:
            os._exit(1)
    _send_pidfd(reports, kernel, "kernel")
    _outlive_not_the_grader(reports, kernel)
    _, status = os.waitpid(kernel, 0)
    reports.send(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
    os._exit(0)


def _outlive_not_the_grader(reports: socket.socket, kernel: int):
    """Return when the kernel has exited, or kill it when the grader's end of `reports` closes first: the
    grading worker died (the parent may serve other workers, and outlive it)."""
    pidfd = os.pidfd_open(kernel)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(reports, select.POLLIN)  # the grader sends nothing after its go: this is the end of it
    if pidfd not in dict(poller.poll()):
        os.kill(kernel, signal.SIGKILL)  # PID 1 of its namespace: everything it started ends with it
    os.close(pidfd)


def _system_mounts_under_tmp(root: str) -> list:
    """What bubblewrap bound read-only under /tmp (a virtual environment there, say), outermost first:
    covering /tmp would hide it, so the kernel binds it back."""
    points = set()
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith("/tmp/") and point != root and not point.startswith(root + "/"):
                points.add(point)
    return sorted(points, key=lambda path: (path.count("/"), path))


def _become_kernel(root: str, request: dict):
    """Isolate this process (see the module's docstring), then run ipykernel in it; never returns."""
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent death signal")
    os.setsid()  # a process group of its own: kill(0, ...) reaches its group across PID namespaces
    workdir = request["workdir"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    folder = os.open(workdir, os.O_PATH | os.O_DIRECTORY)
    system = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in _system_mounts_under_tmp(root)}
    for empty in ("/tmp", root):
        os.makedirs(empty, exist_ok=True)
        _mount("tmpfs", empty, "tmpfs", MS_NOSUID | MS_NODEV)
    for path, fd in system.items():  # the Python environment, say, when it lives under /tmp
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _read_only(path)
        os.close(fd)
    os.makedirs(workdir)
    _mount(f"/proc/self/fd/{folder}", workdir, None, MS_BIND | MS_REC)
    os.close(folder)
    os.makedirs(SANDBOX_HOME)
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV)
    _read_only("/dev")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name in PROC_COVERED:
        if not os.path.exists(f"/proc/{name}"):  # a /proc of a PID namespace may lack some
            continue
        _mount(f"/proc/{name}", f"/proc/{name}", None, MS_BIND)
        _read_only(f"/proc/{name}")
    _cover_private_system_files()
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (request["memory_bytes"],) * 2)
    if request["processes"]:  # else the waiter's pids cgroup caps them
        resource.setrlimit(resource.RLIMIT_NPROC, (request["processes"],) * 2)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    _drop_capabilities()
    os.chdir(workdir)
    _run_kernel(workdir, request["argv"])


def _cover_private_system_files():
    """Cover again what under /etc others may not read, as bubblewrap did for the parent: since then the
    system may have replaced such a file (useradd and passwd rename a new /etc/shadow over the old one),
    and a replaced file is no longer covered in any namespace but the system's own. Files still covered
    show as /dev/null, a device, and are left alone; one that vanishes meanwhile needs no cover."""
    for folder, folders, files in os.walk("/etc"):
        for name in [*folders, *files]:
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISDIR(mode) and not mode & stat.S_IROTH:
                    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV)
                    _read_only(path)
                    folders.remove(name)
                elif stat.S_ISREG(mode) and not mode & stat.S_IROTH:
                    _mount("/dev/null", path, None, MS_BIND)
            except FileNotFoundError:
                continue


def _run_kernel(workdir: str, argv: list):
    """ipykernel_launcher's work, as `python -m ipykernel_launcher <argv>` started in `workdir` does it."""
    import importlib.util

    import numpy
    from ipykernel.kernelapp import IPKernelApp

    numpy.random.seed()  # the parent's state, shared by every fork, is not the kernel's to reuse
    sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *argv]
    sys.path[0] = workdir
    try:
        IPKernelApp.launch_instance(argv)
    except SystemExit as end:  # with the status `python -m ipykernel_launcher` would exit with
        os._exit(end.code if isinstance(end.code, int) else 1)
    os._exit(0)


if __name__ == "__main__":
    grader = socket.socket(fileno=int(sys.argv[1]))
    grader.send(UP)
    _lift_proc_covers()
    _drop_capabilities(keep=PARENT_KEEPS)
    if sys.argv[3:] != ["cold"]:  # a cold parent only tells whether kernels can be forked here
        _warm_up()
    serve(grader, sys.argv[2])
