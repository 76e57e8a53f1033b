"""Kernels forked from a warm parent (course/grader/forkserver.py) attack the parent and each other:
signal it, trace it, write into its files, leave a file or a variable for the next kernel, exhaust or
corrupt their memory. Each attack must fail, and the parent must go on forking kernels that see
nothing of it. The kernels run real code through jupyter_client, in the real sandbox."""

import json
import os
import secrets
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from jupyter_core.utils import run_sync

from course.build.package import assignment_package
from course.grader import kernels, warm
from course.grader.autograde import grade_submission
from course.grader.job import GradingJob, Status
from course.grader.kernels import EXTRA_ARGUMENTS, ReadyKernelClient, _manager_config
from course.grader.sandbox import Limits, process_cap, unavailable_because
from course.grader.warm import ForkedKernelManager, WarmParent
from course.layout import ASSIGNMENT, Stage
from tests import COURSE, COURSE_ROOT, warm_parent_pythons
from tests.sample_grades import EXPECTED_POINTS

pytestmark = [
    pytest.mark.slow,  # starts a sandboxed parent and forks kernels from it
    pytest.mark.skipif(bool(unavailable_because()), reason="the sandbox cannot run here"),
]
LIMITS = Limits(memory_bytes=2 * 2**30)


def new_parent() -> WarmParent:
    return WarmParent(LIMITS)


@pytest.fixture(scope="module")
def parent():
    parent = new_parent()
    assert run_in_a_kernel(parent, "print('{}')") == {}  # up and forking
    yield parent
    parent.close()


def parent_pid(parent: WarmParent) -> int:
    """The forking Python's PID here."""
    pythons = warm_parent_pythons(parent.root)
    assert pythons, "no warm parent running"
    return pythons[0]


def started_kernel(parent: WarmParent, stack: ExitStack) -> ForkedKernelManager:
    """A kernel forked from `parent` in a scratch folder of its own, shut down when `stack` closes."""
    scratch = Path(tempfile.mkdtemp(prefix="grade-", dir=parent.root))
    workdir = scratch / "work"
    (workdir / ".kernel").mkdir(parents=True)
    cgroup = stack.enter_context(process_cap(LIMITS.processes))
    manager = ForkedKernelManager(config=_manager_config(workdir, cgroup), kernel_name="python3", warm_parent=parent)
    run_sync(manager.start_kernel)(extra_arguments=EXTRA_ARGUMENTS, cwd=str(workdir))
    stack.callback(run_sync(manager.shutdown_kernel), now=True)
    return manager


def run_in_a_kernel(parent: WarmParent, code: str) -> dict:
    """Run `code` in a kernel forked from `parent` and return the JSON it prints last (or what killed it)."""
    with ExitStack() as stack:
        manager = started_kernel(parent, stack)
        client = manager.client()
        client.start_channels()
        stack.callback(client.stop_channels)
        run_sync(client.wait_for_ready)(timeout=60)
        return run_sync(_outcome)(manager, client, code)


async def _outcome(manager, client, code: str) -> dict:
    """The last line the code prints, as JSON ({"error": name} if it raised), or {"died": True}."""
    msg_id, printed, deadline = client.execute(code), [], time.monotonic() + 120
    while time.monotonic() < deadline:
        if not await manager.is_alive():
            return {"died": True}
        try:
            message = await client.get_iopub_msg(timeout=0.2)
        except Exception:  # queue.Empty: nothing yet
            continue
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])
        elif message["msg_type"] == "error":
            printed.append(json.dumps({"error": message["content"]["ename"]}) + "\n")
        elif message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return json.loads("".join(printed).strip().splitlines()[-1])
    raise AssertionError("the kernel neither finished nor died in 120 s")


