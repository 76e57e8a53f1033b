"""Helpers for the Regularization assignment: a 3-layer network in plain numpy.

Shapes follow the course convention: examples are columns, so X is (n_x, m),
Y is (1, m), W_l is (n_l, n_{l-1}) and b_l is (n_l, 1).
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import scipy.io
from scipy.special import expit, xlogy

from translation import _

DATA_FILE = Path(__file__).resolve().parent / "datasets" / "data.mat"


def sigmoid(x):
    """Logistic function; expit never overflows for large negative inputs."""
    return expit(x)


def relu(x):
    return np.maximum(0, x)


def initialize_parameters(layer_dims):
    """W_l ~ N(0, 1/n_{l-1}) and zero biases, seeded so every run starts alike.

    layer_dims: sizes [n_x, n_1, ..., n_L]. Returns {"W1": (n_1, n_x), "b1": (n_1, 1), ...}.
    """
    np.random.seed(3)
    parameters = {}
    for layer in range(1, len(layer_dims)):
        fan_in = layer_dims[layer - 1]
        parameters[f"W{layer}"] = np.random.randn(layer_dims[layer], fan_in) / np.sqrt(fan_in)
        parameters[f"b{layer}"] = np.zeros((layer_dims[layer], 1))
    return parameters


def forward_propagation(X, parameters):
    """LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID on X (n_x, m).

    Returns A3 (1, m) and the cache (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    that backward_propagation unpacks.
    """
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]

    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)
    return A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def backward_propagation(X, Y, cache):
    """Gradients of compute_cost with respect to every intermediate of forward_propagation.

    The sigmoid and cross-entropy combine into dZ3 = A3 - Y; ReLU passes the
    gradient where its output was positive.
    """
    m = X.shape[1]
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache

    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m

    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (A2 > 0)
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m

    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m

    return {
        "dZ3": dZ3,
        "dW3": dW3,
        "db3": db3,
        "dA2": dA2,
        "dZ2": dZ2,
        "dW2": dW2,
        "db2": db2,
        "dA1": dA1,
        "dZ1": dZ1,
        "dW1": dW1,
        "db1": db1,
    }


def update_parameters(parameters, grads, learning_rate):
    """One step of plain gradient descent; returns a new dict, the input is left alone."""
    return {name: value - learning_rate * grads["d" + name] for name, value in parameters.items()}


def compute_cost(A3, Y):
    """Mean cross-entropy of predictions A3 (1, m) against labels Y (1, m).

    xlogy(0, 0) is 0, so outputs saturated at exactly 0 or 1 on the right label
    cost nothing and raise no warning, instead of giving nan.
    """
    m = Y.shape[1]
    losses = -xlogy(Y, A3) - xlogy(1 - Y, 1 - A3)
    return float(1.0 / m * np.sum(losses))


def predict(X, Y, parameters):
    """Classify X (n_x, m) with a 0.5 threshold, print the accuracy against Y, return (1, m) ints."""
    A3, _ = forward_propagation(X, parameters)
    predictions = (A3 > 0.5).astype(int)
    # Not translated: the notebook's code cells print English labels around it, in every edition.
    print("Accuracy: " + str(np.mean(predictions[0, :] == Y[0, :])))
    return predictions


def predict_dec(parameters, X):
    """Class predictions (1, m) as booleans, for drawing decision boundaries."""
    A3, _ = forward_propagation(X, parameters)
    return A3 > 0.5


def plot_decision_boundary(model, X, y, ax=None):
    """Shade the plane by model's prediction and scatter X (2, m) coloured by y (1, m).

    model maps an (n, 2) array of points to n predictions. Given an `ax`, draw there and leave
    showing the figure to the caller, so several boundaries can sit side by side.
    """
    pad = 0.1
    x_min, x_max = X[0, :].min() - pad, X[0, :].max() + pad
    y_min, y_max = X[1, :].min() - pad, X[1, :].max() + pad
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, 300), np.linspace(y_min, y_max, 300))
    Z = np.asarray(model(np.c_[xx.ravel(), yy.ravel()])).reshape(xx.shape)
    target = plt if ax is None else ax
    target.contourf(xx, yy, Z, cmap=plt.cm.Spectral)
    target.scatter(X[0, :], X[1, :], c=y.ravel(), s=40, cmap=plt.cm.Spectral)
    if ax is None:
        plt.ylabel("x2")
        plt.xlabel("x1")
        plt.show()
    else:
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")


def load_2D_dataset(path=DATA_FILE):
    """Read the kicks: returns train_X (2, m), train_Y (1, m), test_X (2, n), test_Y (1, n)."""
    data = scipy.io.loadmat(path)
    return data["X"].T, data["y"].T, data["Xval"].T, data["yval"].T


def plot_2D_dataset(X, Y):
    """Scatter the positions X (2, m): blue where our player won the ball, red where theirs did."""
    plt.scatter(X[0, :], X[1, :], c=Y.ravel(), s=40, cmap=plt.cm.Spectral)
    plt.xlabel("x1")
    plt.ylabel("x2")
    plt.show()


# ---------------------------------------------------------------------------------------------
# Helpers for the optional, ungraded sections at the end of the notebook.


def train_with_dropout(X, Y, keep_probs, forward, backward, num_iterations=10000, learning_rate=0.3, record_every=100):
    """Train the 3-layer network through your forward/backward pair; return (parameters, costs).

    Seeded like the notebook's model(); the cost is recorded every `record_every` iterations so that
    cost curves can be drawn side by side. keep_probs is passed to both functions as it is.
    """
    parameters = initialize_parameters([X.shape[0], 20, 3, 1])
    np.random.seed(1)
    costs = []
    for i in range(num_iterations):
        A3, cache = forward(X, parameters, keep_probs)
        if i % record_every == 0:
            costs.append(compute_cost(A3, Y))
        parameters = update_parameters(parameters, backward(X, Y, cache, keep_probs), learning_rate)
    return parameters, costs


def accuracy(X, Y, parameters):
    """Fraction of examples the deterministic network classifies right (predict() without the print)."""
    return float(np.mean((forward_propagation(X, parameters)[0] > 0.5) == Y))


def optional_section(name):
    """False, with a one-line note, under autograding: the optional sections must not slow grading."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        print(_("Optional section '{name}' skipped under autograding.").format(name=name))
        return False
    return True


def _tiny_case():
    """A 2-3-2-1 network on three examples: enough to see whether a function runs at all."""
    rng = np.random.RandomState(0)
    X = rng.randn(2, 3)
    Y = np.array([[1, 0, 1]])
    parameters = {
        "W1": rng.randn(3, 2),
        "b1": np.zeros((3, 1)),
        "W2": rng.randn(2, 3),
        "b2": np.zeros((2, 1)),
        "W3": rng.randn(1, 2),
        "b3": np.zeros((1, 1)),
    }
    return X, Y, parameters


def _tiny_dropout_cache(X, parameters):
    """The cache of a dropout pass with keep_prob = 1: the plain pass's, with masks of ones."""
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = forward_propagation(X, parameters)[1]
    return (Z1, np.ones_like(A1), A1, W1, b1, Z2, np.ones_like(A2), A2, W2, b2, Z3, A3, W3, b3)


# the exercise to finish first (None: section 8.1's own functions), and a call on the tiny case, by function name
_EXERCISES = {
    "compute_cost_with_regularization": (1, lambda f, X, Y, p: f(forward_propagation(X, p)[0], Y, p, 0.1)),
    "backward_propagation_with_regularization": (2, lambda f, X, Y, p: f(X, Y, forward_propagation(X, p)[1], 0.1)),
    "forward_propagation_with_dropout": (3, lambda f, X, Y, p: f(X, p, 1.0)),
    "backward_propagation_with_dropout": (4, lambda f, X, Y, p: f(X, Y, _tiny_dropout_cache(X, p), 1.0)),
    "forward_propagation_with_dropout_per_layer": (None, lambda f, X, Y, p: f(X, p, [1.0, 1.0])),
    "backward_propagation_with_dropout_per_layer": (
        None,
        lambda f, X, Y, p: f(X, Y, _tiny_dropout_cache(X, p), [1.0, 1.0]),
    ),
}


def exercises_done(*functions):
    """True when each graded function runs; otherwise print which exercise to finish first.

    Only a NotImplementedError (the stub) is caught: any other error is a real bug the student
    should see. The global random state is restored, so checking draws no dropout masks.
    """
    X, Y, parameters = _tiny_case()
    state = np.random.get_state()
    try:
        for function in functions:
            exercise, call = _EXERCISES[function.__name__]
            try:
                call(function, X, Y, parameters)
            except NotImplementedError:
                if exercise is None:
                    message = _("Finish section 8.1's functions first ({function}): this optional section uses it.")
                else:
                    message = _("Finish exercise {exercise} first ({function}): this optional section uses it.")
                print(message.format(exercise=exercise, function=function.__name__))
                return False
    finally:
        np.random.set_state(state)
    return True


def check_per_layer(forward, backward, forward_per_layer, backward_per_layer):
    """Section 8.1's self-check: True when your per-layer pair, given [k, k], computes what your graded
    pair computes with k, and [1, k] keeps every unit of layer 1; else prints what differs and returns False."""
    rng = np.random.RandomState(1)
    X, Y = rng.randn(2, 40), (rng.rand(1, 40) < 0.5).astype(int)
    state = np.random.get_state()
    try:
        parameters = initialize_parameters([2, 20, 3, 1])
        np.random.seed(0)
        A3, cache = forward(X, parameters, 0.7)
        np.random.seed(0)
        A3_per_layer, cache_per_layer = forward_per_layer(X, parameters, [0.7, 0.7])
        if not (np.allclose(A3, A3_per_layer) and all(np.allclose(a, b) for a, b in zip(cache, cache_per_layer))):
            print(
                _(
                    "With keep_probs = [0.7, 0.7], forward_propagation_with_dropout_per_layer should give what "
                    "forward_propagation_with_dropout gives with keep_prob = 0.7 (same seed); it does not."
                )
            )
            return False
        grads = backward(X, Y, cache, 0.7)
        grads_per_layer = backward_per_layer(X, Y, cache, [0.7, 0.7])
        if not all(np.allclose(grads[name], grads_per_layer[name]) for name in grads):
            print(
                _(
                    "With keep_probs = [0.7, 0.7], backward_propagation_with_dropout_per_layer should give what "
                    "backward_propagation_with_dropout gives with keep_prob = 0.7; it does not."
                )
            )
            return False
        cache = forward_per_layer(X, parameters, [1.0, 0.5])[1]
        if not (np.all(cache[1] == 1) and not np.all(cache[6] == 1)):  # D1 and D2
            print(
                _(
                    "With keep_probs = [1.0, 0.5], layer 1 should keep every unit and layer 2 drop some: "
                    "use keep_probs[0] for layer 1 and keep_probs[1] for layer 2."
                )
            )
            return False
    finally:
        np.random.set_state(state)
    print(_("Per-layer self-check passed."))
    return True
