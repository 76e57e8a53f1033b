"""JupyterHub for the course on one machine: every student and the instructor log in with their Unix
account and password (PAM) and get JupyterLab with nbgrader's Assignments panel, running as themselves
from this checkout's virtualenv; the hub also runs the grading service as the instructor. Start it as
root from a folder for the hub's state (its database and cookie secret), with this checkout's Python:

    sudo env COURSE_INSTRUCTOR=prof /srv/regularization/.venv/bin/jupyterhub -f /srv/regularization/jupyterhub_config.py

It reads these environment variables:
    COURSE_INSTRUCTOR  the instructor's Unix account (required): a hub admin, runs the grading service,
                       and their JupyterLab opens in the course folder, Formgrader included
    COURSE_FOLDER      the course the service grades and Formgrader shows (default: this checkout)
    COURSE_EXCHANGE    nbgrader's exchange, shared by everyone (default: /srv/nbgrader/exchange); made
                       world-writable if missing, as nbgrader needs
    COURSE_GROUP       the Unix group whose members may log in besides the instructor (default: regularization)
Anything else goes on the command line (`--JupyterHub.bind_url=http://127.0.0.1:8000`, ...).
"""

import os
import sys
from pathlib import Path

from course.layout import course_config

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

INSTRUCTOR = os.environ["COURSE_INSTRUCTOR"]
CHECKOUT = Path(__file__).resolve().parent
COURSE_FOLDER = Path(os.environ.get("COURSE_FOLDER") or CHECKOUT)
EXCHANGE = Path(os.environ.get("COURSE_EXCHANGE") or "/srv/nbgrader/exchange")
GROUP = os.environ.get("COURSE_GROUP") or "regularization"
VENV_BIN = Path(sys.executable).parent  # this checkout's virtualenv, which every account must be able to run
USERS_CONFIG = CHECKOUT / "hub"  # hub/nbgrader_config.py: the exchange and the course
STUDENTS_CONFIG = USERS_CONFIG / "students"  # nbgrader's instructor tools (Formgrader, Create Assignment) off

if not EXCHANGE.exists():
    EXCHANGE.mkdir(parents=True)
    EXCHANGE.chmod(0o777)

# Loopback only: a class reaches it through a TLS-terminating proxy in front, or give another bind_url.
c.JupyterHub.bind_url = "http://127.0.0.1:8000"

# Unix accounts and their passwords, through PAM; the hub runs as root to check them and to start each
# user's server as that user.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_groups = {GROUP}
c.Authenticator.allowed_users = {INSTRUCTOR}  # whether in the group or not
c.Authenticator.admin_users = {INSTRUCTOR}

# Each user's JupyterLab runs as their own account, from the course's virtualenv (nbgrader's extensions
# included), with the course's nbgrader settings: a student's in their home, without the instructor's tools;
# the instructor's in the course folder.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",  # a terminal's `nbgrader` and `python` are the course's
    "JUPYTER_CONFIG_PATH": f"{STUDENTS_CONFIG}{os.pathsep}{USERS_CONFIG}",
    "COURSE_EXCHANGE": str(EXCHANGE),
    "COURSE_ID": course_config(COURSE_FOLDER).CourseDirectory.course_id,
}
# JupyterLab with nbgrader starts in a few seconds; a busy machine can take much longer.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180


def instructor_in_the_course(spawner):
    """Formgrader reads the course's own nbgrader_config.py, and must serve the folder it anchors; the
    instructor's tools stay on."""
    if spawner.user.name == INSTRUCTOR:
        spawner.notebook_dir = str(COURSE_FOLDER)
        spawner.environment = {
            **spawner.environment,
            "JUPYTER_CONFIG_PATH": f"{COURSE_FOLDER}{os.pathsep}{USERS_CONFIG}",
        }


c.Spawner.pre_spawn_hook = instructor_in_the_course

# The grading service (python -m course serve), as the instructor, in the course folder, checking that
# each submission belongs to the account it names. The hub restarts it if it stops, and stops it with the hub.
c.JupyterHub.services = [
    {
        "name": "grading",
        "user": INSTRUCTOR,
        "cwd": str(COURSE_FOLDER),
        "command": [sys.executable, "-m", "course", "serve", "--exchange", str(EXCHANGE)],
    }
]
