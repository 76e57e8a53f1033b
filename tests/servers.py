"""Real servers on loopback for the tests and the cluster benchmark: a Dask scheduler with its
workers, and a throwaway PostgreSQL cluster. Each runs as separate processes, as in production."""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests import COURSE_ROOT

INSTALL_HINT = "install PostgreSQL with `apt-get install -y postgresql` (as .ci/run does)"
# Scheduler settings the README recommends: one submission per single-threaded worker at a time
# (a dying worker then takes only its own task down), and a killer submission tried twice, not four times.
DASK_SETTINGS = {
    "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
}


@contextlib.contextmanager
def accounts_of_this_machine():
    """Held while a test makes and removes Unix accounts: two test runs on one machine would otherwise
    remove each other's accounts (each removes what a killed run left under the same names)."""
    import fcntl

    with open(Path(tempfile.gettempdir()) / "course-test-accounts.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """Kill the process and everything in its session (nanny, worker)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass
class DaskCluster:
    address: str
    workers: list  # one `dask worker` process (a nanny and its worker) per entry

    def kill_worker(self, index: int) -> None:
        """As if its machine died: the nanny goes too, so nothing restarts the worker."""
        _stop(self.workers[index])


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2):
    """`dask scheduler` and `workers` single-threaded `dask worker` processes on 127.0.0.1,
    able to import `course`; their output goes to folder/*.log."""
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    env = {**os.environ, **DASK_SETTINGS, "PYTHONPATH": str(COURSE_ROOT)}
    address = f"tcp://127.0.0.1:{free_port()}"
    folder.mkdir(parents=True, exist_ok=True)
    processes = []

    def start(name, *args):
        with open(folder / f"{name}.log", "wb") as log:
            processes.append(
                subprocess.Popen(
                    [dask, *args, "--no-dashboard"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return processes[-1]

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1])
        started = [
            start(
                f"worker-{i}",
                "worker",
                address,
                "--name",
                f"w{i}",
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--local-directory",
                str(folder / f"w{i}"),
            )
            for i in range(workers)
        ]
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)
        yield DaskCluster(address, started)
    finally:
        for process in reversed(processes):
            _stop(process)


def postgres_binary(name: str) -> str:
    """A PostgreSQL server program: on PATH, or where Debian's package puts it (not on PATH)."""
    found = shutil.which(name) or max(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), default=None, key=lambda path: int(Path(path).parts[-3])
    )
    if not found:
        raise RuntimeError(f"PostgreSQL's `{name}` is not installed: {INSTALL_HINT}")
    return found


class PostgresServer:
    """A throwaway PostgreSQL cluster: initdb in a temporary folder, trust auth, loopback port only.
    initdb and the server refuse to run as root, so root runs them as the `postgres` user."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="course-postgres-"))
        self.data, self.port = self.folder / "data", free_port()
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(f"no `postgres` system user to run the server as: {INSTALL_HINT}") from None
            os.chown(self.folder, user.pw_uid, user.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_postgres, postgres_binary(program), *args], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{program} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def pg_ctl(self, *args: str) -> None:
        """pg_ctl start, stop -m fast, restart, ... on this cluster, waiting until it is done."""
        self._run("pg_ctl", *args, "-D", str(self.data), "-w", "-l", str(self.folder / "server.log"))

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:  # durability is not wanted here, speed is
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.folder}'\nfsync = off\n"
            )
        self.pg_ctl("start")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_database(self, name: str) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def postgres_server():
    server = PostgresServer()
    try:
        server.create()
        yield server
    finally:
        server.remove()
