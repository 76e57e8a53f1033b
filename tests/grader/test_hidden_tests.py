"""The hidden tests: their cases travel to the kernel as data, their verdicts are reached in the grader,
they leave no trace in the student's namespace, nothing a submission does can show their code, and a
test that could not run says why in words. (tests/assignment/test_catalogue_in_process.py checks that every call
a hidden check makes was planned, on every catalogued mistake.)"""

import re

import nbformat
import numpy as np
import pytest
import threadpoolctl

import handin
from course.build.package import assignment_package
from course.build.sample_class import Edit, grade_id, solution_blocks, submission
from course.fanout.pool import WorkerPool
from course.grader import hidden_tests
from course.grader.helpers import TrustedHelpers
from course.grader.job import GradingJob
from course.layout import ASSIGNMENT, Stage
from public_tests import GRADED_FUNCTIONS
from reg_utils import compute_cost
from tests import COURSE, COURSE_ROOT

GRADER_ONLY = (COURSE_ROOT / "course" / "grader" / "hidden_tests.py", COURSE_ROOT / "course" / "build" / "reference.py")


def test_hidden_cases_differ_from_the_public_ones_and_cover_keep_prob_1():
    for function in GRADED_FUNCTIONS:
        cases = hidden_tests.cases(function)
        assert len(cases) >= 3
        examples = {case.arguments[0].shape[1] for case in cases}
        assert len(examples) >= 3 and 5 not in examples  # other numbers of examples than the public case's 5
        if "dropout" in function:
            assert 1.0 in {case.arguments[-1] for case in cases if case.check != "check_dropout_statistics"}


def test_the_kernel_reads_the_planned_calls_bit_for_bit(tmp_path):
    hidden_tests.write_plans(tmp_path)
    for function in GRADED_FUNCTIONS:
        handed = handin.decode(*handin.unpack((tmp_path / handin.PLANS_FOLDER / f"{function}.plan").read_bytes()))
        planned = hidden_tests.planned_calls(function)
        assert [(handin.call_key(arguments), seed) for arguments, seed in handed] == [
            (handin.call_key(arguments), seed) for arguments, seed in planned
        ]


def test_worked_out_cases_survive_a_function_that_changes_its_inputs():
    """A worker judges every submission on cases worked out once (TrustedHelpers). A replayed call writes
    into the grader's arguments what the student's function did to its own: that must not reach the
    next submission's judgement."""
    helpers = TrustedHelpers(COURSE.path(Stage.RELEASE, None, ASSIGNMENT))

    def right(A3, Y, parameters, lambd):
        squares = sum(np.sum(parameters[f"W{layer}"] ** 2) for layer in (1, 2, 3))
        return compute_cost(A3, Y) + lambd / (2 * Y.shape[1]) * squares

    def in_place(A3, Y, parameters, lambd):
        cost = right(A3, Y, parameters, lambd)
        parameters["W1"] += 1.0
        return cost

    with helpers.imported():
        for _ in range(2):
            with pytest.raises(AssertionError, match="argument 3 was modified"):
                helpers.judge("compute_cost_with_regularization", in_place)
            helpers.judge("compute_cost_with_regularization", right)  # raises if the cases were changed


def test_the_judge_computes_on_one_blas_thread_and_then_gives_the_others_back():
    """As in the kernel: numpy's other BLAS threads, idle after each test, would spin on the cores."""
    helpers = TrustedHelpers(COURSE.path(Stage.RELEASE, None, ASSIGNMENT))

    def blas_threads():
        return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        with helpers.imported():
            inside = blas_threads()
        after = blas_threads()
    assert inside and set(inside) == {1} and set(after) == {2}  # numpy's OpenBLAS, and scipy's


# --- through real autograding ------------------------------------------------------------------------