def test_a_kernel_is_alone_in_its_process_namespace_and_cannot_signal_or_trace_the_parent(parent):
    host_pid = parent_pid(parent)
    outcome = run_in_a_kernel(
        parent,
        f"""
import ctypes, json, os, signal
libc = ctypes.CDLL(None, use_errno=True)
visible = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
signalled, traced = [], []
others = [pid for pid in [{host_pid}, *range(2, 64)] if not os.path.exists(f"/proc/self/task/{{pid}}")]
for pid in others:  # the parent's PID outside, and whatever PIDs are not its own threads
    try:
        os.kill(pid, signal.SIGKILL)
        signalled.append(pid)
    except OSError:
        pass
    if libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH
        traced.append(pid)
for group in (0, -1):  # its process group (the parent's, unless it has its own), all it may signal
    try:
        os.kill(group, signal.SIGKILL)  # as PID 1 of its namespace, it ignores its own SIGKILL
    except OSError:
        pass
print(json.dumps({{"visible": visible, "parent": os.getppid(), "signalled": signalled, "traced": traced}}))
""",
    )
    assert outcome == {"visible": [1], "parent": 0, "signalled": [], "traced": []}
    assert parent.alive() and parent_pid(parent) == host_pid
    status = Path(f"/proc/{host_pid}/status").read_text()
    assert "TracerPid:\t0" in status and "Threads:\t1\n" in status  # untraced, and no thread across forks


def test_a_kernel_cannot_write_into_the_parents_files_nor_leave_anything_for_the_next(parent):
    planted = f"""
import ctypes, json, os
os.environ["LEFT_BY_THE_LAST_KERNEL"] = "1"
written = []
for path in ["{parent.root}/planted", "/tmp/planted", "/tmp/.home/planted", "/dev/shm/planted", "/dev/planted",
             "/usr/planted", "{Path(sys.prefix)}/planted"]:
    try:
        with open(path, "w") as file:
            file.write("planted")
        written.append(path)
    except OSError:
        pass
covers = ["/tmp", "{parent.root}", "/proc", "/dev"]
unmounted = [path for path in covers if ctypes.CDLL(None).umount2(path.encode(), 2) == 0]  # MNT_DETACH
print(json.dumps({{"written": written, "unmounted": unmounted}}))
"""
    outcome = run_in_a_kernel(parent, planted)
    # It may write its own empty /tmp and /dev/shm, and its empty cover of the root; nothing else, nothing kept.
    assert outcome == {
        "written": [f"{parent.root}/planted", "/tmp/planted", "/tmp/.home/planted", "/dev/shm/planted"],
        "unmounted": [],
    }
    assert not (parent.root / "planted").exists() and not (Path(sys.prefix) / "planted").exists()
    found = run_in_a_kernel(
        parent,
        f"""
import json, os
paths = ["{parent.root}/planted", "/tmp/planted", "/tmp/.home/planted", "/dev/shm/planted"]
print(json.dumps({{"found": [path for path in paths if os.path.exists(path)],
                  "variable": os.environ.get("LEFT_BY_THE_LAST_KERNEL"),
                  "root": sorted(os.listdir("{parent.root}")), "tmp": sorted(os.listdir("/tmp"))}}))
""",
    )
    root_entries = found.pop("root")
    # /tmp holds the kernel's home, the cover of the root, and what bubblewrap bound read-only under /tmp
    # (this Python environment, when the checkout is there).
    bound = {Path(prefix).parts[2] for prefix in {sys.prefix, sys.base_prefix} if prefix.startswith("/tmp/")}
    assert found == {"found": [], "variable": None, "tmp": sorted({".home", parent.root.name} | bound)}
    assert len(root_entries) == 1  # its own scratch folder, not the first kernel's


def test_a_kernel_that_exhausts_or_corrupts_its_memory_harms_only_itself(parent):
    exhausted = run_in_a_kernel(
        parent,
        """
import json
hoard = []
try:
    while True:
        hoard.append(bytearray(256 * 2**20))
except MemoryError:
    pass
print(json.dumps({"hoarded_gib": len(hoard) // 4}))
""",
    )
    assert 0 < exhausted["hoarded_gib"] < LIMITS.memory_bytes // 2**30
    assert run_in_a_kernel(parent, "import ctypes; ctypes.memset(0x1000, 0, 64)") == {"died": True}
    assert parent.alive()
    assert run_in_a_kernel(parent, 'import json, numpy; print(json.dumps({"sum": int(numpy.arange(4).sum())}))') == {
        "sum": 6
    }


