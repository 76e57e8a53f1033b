import warnings

import numpy as np
import pytest

import reg_utils
from public_tests import numeric_gradient
from reg_utils import (
    backward_propagation,
    compute_cost,
    forward_propagation,
    initialize_parameters,
    load_2D_dataset,
    predict,
    update_parameters,
)
from testCases import random_case
from tests.gradcheck import relative_error


def test_initialization_is_seeded_and_scaled_by_fan_in():
    parameters = initialize_parameters([2, 20, 3, 1])
    np.random.seed(3)
    assert np.array_equal(parameters["W1"], np.random.randn(20, 2) / np.sqrt(2))
    assert np.array_equal(parameters["W2"], np.random.randn(3, 20) / np.sqrt(20))
    assert parameters["b2"].shape == (3, 1) and not parameters["b2"].any()
    assert sorted(parameters) == ["W1", "W2", "W3", "b1", "b2", "b3"]


def test_forward_cache_layout():
    X, _, parameters = random_case(0, [2, 4, 3, 1], 6)
    A3, cache = forward_propagation(X, parameters)
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3_cached, W3, b3 = cache
    assert A3.shape == (1, 6) and A3 is A3_cached and W2 is parameters["W2"]
    assert np.array_equal(A1, np.maximum(Z1, 0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backward_propagation_matches_finite_differences(seed):
    X, Y, parameters = random_case(seed, [3, 5, 4, 1], 7)

    def cost():
        return compute_cost(forward_propagation(X, parameters)[0], Y)

    grads = backward_propagation(X, Y, forward_propagation(X, parameters)[1])
    assert set(grads) == {"dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"}
    for name, value in parameters.items():
        assert relative_error(grads["d" + name], numeric_gradient(cost, value)) < 1e-7, name


def test_cost_of_saturated_outputs_is_exact_and_silent():
    Y = np.array([[1, 0, 1, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compute_cost(np.array([[1.0, 0.0, 1.0, 0.0]]), Y) == 0.0
        assert compute_cost(np.array([[1.0, 0.0, 0.5, 0.5]]), Y) == pytest.approx(np.log(2) / 2)
        assert compute_cost(np.array([[0.0, 0.0, 1.0, 0.0]]), Y) == np.inf


def test_update_is_plain_gradient_descent_and_leaves_inputs_alone():
    parameters = {"W1": np.ones((2, 2)), "b1": np.zeros((2, 1))}
    grads = {"dW1": np.full((2, 2), 2.0), "db1": np.ones((2, 1))}
    updated = update_parameters(parameters, grads, 0.5)
    assert np.array_equal(updated["W1"], np.zeros((2, 2))) and np.array_equal(updated["b1"], -0.5 * np.ones((2, 1)))
    assert np.array_equal(parameters["W1"], np.ones((2, 2)))


def test_predict_thresholds_at_one_half_and_prints_accuracy(capsys, monkeypatch):
    outputs = np.array([[0.2, 0.5, 0.51, 0.9]])
    monkeypatch.setattr(reg_utils, "forward_propagation", lambda X, parameters: (outputs, None))
    predictions = predict(np.zeros((2, 4)), np.array([[0, 1, 1, 1]]), parameters=None)
    assert predictions.tolist() == [[0, 0, 1, 1]] and predictions.dtype.kind == "i"
    assert capsys.readouterr().out == "Accuracy: 0.75\n"


def test_dataset_shapes_and_labels():
    train_X, train_Y, test_X, test_Y = load_2D_dataset()
    assert train_X.shape[0] == 2 and train_Y.shape == (1, train_X.shape[1])
    assert test_X.shape[0] == 2 and test_Y.shape == (1, test_X.shape[1])
    assert 150 <= train_X.shape[1] <= 250 and 150 <= test_X.shape[1] <= 250
    assert set(np.unique(train_Y)) == {0, 1} and set(np.unique(test_Y)) == {0, 1}
