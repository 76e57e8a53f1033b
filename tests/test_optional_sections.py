"""The optional, ungraded sections: per-layer keep_prob, their skip under autograding, and what a
student with unfinished exercises sees."""
import matplotlib

matplotlib.use("Agg")  # model() may draw; the tests never show a window

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import reg_utils  # noqa: E402
from public_tests import numeric_gradient  # noqa: E402
from reg_utils import (compute_cost, dropout_backward, dropout_forward, exercises_done,  # noqa: E402
                       keep_probs_per_layer, optional_section, train_with_dropout)
from testCases import random_case  # noqa: E402
from tests import notebooks  # noqa: E402
from tests.gradcheck import relative_error  # noqa: E402


def optional_code_cells(nb):
    return [cell for cell in nb.cells if cell.id.startswith("optional-") and cell.cell_type == "code"]


@pytest.fixture(scope="module")
def notebook_model(solutions):
    """The notebook's locked model(), defined next to the reference solutions."""
    nb = nbformat.read(notebooks.SOURCE_NOTEBOOK, as_version=4)
    namespace = {"np": np, "plt": plt, **vars(reg_utils), **solutions}
    exec(notebooks.cell_by_id(nb, "model").source, namespace)
    return namespace["model"]


# --- per-layer keep_prob ------------------------------------------------------------------------

def test_scalar_equal_list_and_graded_solution_draw_the_same_masks(solutions):
    X, Y, parameters = random_case(7, [3, 6, 4, 1], 9)
    results = []
    for forward, backward, keep in [(dropout_forward, dropout_backward, 0.7),
                                    (dropout_forward, dropout_backward, [0.7, 0.7]),
                                    (solutions["forward_propagation_with_dropout"],
                                     solutions["backward_propagation_with_dropout"], 0.7)]:
        np.random.seed(11)
        A3, cache = forward(X, parameters, keep)
        results.append((A3, cache, backward(X, Y, cache, keep)))
    for A3, cache, grads in results[1:]:
        assert np.array_equal(A3, results[0][0])
        assert all(np.array_equal(a, b) for a, b in zip(cache, results[0][1]))
        assert all(np.array_equal(grads[k], results[0][2][k]) for k in grads)


def test_model_trains_identically_with_a_scalar_and_a_list_of_equal_values(notebook_model):
    X, Y, _, _ = reg_utils.load_2D_dataset()
    scalar = notebook_model(X, Y, keep_prob=0.86, num_iterations=300, print_cost=False)
    listed = notebook_model(X, Y, keep_prob=[0.86, 0.86], num_iterations=300, print_cost=False)
    assert all(np.array_equal(scalar[name], listed[name]) for name in scalar)
    different = notebook_model(X, Y, keep_prob=[0.6, 0.8], num_iterations=300, print_cost=False)
    assert not np.array_equal(scalar["W1"], different["W1"])


def test_training_through_the_graded_functions_matches_the_reference_pair(solutions):
    X, Y, _, _ = reg_utils.load_2D_dataset()
    graded = train_with_dropout(X, Y, 0.8, solutions["forward_propagation_with_dropout"],
                                solutions["backward_propagation_with_dropout"], num_iterations=200, record_every=10)
    reference = train_with_dropout(X, Y, [0.8, 0.8], num_iterations=200, record_every=10)
    assert graded[1] == reference[1] and len(graded[1]) == 20
    assert all(np.array_equal(graded[0][name], reference[0][name]) for name in graded[0])


def test_each_layer_keeps_its_own_fraction_of_units():
    X, _, parameters = random_case(5, [4, 200, 100, 1], 500)
    np.random.seed(0)
    A3, (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, _, W3, b3) = dropout_forward(X, parameters, [0.3, 0.9])
    assert D1.mean() == pytest.approx(0.3, abs=0.01)  # 100,000 draws: the standard error is 0.0015
    assert D2.mean() == pytest.approx(0.9, abs=0.01)
    assert np.allclose(A1, np.maximum(Z1, 0) * D1 / 0.3) and np.allclose(A2, np.maximum(Z2, 0) * D2 / 0.9)


def test_per_layer_gradients_match_finite_differences_with_the_masks_held_fixed():
    X, Y, parameters = random_case(3, [3, 5, 4, 1], 6)
    keep = [0.5, 0.75]

    def cost():
        np.random.seed(2)  # the same masks at every evaluation
        return compute_cost(dropout_forward(X, parameters, keep)[0], Y)

    np.random.seed(2)
    grads = dropout_backward(X, Y, dropout_forward(X, parameters, keep)[1], keep)
    for name, value in parameters.items():
        assert relative_error(grads["d" + name], numeric_gradient(cost, value)) < 1e-7, name


@pytest.mark.parametrize("bad", [0, 1.2, [0.5, -0.1], [0.5, 0.6, 0.7]])
def test_keep_probs_outside_the_unit_interval_or_of_the_wrong_length_are_refused(bad):
    with pytest.raises(ValueError):
        keep_probs_per_layer(bad)


# --- the skip under autograding ---------------------------------------------------------------

def test_optional_section_skips_with_one_line_only_under_autograde(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert optional_section("x") is True and capsys.readouterr().out == ""
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert optional_section("x") is True
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert optional_section("x") is False
    assert capsys.readouterr().out.count("\n") == 1


def test_optional_cells_come_last_are_ungraded_and_start_with_the_guard():
    nb = nbformat.read(notebooks.SOURCE_NOTEBOOK, as_version=4)
    first = next(i for i, cell in enumerate(nb.cells) if cell.id.startswith("optional-"))
    assert all(cell.id.startswith("optional-") for cell in nb.cells[first:])
    assert nb.cells[first].source.startswith("## 8 - Optional and ungraded")
    assert not any("nbgrader" in cell.metadata for cell in nb.cells[first:])
    cells = optional_code_cells(nb)
    assert len(cells) == 4
    assert all(cell.source.startswith("if optional_section(") for cell in cells)


def test_optional_cells_run_and_draw_in_the_source(executed_source):
    for cell in optional_code_cells(executed_source):
        assert not notebooks.errors(cell), cell.id
        assert any("image/png" in out.get("data", {}) for out in cell.outputs), cell.id
    debugging = next(c for c in executed_source.cells if c.id == "optional-05")
    assert "the cost rose 0 times" in notebooks.stdout(debugging)


# --- unfinished exercises ---------------------------------------------------------------------

def test_exercises_done_names_the_first_unfinished_exercise(solutions, capsys):
    def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
        raise NotImplementedError("replace this line with your code")

    state = np.random.get_state()[1].copy()
    assert exercises_done(*solutions.values()) is True
    assert np.array_equal(np.random.get_state()[1], state)  # checking drew no masks
    assert exercises_done(solutions["compute_cost_with_regularization"], forward_propagation_with_dropout) is False
    assert capsys.readouterr().out.startswith("Finish exercise 3 first (forward_propagation_with_dropout)")


def test_exercises_done_lets_real_bugs_through():
    def backward_propagation_with_dropout(X, Y, cache, keep_prob):
        raise KeyError("dA3")

    with pytest.raises(KeyError):
        exercises_done(backward_propagation_with_dropout)


def test_untouched_release_says_finish_first_instead_of_a_traceback(executed_release):
    cells = optional_code_cells(executed_release)
    assert len(cells) == 4
    for cell in cells:
        assert not notebooks.errors(cell), cell.id
        assert notebooks.stdout(cell).startswith("Finish exercise "), cell.id
