"""Seeded inputs for the four exercises of the Regularization assignment.

Every fixture re-seeds numpy's global generator or reads stored arrays, so a
case gives the same arrays however often, and in whatever order, it is called. The network is a
small 3 -> 2 -> 3 -> 1 one, on 5 examples.
"""

import json
from pathlib import Path

import numpy as np

from reg_utils import forward_propagation

LAYER_SHAPES = [("W1", (2, 3)), ("b1", (2, 1)), ("W2", (3, 2)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1))]


def _random_parameters():
    """W1, b1, W2, b2, W3, b3 drawn from the global generator, in that order."""
    return {name: np.random.randn(*shape) for name, shape in LAYER_SHAPES}


def compute_cost_with_regularization_test_case():
    """Returns A3 (1, 5), Y (1, 5) and parameters; with lambd=0.1 the cost is 1.7864859451590758."""
    np.random.seed(1)
    Y = np.array([[1, 1, 0, 1, 0]])
    parameters = _random_parameters()
    A3 = np.array([[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])
    return A3, Y, parameters


def backward_propagation_with_regularization_test_case():
    """Returns X (3, 5), Y (1, 5) and the cache of a real forward pass on X."""
    np.random.seed(1)
    X = np.random.randn(3, 5)
    Y = np.array([[1, 1, 0, 1, 0]])
    parameters = _random_parameters()
    _, cache = forward_propagation(X, parameters)
    return X, Y, cache


def forward_propagation_with_dropout_test_case():
    """Returns X (3, 5) and parameters. Seed with np.random.seed(1) right before the call:
    with keep_prob=0.7 the output is [[0.36974721 0.00305176 0.04565099 0.49683389 0.36974721]]."""
    np.random.seed(1)
    X = np.random.randn(3, 5)
    parameters = _random_parameters()
    return X, parameters


DROPOUT_BACKWARD_KEEP_PROB = 0.8
# The layout of the cache forward_propagation_with_dropout returns and its backward pass takes.
DROPOUT_CACHE_NAMES = ("Z1", "D1", "A1", "W1", "b1", "Z2", "D2", "A2", "W2", "b2", "Z3", "A3", "W3", "b3")
# The public backward-dropout case holds a dropout pass, a graded function's result, so it ships as
# data, written by `python -m course build`.
DROPOUT_CASE_FILE = Path(__file__).resolve().parent / "testCases.json"


def backward_propagation_with_dropout_test_case():
    """Returns X (3, 5), Y (1, 5) and the cache (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)
    of a dropout forward pass on X with keep_prob = DROPOUT_BACKWARD_KEEP_PROB."""
    stored = {name: np.array(value) for name, value in json.loads(DROPOUT_CASE_FILE.read_text()).items()}
    cache = tuple(stored[name] for name in DROPOUT_CACHE_NAMES)
    return stored["X"], stored["Y"], cache


def random_case(seed, layer_dims, m):
    """Inputs of any shape from their own generator: X (n_x, m), Y (1, m) and
    parameters for layer_dims [n_x, n_1, n_2, 1], with non-zero biases."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((layer_dims[0], m))
    Y = rng.integers(0, 2, (1, m))
    parameters = {}
    for layer in (1, 2, 3):
        parameters[f"W{layer}"] = rng.standard_normal((layer_dims[layer], layer_dims[layer - 1]))
        parameters[f"b{layer}"] = rng.standard_normal((layer_dims[layer], 1))
    return X, Y, parameters
