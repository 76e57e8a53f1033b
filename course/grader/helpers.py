"""The released helpers as the grader runs them: its own copy, which no kernel ever sees.

The judge imports reg_utils, testCases, public_tests and handin from this copy, and the hidden cases'
planned calls and expected values are worked out with them. A worker grades many submissions of one
assignment package, so it writes the copy once per package, imports its modules once and keeps them,
and works the plans and the expected values out once; per submission only the cases' arguments are
copied, since a replayed call writes into them what the student's function did to its own.
"""

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from threadpoolctl import threadpool_limits

from course.grader import hidden_tests
from course.layout import course_modules


class TrustedHelpers:
    """The helpers of one folder that does not change while this object lives (a package's copy, or a
    release folder)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._modules: dict = {}
        self.namespace = {}  # what a test cell sees: numpy as np and every helper's names
        names = sorted(path.stem for path in self.folder.glob("*.py"))
        with self.imported():
            import public_tests

            self.plans = hidden_tests.plans()  # {path under the kernel's folder: bytes}
            self._checks = {name: hidden_tests.expected_checks(name) for name in public_tests.GRADED_FUNCTIONS}
            exec("import numpy as np\n" + "".join(f"from {name} import *\n" for name in names), self.namespace)

    @contextmanager
    def imported(self) -> Iterator[None]:
        """The helpers importable by their plain names, the same module objects every time; meanwhile
        numpy's BLAS runs on one thread, as in the kernel (sandbox.GRADING_ENVIRONMENT): otherwise its
        other threads, idle after each test, spin on the cores (0.09 s of CPU per submission on two)."""
        with course_modules(self.folder, self._modules), _one_blas_thread():
            yield

    def judge(self, function: str, target) -> None:
        """hidden_tests.judge with the expected values worked out once (call it inside imported())."""
        hidden_tests.judge(function, target, self._checks[function])

    def write_plans(self, workdir: Path) -> None:
        hidden_tests.write_plans(workdir, self.plans)


def _one_blas_thread():
    """Every BLAS this process has loaded (numpy's first) on one thread, until the context is left."""
    import numpy  # noqa: F401

    return threadpool_limits(limits=1, user_api="blas")


_by_package: dict[str, TrustedHelpers] = {}  # this worker's, by package digest
_folders: list[tuple[int, Path]] = []  # (the process that wrote it, a copy's folder)


def for_package(package) -> TrustedHelpers:
    """This worker's helpers for an AssignmentPackage: its files in a folder of their own, written once."""
    if package.digest not in _by_package:
        folder = Path(tempfile.mkdtemp(prefix="grader-helpers-"))
        _folders.append((os.getpid(), folder))
        package.write_files(folder)
        _by_package[package.digest] = TrustedHelpers(folder)
    return _by_package[package.digest]


@atexit.register
def remove_copies() -> None:
    """Remove the copies this process wrote (a process forked from it keeps its own)."""
    _by_package.clear()
    for writer, folder in _folders:
        if writer == os.getpid():
            shutil.rmtree(folder, ignore_errors=True)
    _folders.clear()