SNAPSHOT = "_names_before = {name: id(value) for name, value in globals().items() if not name.startswith('_')}"
COMPARE = (
    "_names_after = {name: id(value) for name, value in globals().items() if not name.startswith('_')}\n"
    "print('namespace changes:', sorted(name for name in _names_before.keys() | _names_after.keys()\n"
    "      if _names_before.get(name) != _names_after.get(name)))"
)
# Raises what a test's frames and the running cell hold, hoping to carry hidden test code into the feedback.
EXFILTRATE = """
    import inspect
    frames = "\\n".join("".join(frame.code_context or []) + repr(frame.frame.f_locals.keys())
                        for frame in inspect.stack())
    raise RuntimeError(get_ipython().user_ns["In"][-1] + frames + "\\n".join(inspect.getsource(frame.frame)
                       for frame in inspect.stack()[1:] if frame.filename.endswith(".py")))
"""
STUDENTS = {
    # the namespace snapshots around every test cell are added below; this one also exfiltrates
    "snoop": [Edit("backward_propagation_with_dropout", "    m = X.shape[1]\n", "    m = X.shape[1]\n" + EXFILTRATE)],
    "delegates": [
        Edit(
            "forward_propagation_with_dropout",
            '    W1 = parameters["W1"]\n',
            '    return forward_propagation(X, parameters)\n    W1 = parameters["W1"]\n',
        ),
        Edit(
            "backward_propagation_with_dropout",
            "    m = X.shape[1]\n",
            "    return backward_propagation(X, Y, cache[:1] + cache[2:6] + cache[7:])\n    m = X.shape[1]\n",
        ),
    ],
    "indentation": [Edit("backward_propagation_with_dropout", "    dZ3 = A3 - Y\n", "      dZ3 = A3 - Y\n")],
}


def with_snapshots(data: bytes) -> bytes:
    nb = nbformat.reads(data.decode(), as_version=4)
    cells = []
    for cell in nb.cells:
        tested = (grade_id(cell) or "").startswith("test_")
        cells += [nbformat.v4.new_code_cell(SNAPSHOT)] * tested + [cell] + [nbformat.v4.new_code_cell(COMPARE)] * tested
    nb.cells = cells
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def graded():
    release_nb = nbformat.read(COURSE.notebook(Stage.RELEASE, None, ASSIGNMENT), as_version=4)
    release_nb.cells = [
        cell
        for cell in release_nb.cells  # training cells decide nothing here
        if not any(call in cell.source for call in ("model(train_X", "plot_decision_boundary("))
    ]
    blocks = solution_blocks(nbformat.read(COURSE.notebook(Stage.SOURCE, None, ASSIGNMENT), as_version=4))
    package = assignment_package(COURSE_ROOT, ASSIGNMENT)
    jobs = [
        GradingJob(student, with_snapshots(submission(release_nb, blocks, edits)), package, cell_timeout=20)
        for student, edits in STUDENTS.items()
    ]
    return {result.student: result for result in WorkerPool(2).grade_all(jobs)}


def points(result):
    return {score.grade_id.removeprefix("test_"): score.points for score in result.scores}


@pytest.mark.slow
def test_a_test_cell_leaves_the_namespace_as_it_found_it(graded):
    for result in graded.values():
        nb = nbformat.reads(result.notebook.decode(), as_version=4)
        printed = [cell.outputs[0].text for cell in nb.cells if cell.source == COMPARE]
        assert printed == ["namespace changes: []\n"] * len(GRADED_FUNCTIONS), result.student


@pytest.mark.slow
def test_nothing_a_submission_raises_or_prints_shows_the_hidden_test_code(graded):
    result = graded["snoop"]
    assert points(result)["backward_propagation_with_dropout"] == 0 and result.points == 30
    text = result.notebook.decode()
    assert "inspect.stack" in text and "hidden_tests(" in text  # the attempt ran and printed what it found
    for path in GRADER_ONLY:
        for line in path.read_text().splitlines():
            if len(line.strip()) > 30 and not line.strip().startswith(("#", '"""')):
                assert line.strip() not in text, line


@pytest.mark.slow
def test_a_submission_that_delegates_to_the_release_gets_nothing_for_dropout(graded):
    assert points(graded["delegates"]) == {
        "compute_cost_with_regularization": 10,
        "backward_propagation_with_regularization": 10,
        "forward_propagation_with_dropout": 0,
        "backward_propagation_with_dropout": 0,
    }


@pytest.mark.slow
def test_a_solution_that_does_not_compile_is_named(graded):
    result = graded["indentation"]
    (failure,) = [score.failure for score in result.scores if score.points < score.max_points]
    assert re.fullmatch(
        r"NotRun: the cell that defines backward_propagation_with_dropout did not run: "
        r"IndentationError at line \d+ \(unexpected indent\)",
        failure,
    ), failure
