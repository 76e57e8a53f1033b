"""Tests students run on their four graded functions.

Each `<function>_test(target)` calls the student's function on a seeded case
from testCases.py and either prints "All tests passed." or raises an
AssertionError that says which output is wrong, how, and, where the mistake
is a common one, what it probably is. The `check_*` functions behind them take
the expected values as arguments, so the same judges work on other inputs.
"""
import copy
import numbers

import numpy as np

from reg_utils import backward_propagation, compute_cost, relu
from testCases import (
    DROPOUT_BACKWARD_KEEP_PROB,
    backward_propagation_with_dropout_test_case,
    backward_propagation_with_regularization_test_case,
    compute_cost_with_regularization_test_case,
    forward_propagation_with_dropout_test_case,
)

RTOL = 1e-5
ATOL = 1e-8
GRADIENT_KEYS = ("dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1")
DROPOUT_CACHE_NAMES = ("Z1", "D1", "A1", "W1", "b1", "Z2", "D2", "A2", "W2", "b2", "Z3", "A3", "W3", "b3")


def _close(got, expected):
    return np.allclose(got, expected, rtol=RTOL, atol=ATOL)


def _fail(function, problem, hint=None):
    message = f"{function}: {problem}"
    if hint:
        message += f"\nHint: {hint}"
    raise AssertionError(message)


def _call_without_mutation(function, target, *args):
    """Call target(*args) and fail if it changed any of its inputs."""
    before = copy.deepcopy(args)
    result = target(*args)
    for position, (old, new) in enumerate(zip(before, args)):
        if not _same_structure(old, new):
            _fail(function, f"argument {position + 1} was modified by the call.",
                  "compute new arrays (A = A * D) instead of changing the inputs in place (A *= D).")
    return result


def _same_structure(old, new):
    if isinstance(old, dict):
        return old.keys() == new.keys() and all(_same_structure(old[k], new[k]) for k in old)
    if isinstance(old, (tuple, list)):
        return len(old) == len(new) and all(_same_structure(a, b) for a, b in zip(old, new))
    if isinstance(old, np.ndarray):
        return old.shape == new.shape and np.array_equal(old, new)
    return old == new


def check_array(function, name, got, expected, hint=None):
    """Compare one output array with its expected value; fail with shape, dtype and largest error."""
    expected = np.asarray(expected, dtype=float)
    if not isinstance(got, np.ndarray):
        _fail(function, f"{name} should be a numpy array, but it is a {type(got).__name__}.")
    if got.shape != expected.shape:
        _fail(function, f"{name} has shape {got.shape}, but it should have shape {expected.shape}.")
    if not np.issubdtype(got.dtype, np.floating):
        _fail(function, f"{name} has dtype {got.dtype}, but it should hold floats.")
    if not _close(got, expected):
        error = np.abs(got - expected)
        worst = np.unravel_index(np.argmax(error), error.shape)
        _fail(function,
              f"{name} is wrong: the largest error is {error[worst]:.6g} at index {tuple(int(i) for i in worst)} "
              f"(expected {expected[worst]:.8g}, got {got[worst]:.8g}).\n"
              f"expected {name} =\n{expected}\ngot {name} =\n{got}",
              hint)


