"""The code passes ruff's linter and formatter with the settings in pyproject.toml."""

import subprocess
import sys

import pytest

from tests import COURSE_ROOT


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=" ".join)
def test_ruff(command):
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], cwd=COURSE_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