def test_a_kernel_killed_has_ended_when_the_kill_returns(parent):
    """jupyter_client looks right after its SIGKILL and, finding the kernel alive, waits a tenth of a
    second more on every close: the kill itself waits for the end."""
    with ExitStack() as stack:
        for _ in range(3):
            kernel = started_kernel(parent, stack).provisioner.process
            kernel.send_signal(signal.SIGKILL)
            assert kernel.poll() == -signal.SIGKILL


def test_a_kernel_is_ready_without_waiting_for_iopub_to_fall_silent(parent):
    """jupyter_client's client ends its wait by reading IOPub until nothing comes for 0.2 s. The grader's
    reads one IOPub message after the kernel_info reply (it shows IOPub is connected) and stops; what it
    left there does not reach the first cell's outputs."""
    with ExitStack() as stack:
        manager = started_kernel(parent, stack)
        client = manager.client()
        reads = {"kernel_info_reply": 0, "iopub": 0}
        replies, messages = client.shell_channel.get_msg, client.iopub_channel.get_msg

        async def reply(*args, **kwargs):
            message = await replies(*args, **kwargs)
            reads["kernel_info_reply"] += message["msg_type"] == "kernel_info_reply"
            return message

        async def message(*args, **kwargs):
            reads["iopub"] += 1
            return await messages(*args, **kwargs)

        client.shell_channel.get_msg, client.iopub_channel.get_msg = reply, message
        client.start_channels()
        stack.callback(client.stop_channels)
        run_sync(client.wait_for_ready)(timeout=60)
        assert isinstance(client, ReadyKernelClient)
        assert reads["iopub"] == reads["kernel_info_reply"] >= 1
        client.shell_channel.get_msg, client.iopub_channel.get_msg = replies, messages
        assert run_sync(_outcome)(manager, client, "print(6 * 7)") == 42


def test_a_warm_parent_gone_at_the_fork_is_replaced_and_the_submission_graded(monkeypatch):
    """A worker's parent can die between the worker's check that it runs and the fork (kernels._start):
    the worker starts another and grades the submission as if nothing had happened."""
    kernels.warm_up()
    gone = kernels._parent
    deadline = time.monotonic() + 30
    while True:  # until bubblewrap has started the parent's Python
        try:
            os.kill(parent_pid(gone), signal.SIGKILL)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    gone.process.wait(timeout=30)
    monkeypatch.setattr(WarmParent, "alive", lambda self: True)  # as checked a moment before it died
    submission = COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT).read_bytes()
    job = GradingJob("full-marks", submission, assignment_package(COURSE_ROOT, ASSIGNMENT), cell_timeout=60)
    result = grade_submission(job)
    assert result.status == Status.GRADED and result.points == sum(EXPECTED_POINTS["full-marks"].values())
    assert kernels._parent is not gone and kernels._parent.process.poll() is None


def test_closing_the_parent_ends_the_kernels_it_forked_and_removes_their_folders():
    parent = new_parent()
    with ExitStack() as stack:
        kernels = [started_kernel(parent, stack) for _ in range(2)]
        assert all(run_sync(kernel.is_alive)() for kernel in kernels)
        parent.close()
        deadline = time.monotonic() + 30
        while any(run_sync(kernel.is_alive)() for kernel in kernels) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(run_sync(kernel.is_alive)() for kernel in kernels)
        assert not parent.root.exists()


def test_a_private_file_of_etc_stays_covered_when_the_system_replaces_it():
    """useradd and passwd write a new /etc/shadow and rename it over the old one, which takes the cover
    bubblewrap put on the old one off it in the warm parent's sandbox: every kernel covers it again."""
    if os.geteuid() != 0:
        pytest.fail("this test writes a file into /etc: run it as root (as CI does)")
    secret = Path("/etc") / f"course-test-{secrets.token_hex(4)}"
    read = (
        f"import json\ntry:\n    print(json.dumps({{'read': open({str(secret)!r}).read()}}))\n"
        "except OSError:\n    print('{}')"
    )
    secret.write_text("first")
    secret.chmod(0o600)
    try:
        parent = new_parent()
        try:
            before = run_in_a_kernel(parent, read)
            replacement = secret.with_name(secret.name + ".new")
            replacement.write_text("second")
            replacement.chmod(0o600)
            replacement.rename(secret)
            after = run_in_a_kernel(parent, read)
        finally:
            parent.close()
    finally:
        secret.unlink()
    assert [outcome.get("read", "") for outcome in (before, after)] == ["", ""]  # unreadable, or empty