def _ratio(got, expected):
    """got / expected where that is one constant for all entries, else None."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    nonzero = np.abs(expected) > 1e-12
    if not nonzero.any() or not np.allclose(got[~nonzero], 0, atol=ATOL):
        return None
    ratios = got[nonzero] / expected[nonzero]
    return float(ratios[0]) if np.allclose(ratios, ratios[0], rtol=1e-6) else None


def _is(ratio, value):
    return ratio is not None and np.isclose(ratio, value, rtol=1e-6)


def check_cost(target, A3, Y, parameters, lambd, expected):
    function = "compute_cost_with_regularization"
    cost = _call_without_mutation(function, target, A3, Y, parameters, lambd)
    if isinstance(cost, np.ndarray) and cost.ndim == 0:
        cost = cost[()]
    if not isinstance(cost, numbers.Real) or isinstance(cost, bool):
        shape = f" of shape {cost.shape}" if isinstance(cost, np.ndarray) else ""
        _fail(function, f"the cost should be a real number, but it is a {type(cost).__name__}{shape}.",
              "np.sum over a whole array gives a scalar.")
    if np.isclose(cost, expected, rtol=RTOL, atol=ATOL):
        return
    m = Y.shape[1]
    cross_entropy = compute_cost(A3, Y)
    ratio = (cost - cross_entropy) / (expected - cross_entropy)
    known = [
        (2, "the L2 term uses lambd/m; the cost needs lambd/(2m)."),
        (m, "the L2 term is missing the 1/m factor."),
        (0.5, "the L2 term is halved twice; the factor is lambd/(2m)."),
        (-1, "the L2 term is subtracted; it must be added to the cross-entropy."),
        (0, "the L2 term is missing: the cost equals the plain cross-entropy."),
    ]
    hint = next((text for value, text in known if np.isclose(ratio, value, rtol=1e-6)), None)
    if hint is None and np.isclose(cost, expected - cross_entropy, rtol=RTOL):
        hint = "the cost is the L2 term alone; add the cross-entropy part."
    _fail(function, f"the cost is {float(cost)!r}, but it should be {float(expected)!r}.", hint)


def check_gradient_keys(function, gradients):
    if not isinstance(gradients, dict):
        _fail(function, f"the result should be a dict of gradients, but it is a {type(gradients).__name__}.")
    missing = [key for key in GRADIENT_KEYS if key not in gradients]
    extra = sorted(set(gradients) - set(GRADIENT_KEYS), key=str)
    if missing or extra:
        _fail(function, "the gradients dict has the wrong keys: "
              + "; ".join(part for part in (missing and f"missing {missing}", extra and f"unexpected {extra}") if part)
              + f". It should have exactly {list(GRADIENT_KEYS)}.")


def check_regularized_gradients(target, X, Y, cache, lambd, expected):
    """expected: {"dW1": ..., "dW2": ..., "dW3": ...}; every other gradient must equal the unregularized one."""
    function = "backward_propagation_with_regularization"
    gradients = _call_without_mutation(function, target, X, Y, cache, lambd)
    check_gradient_keys(function, gradients)
    plain = backward_propagation(X, Y, cache)
    for name in ("dW3", "dW2", "dW1"):
        ratio = _ratio(np.asarray(gradients[name]) - plain[name], np.asarray(expected[name]) - plain[name])
        known = [
            (0, f"{name} has no regularization term; add (lambd/m) * W{name[-1]}."),
            (2, f"{name}'s regularization term is twice too large: the derivative of (lambd/(2m)) W^2 is (lambd/m) W."),
            (0.5, f"{name}'s regularization term has an extra 1/2: the derivative of (lambd/(2m)) W^2 is (lambd/m) W."),
            (-1, f"{name}'s regularization term has the wrong sign; it is added."),
            (X.shape[1], f"{name}'s regularization term is missing the 1/m factor."),
        ]
        hint = next((text for value, text in known if _is(ratio, value)), None)
        check_array(function, name, gradients[name], expected[name], hint)
    for name in GRADIENT_KEYS:
        if name not in expected:
            hint = "biases are not regularized." if name.startswith("db") else None
            check_array(function, name, gradients[name], plain[name], hint)


def check_dropout_forward(target, X, parameters, keep_prob, seed, expected_A3):
    """Seed, call, then check the cache is self-consistent and A3 matches."""
    function = "forward_propagation_with_dropout"
    np.random.seed(seed)
    result = _call_without_mutation(function, target, X, parameters, keep_prob)
    if not (isinstance(result, tuple) and len(result) == 2):
        _fail(function, "the function should return the pair (A3, cache).")
    A3, cache = result
    if not (isinstance(cache, tuple) and len(cache) == len(DROPOUT_CACHE_NAMES)):
        _fail(function, f"the cache should be the tuple {DROPOUT_CACHE_NAMES}.")
    values = dict(zip(DROPOUT_CACHE_NAMES, cache))
    for layer in ("1", "2"):
        D, A, Z = (np.asarray(values[name + layer]) for name in "DAZ")
        if D.shape != A.shape:
            _fail(function, f"D{layer} has shape {D.shape}; it should have the shape of A{layer}, {A.shape}.",
                  "one mask entry per unit and per example: np.random.rand(A.shape[0], A.shape[1]).")
        if not np.isin(D, (0, 1)).all():
            _fail(function, f"D{layer} should contain only 0 and 1 (or False and True).",
                  "compare the random numbers with keep_prob: D = (D < keep_prob).")
        kept = relu(Z) * D
        if keep_prob != 1 and _close(A, kept):
            _fail(function, f"A{layer} was masked but not divided by keep_prob.",
                  "activations were not divided by keep_prob: inverted dropout scales the kept units up.")
        if keep_prob != 1 and _close(A, kept * keep_prob):
            _fail(function, f"A{layer} was multiplied by keep_prob; it should be divided by it.")
        if not _close(A, kept / keep_prob):
            _fail(function, f"A{layer} is not relu(Z{layer}) masked with D{layer} and divided by keep_prob.")
    check_array(function, "A3", A3, expected_A3,
                "draw D1 before D2, each with np.random.rand in the shape of A, and keep units where rand < keep_prob.")


def check_dropout_backward(target, X, Y, cache, keep_prob, expected):
    """expected: dA1 and dA2, optionally more gradients; each given one is compared."""
    function = "backward_propagation_with_dropout"
    gradients = _call_without_mutation(function, target, X, Y, cache, keep_prob)
    check_gradient_keys(function, gradients)
    masks = {"dA1": np.asarray(cache[1]), "dA2": np.asarray(cache[6])}
    for name in ("dA2", "dA1"):
        got = np.asarray(gradients[name])
        hint = None
        if got.shape == masks[name].shape and not np.allclose(got[masks[name] == 0], 0):
            hint = f"{name} is not masked with D{name[-1]}: units dropped going forward get no gradient."
        elif _is(_ratio(got, expected[name]), keep_prob):
            hint = f"{name} was not divided by keep_prob."
        elif _is(_ratio(got, expected[name]), keep_prob ** 2):
            hint = f"{name} was multiplied by keep_prob; it should be divided by it."
        elif _is(_ratio(got, expected[name]), 1 / keep_prob):
            hint = f"{name} was divided by keep_prob twice."
        check_array(function, name, gradients[name], expected[name], hint)
    for name in GRADIENT_KEYS:
        if name in expected and name not in masks:
            check_array(function, name, gradients[name], expected[name])


def _report_pass():
    print("\033[92mAll tests passed.\033[0m")


def compute_cost_with_regularization_test(target):
    A3, Y, parameters = compute_cost_with_regularization_test_case()
    check_cost(target, A3, Y, parameters, lambd=0.1, expected=1.7864859451590758)
    _report_pass()


def backward_propagation_with_regularization_test(target):
    X, Y, cache = backward_propagation_with_regularization_test_case()
    expected = {
        "dW1": [[-0.2560464576312637, 0.1229882689643368, -0.2829712859153772],
                [-0.17706302597622675, 0.34536094329148287, -0.44105710069054516]],
        "dW2": [[0.7927648593155051, 0.8513391823932989],
                [-0.09572190028440662, -0.01720463157261074],
                [-0.13100772079626963, -0.03750433114764222]],
        "dW3": [[-1.7769134664009532, -0.11832878980982073, -0.09397445831715466]],
    }
    check_regularized_gradients(target, X, Y, cache, lambd=0.7, expected=expected)
    _report_pass()


def forward_propagation_with_dropout_test(target):
    X, parameters = forward_propagation_with_dropout_test_case()
    expected_A3 = [[0.36974720617815354, 0.00305175813464977, 0.0456509933734419,
                    0.4968338925883705, 0.36974720617815354]]
    check_dropout_forward(target, X, parameters, keep_prob=0.7, seed=1, expected_A3=expected_A3)
    _report_pass()


def backward_propagation_with_dropout_test(target):
    X, Y, cache = backward_propagation_with_dropout_test_case()
    expected = {
        "dA1": [[0.3317920272537309, 0.538529194550959, 0.0, 0.0, -0.20773983471190938],
                [0.5948262468453296, 0.9654580981429631, 0.0, 0.0, 0.0]],
        "dA2": [[0.5282320640329067, 0.8573695707344127, 0.0, 0.0, -0.3307338111165925],
                [0.6497125401859247, 1.0545436364220206, -0.5249085111293245, 0.5315985407440749,
                 -0.40679451168747466],
                [0.5159892543815019, 0.0, -0.4168722850856743, 0.4221853784603495, -0.32306840916452184]],
    }
    check_dropout_backward(target, X, Y, cache, DROPOUT_BACKWARD_KEEP_PROB, expected)
    _report_pass()
