"""Helpers for the Regularization assignment: a 3-layer network in plain numpy.

Shapes follow the course convention: examples are columns, so X is (n_x, m),
Y is (1, m), W_l is (n_l, n_{l-1}) and b_l is (n_l, 1).
"""
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import scipy.io
from scipy.special import expit, xlogy

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

    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2,
            "dZ2": dZ2, "dW2": dW2, "db2": db2, "dA1": dA1,
            "dZ1": dZ1, "dW1": dW1, "db1": db1}


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
    print("Accuracy: " + str(np.mean(predictions[0, :] == Y[0, :])))
    return predictions


def predict_dec(parameters, X):
    """Class predictions (1, m) as booleans, for drawing decision boundaries."""
    A3, _ = forward_propagation(X, parameters)
    return A3 > 0.5


def plot_decision_boundary(model, X, y):
    """Shade the plane by model's prediction and scatter X (2, m) coloured by y (1, m).

    model maps an (n, 2) array of points to n predictions.
    """
    pad = 0.1
    x_min, x_max = X[0, :].min() - pad, X[0, :].max() + pad
    y_min, y_max = X[1, :].min() - pad, X[1, :].max() + pad
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, 300), np.linspace(y_min, y_max, 300))
    Z = np.asarray(model(np.c_[xx.ravel(), yy.ravel()])).reshape(xx.shape)
    plt.contourf(xx, yy, Z, cmap=plt.cm.Spectral)
    plt.ylabel("x2")
    plt.xlabel("x1")
    plt.scatter(X[0, :], X[1, :], c=y.ravel(), s=40, cmap=plt.cm.Spectral)
    plt.show()


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
