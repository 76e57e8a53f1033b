"""A real browser and a real Formgrader for the tests that look at pages as instructors and students do:
Debian's Chromium driven by Playwright, and a Jupyter server with nbgrader's extensions on loopback."""

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: Playwright's own browser downloads are never used
INSTALL_HINT = "install Chromium with `apt-get install -y chromium` (as .ci/run does)"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WINDOW = {"width": 1280, "height": 900}  # the report must fit a window this wide
SERVER_START_SECONDS = 60


@contextlib.contextmanager
def browser_page():
    """A page of a headless Chromium with a fresh profile and a WINDOW-sized viewport."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"no browser at {CHROMIUM}: {INSTALL_HINT}")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, viewport=WINDOW
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def press_formgrader_button(url: str, api_path: str, timeout: float) -> dict:
    """What one of Formgrader's buttons does: a POST to its API at url (with the XSRF token it checks, sent
    as both header and cookie); its JSON answer."""
    request = urllib.request.Request(
        f"{url}/formgrader/api/{api_path}",
        data=b"",
        method="POST",
        headers={"X-XSRFToken": "button", "Cookie": "_xsrf=button"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def formgrader(root: Path):
    """`jupyter server` with nbgrader's extensions, serving the course at root on 127.0.0.1; yields its
    base URL. It asks for no token: tolerable only because nothing but this machine can reach it."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="jupyter-runtime-") as runtime:
        log = Path(runtime) / "server.log"
        with open(log, "wb") as output:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_server",
                    "--no-browser",
                    "--allow-root",
                    "--ServerApp.ip=127.0.0.1",
                    f"--ServerApp.port={port}",
                    "--ServerApp.port_retries=0",
                    "--IdentityProvider.token=",
                    f"--ServerApp.root_dir={root}",
                ],
                cwd=root,
                env={**os.environ, "JUPYTER_RUNTIME_DIR": runtime},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(url, server, log)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _wait_for(url: str, server: subprocess.Popen, log: Path, token: str = "") -> None:
    """Until the server at url answers (with the token, if it asks for one); fails if it exits first."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter server exited with status {server.returncode}:\n{log_tail(log)}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                return
        time.sleep(0.5)
    raise RuntimeError(f"jupyter server did not answer within {SERVER_START_SECONDS} s:\n{log_tail(log)}")


def stop(process: subprocess.Popen, seconds: float = 20) -> None:
    """SIGTERM to the process's session, SIGKILL if it is still there after the given seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def log_tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


@contextlib.contextmanager
def jupyterlab(home: Path):
    """`jupyter lab` serving the student's home folder on 127.0.0.1, with a token and Jupyter settings of
    its own under home; yields the URL that logs the browser in."""
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / ".local/share/jupyter/runtime"),
    }
    log = home.parent / "jupyterlab.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--allow-root",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={home}",
            ],
            cwd=home,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, server, log, token)
        yield f"{url}/lab?token={token}"
    finally:
        stop(server)
