"""The grader's own dropout pass. It never ships to students: the release may not compute a graded
function's result, so what needs one (the fixtures of the public dropout tests, the hidden cases'
inputs and expected outputs) gets it from here, on the grader's side."""

import json

import numpy as np

FIXTURE_DECIMALS = 12


def dropout_pass(X: np.ndarray, parameters: dict, keep_prob: float, seed: int) -> tuple:
    """A3 (1, m) and the cache (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) of an
    inverted-dropout forward pass on X (n_x, m), the masks drawn by np.random.rand right after
    np.random.seed(seed), layer 1 first: the draws the graded function must make."""
    from reg_utils import relu, sigmoid

    np.random.seed(seed)
    cache, layer_input = [], X
    for layer in (1, 2):
        W, b = parameters[f"W{layer}"], parameters[f"b{layer}"]
        Z = W @ layer_input + b
        D = (np.random.rand(*Z.shape) < keep_prob).astype(int)
        layer_input = relu(Z) * D / keep_prob
        cache += [Z, D, layer_input, W, b]
    W3, b3 = parameters["W3"], parameters["b3"]
    Z3 = W3 @ layer_input + b3
    A3 = sigmoid(Z3)
    return A3, (*cache, Z3, A3, W3, b3)


def dropout_fixture() -> str:
    """testCases.json: the public backward-dropout case, X (3, 5), Y (1, 5) and the cache of a dropout
    pass with testCases.DROPOUT_BACKWARD_KEEP_PROB whose masks follow np.random.seed(11), an array a line."""
    import testCases

    X, parameters = testCases.forward_propagation_with_dropout_test_case()  # the same seeded X and weights
    _, cache = dropout_pass(X, parameters, testCases.DROPOUT_BACKWARD_KEEP_PROB, seed=11)
    # Rounded to 12 decimals: the last bits of a matrix product differ between CPUs' numeric kernels,
    # and the file must come out byte for byte the same on every machine that builds the release.
    entries = {
        "X": X.tolist(),
        "Y": [[1, 1, 0, 1, 0]],
        **{
            name: np.round(value, FIXTURE_DECIMALS).tolist()
            for name, value in zip(testCases.DROPOUT_CACHE_NAMES, cache)
        },
    }
    return "{\n" + ",\n".join(f"  {json.dumps(name)}: {json.dumps(value)}" for name, value in entries.items()) + "\n}\n"