def test_a_kernel_that_cannot_start_says_why_in_the_graders_log(parent, caplog):
    missing = parent.root / "never-made" / "work"
    kernel = parent.fork(missing, ["-f", str(missing / "connection.json")], cgroup="")
    assert kernel.wait(timeout=60) == 1
    assert f"a forked kernel could not start: FileNotFoundError: [Errno 2] No such file or directory: '{missing}'" in (
        caplog.text
    )
    assert parent.alive()


def test_what_bubblewrap_binds_under_tmp_stays_in_sight_read_only(tmp_path, monkeypatch):
    """A kernel covers /tmp with an empty file system; a Python environment bound read-only under /tmp
    (a checkout there, say) must still be there for it, and stay read-only."""
    environment = tmp_path / "environment"  # under /tmp, as pytest's folders are
    environment.mkdir()
    (environment / "marker").write_text("here")
    real = warm.parent_command
    bound = ["--ro-bind", str(environment), str(environment)]
    monkeypatch.setattr(warm, "parent_command", lambda root, limits: [*real(root, limits)[:-1], *bound, "--"])
    parent = new_parent()
    try:
        code = f"import json, os; path = {str(environment / 'marker')!r}; "
        code += "print(json.dumps({'read': open(path).read(), 'writable': os.access(path, os.W_OK)}))"
        assert run_in_a_kernel(parent, code) == {"read": "here", "writable": False}
    finally:
        parent.close()


def test_a_parent_whose_bubblewrap_fails_at_its_start_is_started_again(monkeypatch):
    """bubblewrap fails at its start when a file of /etc it covers vanishes meanwhile (a lock file of
    useradd, say): the parent is started again before its first kernel. Here the first start binds a
    file that does not exist."""
    real, starts = warm.parent_command, []

    def failing_first(root, limits):
        starts.append(root)
        command = real(root, limits)
        after = command.index("bwrap") + 1
        vanished = ["--ro-bind", f"{root}/vanished", f"{root}/vanished"] if len(starts) == 1 else []
        return [*command[:after], *vanished, *command[after:]]

    monkeypatch.setattr(warm, "parent_command", failing_first)
    parent = WarmParent(LIMITS)
    try:
        assert run_in_a_kernel(parent, "print('{}')") == {}
        assert len(starts) == 2
    finally:
        parent.close()


def test_where_kernels_cannot_be_forked_the_check_says_why(monkeypatch):
    """Here they can; in a sandbox that refuses its processes user namespaces of their own (bubblewrap's
    --disable-userns, as some systems' rules do), the check names the step that failed."""
    assert warm.fork_unavailable_because() == ""
    real = warm.parent_command

    def without_user_namespaces(root, limits):
        command = real(root, limits)
        after = command.index("bwrap") + 1
        return [*command[:after], "--unshare-user", "--disable-userns", *command[after:]]

    monkeypatch.setattr(warm, "parent_command", without_user_namespaces)
    assert "unshare" in warm._fork_check()


def test_the_fork_checks_verdict_is_kept_per_bubblewrap_version(monkeypatch, tmp_path):
    """A success is kept, and holds until the system, the account, Python, bubblewrap or forkserver.py
    changes: here bubblewrap, upgraded."""
    checks = []
    monkeypatch.setattr(warm, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(warm, "_fork_check", lambda: checks.append("checked") or "")
    for version in ("bubblewrap 0.8.0", "bubblewrap 0.8.0", "bubblewrap 0.11.0"):
        monkeypatch.setattr(warm, "_bubblewrap_version", lambda version=version: version)
        warm.fork_unavailable_because.cache_clear()
        assert warm.fork_unavailable_because() == ""
    warm.fork_unavailable_because.cache_clear()
    assert checks == ["checked", "checked"]
