"""What a student sees in a real kernel when a public test fails: the message and hint under their cell,
no frames of public_tests.py, and, when their own function raised, the line of theirs that did."""

import re

import nbformat
import pytest

from tests import COURSE_ROOT, notebooks

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELLS = {
    "wrong result": """
def compute_cost_with_regularization(A3, Y, parameters, lambd):
    squared_weights = sum(np.sum(np.square(parameters[f"W{layer}"])) for layer in (1, 2, 3))
    return compute_cost(A3, Y) + lambd / Y.shape[1] * squared_weights
compute_cost_with_regularization_test(compute_cost_with_regularization)""",
    "raised in the student's code": """
def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return compute_cost(A3, Y) + lambd * parameters["W4"]
compute_cost_with_regularization_test(compute_cost_with_regularization)""",
    "shapes clash in the student's code": """
def backward_propagation_with_regularization(X, Y, cache, lambd):
    return cache[2] + cache[6]
backward_propagation_with_regularization_test(backward_propagation_with_regularization)""",
}


@pytest.fixture(scope="module")
def tracebacks(tmp_path_factory):
    """Each cell's error output as the notebook shows it: ename, and the traceback without colours."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            f"import sys\nsys.path.insert(0, {str(COURSE_ROOT)!r})\n"
            "from reg_utils import compute_cost\nfrom public_tests import *"
        )
    ]
    nb.cells += [nbformat.v4.new_code_cell(code.strip()) for code in CELLS.values()]
    path = tmp_path_factory.mktemp("public-tests") / "failing.ipynb"
    nbformat.write(nb, path)
    executed = notebooks.execute(path, timeout=60)
    assert not notebooks.errors(executed.cells[0])
    return {
        name: [(error.ename, ANSI.sub("", "\n".join(error.traceback))) for error in notebooks.errors(cell)]
        for name, cell in zip(CELLS, executed.cells[1:])
    }


def test_a_failing_test_shows_its_message_and_hint_under_the_cell_only(tracebacks):
    ((ename, text),) = tracebacks["wrong result"]
    assert ename == "AssertionError"
    assert "public_tests.py" not in text
    assert "----> 4 compute_cost_with_regularization_test(compute_cost_with_regularization)" in text
    assert text.rstrip().endswith("Hint: the L2 term uses lambd/m; the cost needs lambd/(2m).")


def test_an_error_in_the_students_function_shows_their_line(tracebacks):
    ((ename, text),) = tracebacks["raised in the student's code"]
    assert ename == "KeyError"
    assert "public_tests.py" not in text
    assert "in compute_cost_with_regularization(A3, Y, parameters, lambd)" in text
    assert '----> 2     return compute_cost(A3, Y) + lambd * parameters["W4"]' in text


def test_a_shape_clash_shows_the_students_line_then_the_hint(tracebacks):
    ((ename, text),) = tracebacks["shapes clash in the student's code"]
    assert ename == "AssertionError"
    assert "public_tests.py" not in text
    assert text.index("----> 2     return cache[2] + cache[6]") < text.index("Hint: two arrays of different shapes")
