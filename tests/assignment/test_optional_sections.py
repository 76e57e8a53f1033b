"""The optional, ungraded sections: per-layer keep_prob, their skip under autograding, and what a
student with unfinished exercises sees."""

import matplotlib

matplotlib.use("Agg")  # model() may draw; the tests never show a window

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import reg_utils  # noqa: E402
from public_tests import numeric_gradient  # noqa: E402
from reg_utils import check_per_layer, compute_cost, exercises_done, optional_section, train_with_dropout  # noqa: E402
from testCases import random_case  # noqa: E402
from tests import notebooks  # noqa: E402
from tests.gradcheck import relative_error  # noqa: E402

PER_LAYER = ("forward_propagation_with_dropout_per_layer", "backward_propagation_with_dropout_per_layer")


def optional_code_cells(nb):
    """The optional sections' code cells that run something (not the per-layer definitions of 8.1)."""
    return [
        cell
        for cell in nb.cells
        if cell.id.startswith("optional-") and cell.cell_type == "code" and not notebooks.grade_id(cell)
    ]


@pytest.fixture(scope="module")
def per_layer():
    """Section 8.1's per-layer pair as the source notebook solves it."""
    nb = nbformat.read(notebooks.SOURCE_NOTEBOOK, as_version=4)
    namespace = {"np": np, **vars(reg_utils)}
    exec(notebooks.cell_by_id(nb, "per_layer_dropout").source, namespace)
    return [namespace[name] for name in PER_LAYER]


# --- per-layer keep_prob ------------------------------------------------------------------------


def test_the_per_layer_solution_passes_the_self_check(solutions, per_layer, capsys):
    graded = (solutions["forward_propagation_with_dropout"], solutions["backward_propagation_with_dropout"])
    state = np.random.get_state()[1].copy()
    assert check_per_layer(*graded, *per_layer) is True
    assert np.array_equal(np.random.get_state()[1], state)  # the self-check draws from its own seeds only
    assert capsys.readouterr().out == "Per-layer self-check passed.\n"


def test_the_self_check_names_a_pair_that_mixes_up_the_layers(solutions, per_layer, capsys):
    forward, backward = per_layer

    def swapped(X, parameters, keep_probs):
        return forward(X, parameters, keep_probs[::-1])

    graded = (solutions["forward_propagation_with_dropout"], solutions["backward_propagation_with_dropout"])
    assert check_per_layer(*graded, swapped, backward) is False
    assert "keep_probs[0] for layer 1" in capsys.readouterr().out


def test_training_through_the_graded_pair_matches_the_per_layer_pair_with_equal_values(solutions, per_layer):
    X, Y, _, _ = reg_utils.load_2D_dataset()
    graded = train_with_dropout(
        X,
        Y,
        0.8,
        solutions["forward_propagation_with_dropout"],
        solutions["backward_propagation_with_dropout"],
        num_iterations=200,
        record_every=10,
    )
    listed = train_with_dropout(X, Y, [0.8, 0.8], *per_layer, num_iterations=200, record_every=10)
    assert graded[1] == listed[1] and len(graded[1]) == 20
    assert all(np.array_equal(graded[0][name], listed[0][name]) for name in graded[0])


def test_each_layer_keeps_its_own_fraction_of_units(per_layer):
    X, _, parameters = random_case(5, [4, 200, 100, 1], 500)
    np.random.seed(0)
    A3, (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, _, W3, b3) = per_layer[0](X, parameters, [0.3, 0.9])
    assert D1.mean() == pytest.approx(0.3, abs=0.01)  # 100,000 draws: the standard error is 0.0015
    assert D2.mean() == pytest.approx(0.9, abs=0.01)
    assert np.allclose(A1, np.maximum(Z1, 0) * D1 / 0.3) and np.allclose(A2, np.maximum(Z2, 0) * D2 / 0.9)


def test_per_layer_gradients_match_finite_differences_with_the_masks_held_fixed(per_layer):
    forward, backward = per_layer
    X, Y, parameters = random_case(3, [3, 5, 4, 1], 6)
    keep = [0.5, 0.75]

    def cost():
        np.random.seed(2)  # the same masks at every evaluation
        return compute_cost(forward(X, parameters, keep)[0], Y)

    np.random.seed(2)
    grads = backward(X, Y, forward(X, parameters, keep)[1], keep)
    for name, value in parameters.items():
        assert relative_error(grads["d" + name], numeric_gradient(cost, value)) < 1e-7, name


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
    graded = [cell for cell in nb.cells[first:] if "nbgrader" in cell.metadata]
    assert [notebooks.grade_id(cell) for cell in graded] == ["per_layer_dropout"]
    assert not graded[0].metadata.nbgrader["grade"]  # the per-layer pair is written by the student, for no points
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
