"""Tests students run on their four graded functions.

Each `<function>_test(target)` calls the student's function on a seeded case
from testCases.py and either prints "All tests passed." or raises an
AssertionError that says which output is wrong, how, and, for the classic
mistakes, which mistake it is. The `check_*` judges behind them take the
expected values as arguments, so the grader runs the same judges on inputs the
student has never seen.

A mistake is named only when the evidence for it is unambiguous: a wrong name
misleads more than none. It is found by comparing the student's output with the
expected one and with what known mistakes produce (a constant ratio such as 2,
m or keep_prob, a layer missing from a sum, a nonzero entry where a mask should
have put a zero) or, when nothing else explains a wrong result, by calling the
function once more with lambd or keep_prob changed: a result that stays the
same ignores that argument. Every call a check may make is in planned_calls.

In a notebook, a failing test shows its message and hint under the student's
cell, without the frames of this module, which say nothing to the student; an
error raised inside the student's function still shows where it was raised.
"""

import copy
import functools
import numbers
import types

import numpy as np

from handin import JudgingError, play_hidden_cases, recorded
from reg_utils import backward_propagation, compute_cost, forward_propagation, relu, sigmoid
from testCases import (
    DROPOUT_BACKWARD_KEEP_PROB,
    DROPOUT_CACHE_NAMES,
    backward_propagation_with_dropout_test_case,
    backward_propagation_with_regularization_test_case,
    compute_cost_with_regularization_test_case,
    forward_propagation_with_dropout_test_case,
    random_case,
)
from translation import _

# The functions the tests judge; the grader plays each back from what the kernel recorded (handin.py).
GRADED_FUNCTIONS = (
    "compute_cost_with_regularization",
    "backward_propagation_with_regularization",
    "forward_propagation_with_dropout",
    "backward_propagation_with_dropout",
)
RTOL = 1e-5
ATOL = 1e-8
RATIO_RTOL = 1e-4  # how exactly a known mistake's ratio must show up to be named
GRADIENT_KEYS = ("dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1")

# What each public test expects. Code that returns these on other inputs was written for the example.
PUBLIC_EXPECTED = {
    "cost": 1.7864859451590758,
    "dW1": [
        [-0.2560464576312637, 0.1229882689643368, -0.2829712859153772],
        [-0.17706302597622675, 0.34536094329148287, -0.44105710069054516],
    ],
    "dW2": [
        [0.7927648593155051, 0.8513391823932989],
        [-0.09572190028440662, -0.01720463157261074],
        [-0.13100772079626963, -0.03750433114764222],
    ],
    "dW3": [[-1.7769134664009532, -0.11832878980982073, -0.09397445831715466]],
    "A3": [[0.36974720617815354, 0.00305175813464977, 0.0456509933734419, 0.4968338925883705, 0.36974720617815354]],
    "dA1": [
        [0.33179202725391527, 0.5385291945515752, 0.0, 0.0, -0.20773983471218102],
        [0.5948262468452322, 0.9654580981433734, 0.0, 0.0, 0.0],
    ],
    "dA2": [
        [0.5282320640330617, 0.8573695707351688, 0.0, 0.0, -0.3307338111169382],
        [0.6497125401859523, 1.054543636422686, -0.5249085111291072, 0.5315985407446427, -0.4067945116877978],
        [0.5159892543814916, 0.0, -0.41687228508547575, 0.42218537846077414, -0.32306840916475843],
    ],
}
HARD_CODED_HINT = _(
    "this is the public example's expected value: the function only reproduces the public "
    "example instead of computing the result from its inputs."
)
PUBLIC_M = 5  # the number of examples in every public case: code with m fixed at 5 passes them
SHARED_BY_EXAMPLES_HINT = _(
    "one mask per unit is shared by all examples; every example needs its own mask: "
    "np.random.rand(A.shape[0], A.shape[1])."
)
SHARED_BY_UNITS_HINT = _(
    "one mask per example is shared by all units; every unit needs its own mask: "
    "np.random.rand(A.shape[0], A.shape[1])."
)
ONE_NUMBER_HINT = _(
    "one random number masks the whole layer; every unit of every example needs its own: "
    "np.random.rand(A.shape[0], A.shape[1])."
)
# Hints for numpy's "operands could not be broadcast" inside the student's function.
SHAPE_HINTS = {
    "backward_propagation_with_regularization": _(
        "two arrays of different shapes were combined: "
        "does each dW get the term of its own layer, (lambd/m) * W1 for dW1, ...?"
    ),
    "forward_propagation_with_dropout": _(
        "two arrays of different shapes were combined: "
        "does each mask have the shape of its own layer, D1 like A1, D2 like A2?"
    ),
    "backward_propagation_with_dropout": _(
        "two arrays of different shapes were combined: "
        "is each gradient masked with its own layer's mask, dA1 with D1, dA2 with D2?"
    ),
}
# A large network for the statistics of dropout: 120,000 entries in D1, 80,000 in D2.
STATISTICS_CASE = {"seed": 0, "layer_dims": [10, 300, 200, 1], "m": 400}


def _close(got, expected):
    return np.shape(got) == np.shape(expected) and np.allclose(got, expected, rtol=RTOL, atol=ATOL)


def _fail(function, problem, hint=None):
    """Raise the failure students read: `problem` and `hint` are whole translated sentences."""
    message = _("{function}: {problem}").format(function=function, problem=problem)
    if hint:
        message += "\n" + _("Hint: {hint}").format(hint=hint)
    failure = AssertionError(message)
    failure.named = bool(hint)  # _named_first prefers a failure that names its mistake
    failure._render_traceback_ = functools.partial(_traceback_without_these_tests, failure)
    raise failure


def _traceback_without_these_tests(failure):
    """What IPython shows for a failed test: its traceback without this module's frames, so the message
    and hint come right under the student's cell. IPython hides frames that set __tracebackhide__, but
    never the one that raised, which is always one of ours."""
    from IPython import get_ipython

    kept = []
    entry = failure.__traceback__
    while entry is not None:
        if entry.tb_frame.f_globals is not globals():
            kept.append(entry)
        entry = entry.tb_next
    trimmed = None
    for entry in reversed(kept):
        trimmed = types.TracebackType(trimmed, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return get_ipython().InteractiveTB.structured_traceback(type(failure), failure, trimmed)


def _call_without_mutation(function, target, *args):
    """Call target(*args); fail if it changed any of its inputs or mixed up the shapes of two arrays."""
    __tracebackhide__ = True  # here and in every frame between a test cell and the student's code
    before = copy.deepcopy(args)
    try:
        result = target(*args)
    except ValueError as error:
        if function not in SHAPE_HINTS or "broadcast" not in str(error):
            raise
        _fail(function, _("the call failed with ValueError: {error}").format(error=error), SHAPE_HINTS[function])
    for position, (old, new) in enumerate(zip(before, args)):
        if not _same_structure(old, new):
            _fail(
                function,
                _("argument {position} was modified by the call.").format(position=position + 1),
                _("compute new arrays (A = A * D) instead of changing the inputs in place (A *= D)."),
            )
    return result


def _same_structure(old, new):
    if type(old) is not type(new):
        return False
    if isinstance(old, dict):
        return old.keys() == new.keys() and all(_same_structure(old[k], new[k]) for k in old)
    if isinstance(old, (tuple, list)):
        return len(old) == len(new) and all(_same_structure(a, b) for a, b in zip(old, new))
    if isinstance(old, np.ndarray):
        return old.shape == new.shape and np.array_equal(old, new)
    return bool(np.array_equal(old, new))


def _varied(arguments):
    """A call's arguments with the last one, lambd or keep_prob, halved (1 in place of 0)."""
    *rest, value = arguments
    return (*rest, value / 2 if value else 1)


def _ignored_argument_hint(target, arguments, seed, result, name):
    """The hint for a function that ignores its last argument, `name`, if target returns `result` again
    when called after np.random.seed(seed) with that argument changed: the last call planned_calls lists.
    A call that raises proves nothing; a call the grader cannot play back must still say so."""
    if seed is not None:
        np.random.seed(seed)
    try:
        again = target(*copy.deepcopy(_varied(arguments)))
    except JudgingError:
        raise
    except Exception:
        return None
    if not _same_structure(result, again):
        return None
    return _(
        "the result does not change with {name}, so the function does not use its argument {name}: "
        "is a fixed number written where {name} belongs?"
    ).format(name=name)


def _is_public_answer(name, value):
    public = PUBLIC_EXPECTED.get(name)
    return (
        public is not None and np.shape(value) == np.shape(public) and np.allclose(value, public, rtol=RTOL, atol=ATOL)
    )


def check_array(function, name, got, expected, hint=None):
    """Compare one output array with its expected value; fail with shape, dtype and largest error.
    hint: its text, or a function that gives it, called only when the array is wrong (it may call the
    student's function again)."""
    expected = np.asarray(expected, dtype=float)
    if isinstance(got, np.ndarray) and _is_public_answer(name, got) and not _is_public_answer(name, expected):
        hint = HARD_CODED_HINT
    if not isinstance(got, np.ndarray):
        _fail(
            function,
            _("{name} should be a numpy array, but it is a {type}.").format(name=name, type=type(got).__name__),
        )
    if got.shape != expected.shape:
        _fail(
            function,
            _("{name} has shape {shape}, but it should have shape {expected_shape}.").format(
                name=name, shape=got.shape, expected_shape=expected.shape
            ),
            hint() if callable(hint) else hint,
        )
    if not np.issubdtype(got.dtype, np.floating):
        _fail(function, _("{name} has dtype {dtype}, but it should hold floats.").format(name=name, dtype=got.dtype))
    if not _close(got, expected):
        error = np.abs(got - expected)
        worst = np.unravel_index(np.argmax(error), error.shape)
        _fail(
            function,
            _(
                "{name} is wrong: the largest error is {error:.6g} at index {index} "
                "(expected {expected_entry:.8g}, got {entry:.8g}).\n"
                "expected {name} =\n{expected}\ngot {name} =\n{got}"
            ).format(
                name=name,
                error=error[worst],
                index=tuple(int(i) for i in worst),
                expected_entry=expected[worst],
                entry=got[worst],
                expected=expected,
                got=got,
            ),
            hint() if callable(hint) else hint,
        )


def _ratio(got, expected):
    """got / expected where that is one constant for all entries, else None."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    nonzero = np.abs(expected) > 1e-12
    if got.shape != expected.shape or not nonzero.any() or not np.allclose(got[~nonzero], 0, atol=ATOL):
        return None
    ratios = got[nonzero] / expected[nonzero]
    return float(ratios[0]) if np.allclose(ratios, ratios[0], rtol=RATIO_RTOL) else None


def _known_mistake(ratio, known):
    """The text of the mistake in known, (value, text) pairs, whose value the ratio equals; None when none
    does, or when mistakes of different texts do (as 2 and m when m = 2). A value of 1 is no mistake."""
    texts = {
        text
        for value, text in known
        if ratio is not None
        and not np.isclose(value, 1, rtol=RATIO_RTOL)
        and np.isclose(ratio, value, rtol=RATIO_RTOL, atol=1e-12)
    }
    return texts.pop() if len(texts) == 1 else None


def _m_mistakes(m, n_x=None, source="X"):
    """Known (ratio, text) pairs of a result computed with a wrong m, the ratio being m / the m used."""
    known = [
        (
            m / PUBLIC_M,
            _(
                "m is fixed at {public_m}, the number of examples in the public tests; "
                "take it from the inputs: m = {source}.shape[1]."
            ).format(public_m=PUBLIC_M, source=source),
        )
    ]
    if n_x is not None:
        known.append((m / n_x, _("m is X.shape[0], the number of features; the number of examples is X.shape[1].")))
    return known


def numeric_gradient(cost, x, h=1e-5):
    """d cost() / d x by centred differences, for checking an analytic gradient.

    cost() must read x, an array of any shape; each entry is perturbed in place and then restored.
    """
    gradient = np.zeros_like(x, dtype=float)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + h
        plus = cost()
        x[index] = saved - h
        minus = cost()
        x[index] = saved
        gradient[index] = (plus - minus) / (2 * h)
    return gradient


def check_cost(target, A3, Y, parameters, lambd, expected):
    __tracebackhide__ = True
    function = "compute_cost_with_regularization"
    target = recorded(target, function)
    returned = _call_without_mutation(function, target, A3, Y, parameters, lambd)
    cost = returned[()] if isinstance(returned, np.ndarray) and returned.ndim == 0 else returned
    if not isinstance(cost, numbers.Real) or isinstance(cost, bool):
        kind = type(cost).__name__
        _fail(
            function,
            _("the cost should be a real number, but it is a {type} of shape {shape}.").format(
                type=kind, shape=cost.shape
            )
            if isinstance(cost, np.ndarray)
            else _("the cost should be a real number, but it is a {type}.").format(type=kind),
            _("np.sum over a whole array gives a scalar."),
        )
    if not np.isclose(cost, expected, rtol=RTOL, atol=ATOL):
        ignored = functools.partial(_ignored_argument_hint, target, (A3, Y, parameters, lambd), None, returned, "lambd")
        _fail(
            function,
            _("the cost is {cost!r}, but it should be {expected!r}.").format(
                cost=float(cost), expected=float(expected)
            ),
            _cost_hint(cost, expected, A3, Y, parameters, ignored),
        )


def _cost_hint(cost, expected, A3, Y, parameters, ignored):
    """Name the mistake by the L2 term the student added, as a multiple of the expected L2 term; failing
    that, by the cost not changing with lambd."""
    if _is_public_answer("cost", cost) and not _is_public_answer("cost", expected):
        return HARD_CODED_HINT
    cross_entropy = compute_cost(A3, Y)
    penalty = expected - cross_entropy
    if penalty == 0:
        return None
    if np.isclose(cost, penalty, rtol=RATIO_RTOL):
        return _("the cost is the L2 term alone; add the cross-entropy part.")
    weights = [np.asarray(parameters[f"W{layer}"], dtype=float) for layer in (1, 2, 3)]
    squares = [np.sum(W**2) for W in weights]
    total = sum(squares)
    m = Y.shape[1]
    known = [
        (2, _("the L2 term uses lambd/m; the cost needs lambd/(2m).")),
        (m, _("the L2 term is missing the 1/m factor, or m is not the number of examples, Y.shape[1].")),
        *_m_mistakes(m, source="Y"),
        (0.5, _("the L2 term is halved twice; the factor is lambd/(2m).")),
        (-1, _("the L2 term is subtracted; it must be added to the cross-entropy.")),
        (0, _("the L2 term is missing: the cost equals the plain cross-entropy.")),
        (
            1 + sum(np.sum(np.square(parameters[f"b{layer}"])) for layer in (1, 2, 3)) / total,
            _("the L2 term includes the biases; only the weights W1, W2, W3 are penalized."),
        ),
        (sum(np.sum(W) for W in weights) / total, _("the weights are not squared: add up the squares W**2, not W.")),
        (
            sum(np.sum(np.abs(W)) for W in weights) / total,
            _("the L2 term adds up |W|, which is L1 regularization; L2 adds up the squares W**2."),
        ),
        (
            sum(np.sqrt(square) for square in squares) / total,
            _("np.linalg.norm(W) is not squared: the L2 term needs the squared norm, np.linalg.norm(W)**2."),
        ),
        (
            sum(np.mean(W**2) for W in weights) / total,
            _("the L2 term averages the squares with np.mean; it adds them up: np.sum(np.square(W))."),
        ),
        (
            sum(np.sum(W) ** 2 for W in weights) / total,
            _(
                "the L2 term squares the sum of each W; it adds up the squares: np.sum(np.square(W)), "
                "not np.square(np.sum(W))."
            ),
        ),
        *(
            (
                1 - square / total,
                _("the L2 term leaves out W{layer}; it adds up the squares of W1, W2 and W3.").format(layer=layer),
            )
            for layer, square in zip((1, 2, 3), squares)
        ),
        *(
            (
                square / total,
                _("the L2 term has only W{layer}; it adds up the squares of W1, W2 and W3.").format(layer=layer),
            )
            for layer, square in zip((1, 2, 3), squares)
        ),
        (
            m * sum(np.mean(W**2) for W in weights) / total,
            _("the L2 term averages the squares with np.mean instead of multiplying their sum by lambd/(2m)."),
        ),
        (
            m / sum(W.size for W in weights),
            _("the L2 term divides by the number of weights; it divides by m, the number of examples: lambd/(2m)."),
        ),
    ]
    return _known_mistake((cost - cross_entropy) / penalty, known) or ignored()


def check_gradient_keys(function, gradients):
    if not isinstance(gradients, dict):
        _fail(
            function,
            _("the result should be a dict of gradients, but it is a {type}.").format(type=type(gradients).__name__),
        )
    missing = [key for key in GRADIENT_KEYS if key not in gradients]
    extra = sorted(set(gradients) - set(GRADIENT_KEYS), key=str)
    if missing and extra:
        problem = _(
            "the gradients dict has the wrong keys: missing {missing}; unexpected {extra}. "
            "It should have exactly {keys}."
        )
    elif missing:
        problem = _("the gradients dict has the wrong keys: missing {missing}. It should have exactly {keys}.")
    elif extra:
        problem = _("the gradients dict has the wrong keys: unexpected {extra}. It should have exactly {keys}.")
    if missing or extra:
        _fail(function, problem.format(missing=missing, extra=extra, keys=list(GRADIENT_KEYS)))


def _gradients_and_hint(function, target, arguments, scalar):
    """The gradients target(*arguments) returns, checked for their keys, and a hint to call when a
    gradient is wrong: whether target ignores its last argument, `scalar` (lambd or keep_prob)."""
    __tracebackhide__ = True
    target = recorded(target, function)
    gradients = _call_without_mutation(function, target, *arguments)
    check_gradient_keys(function, gradients)
    return gradients, functools.partial(_ignored_argument_hint, target, arguments, None, gradients, scalar)


def check_regularized_gradients(target, X, Y, cache, lambd, expected):
    """expected: dW1, dW2, dW3 and possibly more gradients; any gradient it does not give must equal
    backward_propagation's, since the L2 term only depends on the weights."""
    __tracebackhide__ = True
    function = "backward_propagation_with_regularization"
    gradients, ignored = _gradients_and_hint(function, target, (X, Y, cache, lambd), "lambd")
    plain = backward_propagation(X, Y, cache)
    weights = {"dW1": cache[2], "dW2": cache[6], "dW3": cache[10]}
    biases = {"db1": cache[3], "db2": cache[7], "db3": cache[11]}
    unregularized = all(_close(gradients[name], plain[name]) for name in weights)
    for name in ("dW3", "dW2", "dW1"):
        got, wanted = gradients[name], expected[name]
        hint = (
            _("no weight gradient has the regularization term: add (lambd/m) * W to each of dW1, dW2, dW3.")
            if unregularized
            else lambda name=name, got=got, wanted=wanted: (
                _l2_term_hint(name, got, wanted, plain[name], weights[name], X.shape[1])
                or _known_mistake(_ratio(got, wanted), _m_mistakes(X.shape[1], X.shape[0]))
                or ignored()
            )
        )
        check_array(function, name, got, wanted, hint)
    for name in GRADIENT_KEYS:
        if name not in weights:
            check_array(
                function,
                name,
                gradients[name],
                expected.get(name, plain[name]),
                lambda name=name: _bias_hint(name, gradients[name], plain[name], biases.get(name)),
            )


def _bias_hint(name, got, plain, b):
    """The hint for a db that differs from backward_propagation's by a multiple of b: a regularized bias."""
    if b is None or not isinstance(got, np.ndarray) or got.shape != plain.shape or _ratio(got - plain, b) is None:
        return None
    return _("biases are not regularized: {name} stays as in backward_propagation.").format(name=name)


def _l2_term_hint(name, got, expected, plain, W, m):
    """Name the mistake in dW's regularization term, the part of dW beyond the plain gradient, or in its
    data term, the plain gradient itself."""
    if not isinstance(got, np.ndarray) or got.shape != plain.shape:
        return None
    term, wanted = got - plain, np.asarray(expected, dtype=float) - plain
    layer = name[-1]
    if m != 1 and np.any(plain != 0) and np.allclose(got - wanted, m * plain, rtol=RATIO_RTOL, atol=ATOL):
        return _(
            "{name}'s data term is missing the 1/m factor: the gradient of the cross-entropy is divided by m too."
        ).format(name=name)
    if np.allclose(term, wanted * W, rtol=RATIO_RTOL, atol=ATOL):
        return _(
            "{name}'s regularization term uses W{layer} squared; the derivative of (lambd/(2m)) W**2 "
            "is (lambd/m) W{layer}."
        ).format(name=name, layer=layer)
    if W.size > 1 and any(
        np.allclose(term, total, rtol=RATIO_RTOL, atol=ATOL) for total in (np.sum(wanted), np.sum(wanted * W))
    ):
        return _(
            "{name}'s regularization term adds one number, a sum over W{layer}, to every entry; "
            "the term is the array (lambd/m) * W{layer}."
        ).format(name=name, layer=layer)
    return _known_mistake(
        _ratio(term, wanted),
        [
            (0, _("{name} has no regularization term; add (lambd/m) * W{layer}.").format(name=name, layer=layer)),
            (
                2,
                _(
                    "{name}'s regularization term is twice too large: the derivative of (lambd/(2m)) W**2 "
                    "is (lambd/m) W."
                ).format(name=name),
            ),
            (
                0.5,
                _(
                    "{name}'s regularization term has an extra 1/2: the derivative of (lambd/(2m)) W**2 is (lambd/m) W."
                ).format(name=name),
            ),
            (-1, _("{name}'s regularization term has the wrong sign; it is added.").format(name=name)),
            (m, _("{name}'s regularization term is missing the 1/m factor.").format(name=name)),
        ],
    )


def check_dropout_forward(target, X, parameters, keep_prob, seed, expected_A3):
    """Seed, call, then check the cache layer by layer (Z, mask, activation), that the masks are the
    ones np.random.seed(seed) gives, and finally A3."""
    __tracebackhide__ = True
    function = "forward_propagation_with_dropout"
    target = recorded(target, function)
    np.random.seed(seed)
    result = _call_without_mutation(function, target, X, parameters, keep_prob)
    if not (isinstance(result, tuple) and len(result) == 2):
        _fail(function, _("the function should return the pair (A3, cache)."))
    A3, cache = result
    if not (isinstance(cache, tuple) and len(cache) == len(DROPOUT_CACHE_NAMES)):
        _fail(
            function,
            _("the cache should be the tuple {names}.").format(names=DROPOUT_CACHE_NAMES),
            _(
                "this is what forward_propagation returns: it drops no unit and its cache has no masks; "
                "the pass with dropout draws D1 and D2."
            )
            if _is_plain_pass(result, X, parameters)
            else None,
        )
    ignored = functools.partial(_ignored_argument_hint, target, (X, parameters, keep_prob), seed, result, "keep_prob")
    values = {name: np.asarray(value) for name, value in zip(DROPOUT_CACHE_NAMES, cache)}
    layer_input = X
    for layer in (1, 2, 3):
        if not _close(values[f"Z{layer}"], parameters[f"W{layer}"] @ layer_input + parameters[f"b{layer}"]):
            source = "X" if layer == 1 else f"A{layer - 1}"
            _fail(
                function,
                _("Z{layer} is not W{layer} {source} + b{layer}.").format(layer=layer, source=source),
                _("the input X must not be dropped out: dropout applies to the hidden layers only.")
                if layer == 1
                else None,
            )
        if layer < 3:
            _check_dropout_layer(function, layer, values, keep_prob, ignored)
            layer_input = values[f"A{layer}"]
    if not _close(values["A3"], sigmoid(values["Z3"])):
        _fail(
            function,
            _("A3 in the cache is not sigmoid(Z3)."),
            _("the output layer must not be dropped out: dropout applies to the hidden layers only."),
        )
    _check_masks_follow_the_seed(function, target, X, parameters, keep_prob, seed, values, ignored)
    check_array(function, "A3", A3, expected_A3)


def _is_plain_pass(result, X, parameters):
    """Whether the student's (A3, cache) is what forward_propagation returns: a pass without dropout."""
    A3, cache = forward_propagation(X, parameters)
    return (
        isinstance(result[1], tuple)
        and len(result[1]) == len(cache)
        and all(_close(got, wanted) for got, wanted in zip((result[0], *result[1]), (A3, *cache)))
    )


def _check_dropout_layer(function, layer, values, keep_prob, ignored):
    """D is a 0/1 mask of A's shape and A = relu(Z) * D / keep_prob; name the mistake when it is not."""
    D, A, Z = (values[f"{name}{layer}"] for name in "DAZ")
    if D.shape != A.shape:
        shared = {
            (A.shape[0], 1): SHARED_BY_EXAMPLES_HINT,
            (1, A.shape[1]): SHARED_BY_UNITS_HINT,
            (): ONE_NUMBER_HINT,
            (1,): ONE_NUMBER_HINT,
            (1, 1): ONE_NUMBER_HINT,
        }
        _fail(
            function,
            _("D{layer} has shape {shape}; it should have the shape of A{layer}, {expected_shape}.").format(
                layer=layer, shape=D.shape, expected_shape=A.shape
            ),
            shared.get(D.shape),
        )
    if not np.isin(D, (0, 1)).all():
        _fail(
            function,
            _("D{layer} should contain only 0 and 1 (or False and True).").format(layer=layer),
            _("compare the random numbers with keep_prob: D = (D < keep_prob)."),
        )
    kept = relu(Z) * D
    if _close(A, kept / keep_prob):
        return
    if _close(A, kept):
        _fail(
            function,
            _("A{layer} was masked but not divided by keep_prob.").format(layer=layer),
            _("activations were not divided by keep_prob: inverted dropout scales the kept units up."),
        )
    if _close(A, kept * keep_prob):
        _fail(
            function,
            _("A{layer} was masked and then multiplied by keep_prob.").format(layer=layer),
            _("A{layer} was multiplied by keep_prob; inverted dropout divides it by keep_prob.").format(layer=layer),
        )
    if _close(A, relu(Z)):
        _fail(
            function,
            _("A{layer} has no dropout: it is relu(Z{layer}) unchanged.").format(layer=layer),
            _("mask A{layer} with D{layer}, then divide it by keep_prob.").format(layer=layer),
        )
    if _close(A, relu(Z) / keep_prob):
        _fail(
            function,
            _("A{layer} was divided by keep_prob but not masked with D{layer}.").format(layer=layer),
            _("multiply A{layer} by D{layer} too, so that the units the mask drops are 0.").format(layer=layer),
        )
    _fail(
        function,
        _("A{layer} is not relu(Z{layer}) masked with D{layer} and divided by keep_prob.").format(layer=layer),
        ignored(),
    )


def _check_masks_follow_the_seed(function, target, X, parameters, keep_prob, seed, values, ignored):
    """D1 and D2 must be rand < keep_prob for the first numbers np.random.rand draws after the seed."""
    __tracebackhide__ = True
    shapes = [values[f"A{layer}"].shape for layer in (1, 2)]
    np.random.seed(seed)
    uniform = [np.random.rand(*shape) for shape in shapes]
    np.random.seed(seed)
    normal = [np.random.randn(*shape) for shape in shapes]
    np.random.seed(seed)
    per_unit = [np.random.rand(shape[0], 1) for shape in shapes]
    np.random.seed(seed)
    per_example = [np.random.rand(1, shape[1]) for shape in shapes]
    for layer in (1, 2):
        D, drawn = values[f"D{layer}"], uniform[layer - 1]
        if np.array_equal(D, drawn < keep_prob):
            continue
        if np.array_equal(D, drawn >= keep_prob):
            hint = _(
                "D{layer} keeps exactly the units the right mask drops: keep_prob is the probability of "
                "keeping a unit, not of dropping it (keep a unit where rand < keep_prob)."
            ).format(layer=layer)
        elif np.array_equal(D, normal[layer - 1] < keep_prob):
            hint = _(
                "the mask was drawn with np.random.randn (normal numbers); draw uniform numbers with np.random.rand."
            )
        elif np.array_equal(D, np.broadcast_to(per_unit[layer - 1] < keep_prob, D.shape)):
            hint = SHARED_BY_EXAMPLES_HINT
        elif np.array_equal(D, np.broadcast_to(per_example[layer - 1] < keep_prob, D.shape)):
            hint = SHARED_BY_UNITS_HINT
        elif _same_mask_on_every_call(target, X, parameters, keep_prob, layer):
            hint = _(
                "D{layer} is the same on every call, so np.random.seed is called inside the function; "
                "do not reseed there: the caller seeds once, and each call must draw new masks."
            ).format(layer=layer)
        elif threshold := _threshold(D, drawn):
            hint = _(
                "D{layer} compares the random numbers with a number other than keep_prob (one between "
                "{low:.3g} and {high:.3g}): keep a unit where rand < keep_prob."
            ).format(layer=layer, low=threshold[0], high=threshold[1])
        else:
            hint = ignored()
        _fail(
            function, _("D{layer} is not the mask np.random.seed({seed}) gives.").format(layer=layer, seed=seed), hint
        )


def _threshold(D, drawn):
    """(low, high) when D keeps exactly the units whose number in `drawn` is below some t, for any t in
    (low, high]; None when no t gives D, or when D keeps all units or none."""
    kept, dropped = drawn[D == 1], drawn[D == 0]
    if not (kept.size and dropped.size) or kept.max() >= dropped.min():
        return None
    return kept.max(), dropped.min()


def _same_mask_on_every_call(target, X, parameters, keep_prob, layer):
    __tracebackhide__ = True
    masks = []
    for seed in (0, 1):
        np.random.seed(seed)
        masks.append(np.asarray(target(X, parameters, keep_prob)[1][DROPOUT_CACHE_NAMES.index(f"D{layer}")]))
    return np.array_equal(*masks)


def check_dropout_statistics(target, keep_prob):
    """On a large random network: with keep_prob = 1 the output is forward_propagation's; otherwise each
    mask keeps about keep_prob of the units, independently for every example, the mean activation is
    unchanged by dropout, and a second call draws new masks."""
    __tracebackhide__ = True
    function = "forward_propagation_with_dropout"
    target = recorded(target, function)
    X, _labels, parameters = random_case(**STATISTICS_CASE)
    np.random.seed(STATISTICS_CASE["seed"])
    result = _call_without_mutation(function, target, X, parameters, keep_prob)
    A3, cache = result
    if keep_prob == 1:
        check_array(
            function,
            "A3",
            A3,
            forward_propagation(X, parameters)[0],
            functools.partial(
                _ignored_argument_hint, target, (X, parameters, keep_prob), STATISTICS_CASE["seed"], result, "keep_prob"
            ),
        )
        return
    values = dict(zip(DROPOUT_CACHE_NAMES, cache))
    again = dict(zip(DROPOUT_CACHE_NAMES, target(X, parameters, keep_prob)[1]))
    for layer in (1, 2):
        D, A, Z = (np.asarray(values[f"{name}{layer}"]) for name in "DAZ")
        if D.shape != A.shape or (D == D[:, :1]).all():
            _fail(
                function, _("every example gets the same mask D{layer}.").format(layer=layer), SHARED_BY_EXAMPLES_HINT
            )
        if (D == D[:1, :]).all():
            _fail(
                function,
                _("all units of an example get the same mask D{layer}.").format(layer=layer),
                SHARED_BY_UNITS_HINT,
            )
        # Over 80,000 independent units or more, a share 0.01 away from keep_prob is 8 standard deviations off.
        kept = np.mean(D)
        if abs(kept - keep_prob) > 0.01:
            inverted = abs(kept - (1 - keep_prob)) <= 0.01
            _fail(
                function,
                _("D{layer} keeps {kept:.1%} of the units; it should keep about keep_prob = {keep_prob:.0%}.").format(
                    layer=layer, kept=kept, keep_prob=keep_prob
                ),
                _("keep_prob is the probability of keeping a unit, not of dropping it.")
                if inverted
                else _(
                    "keep each unit with probability keep_prob: draw uniform numbers with np.random.rand "
                    "and keep the units whose number is below keep_prob."
                ),
            )
        scale = np.mean(A) / np.mean(relu(Z))
        if abs(scale - 1) > 0.02:
            _fail(
                function,
                _("dropout changes the mean of A{layer}: it is {scale:.3f} times the mean of relu(Z{layer}).").format(
                    layer=layer, scale=scale
                ),
                _("inverted dropout divides by keep_prob so that the expected activation stays the same."),
            )
        if np.array_equal(D, again[f"D{layer}"]):
            _fail(
                function,
                _("D{layer} is the same on every call.").format(layer=layer),
                _("do not call np.random.seed inside the function: each call must draw new masks."),
            )


def check_dropout_backward(target, X, Y, cache, keep_prob, expected):
    """expected: dA1 and dA2, optionally more gradients; each given one is compared."""
    __tracebackhide__ = True
    function = "backward_propagation_with_dropout"
    gradients, ignored = _gradients_and_hint(function, target, (X, Y, cache, keep_prob), "keep_prob")
    D1, A2, W2, D2, A3, W3 = (
        np.asarray(cache[DROPOUT_CACHE_NAMES.index(name)]) for name in ("D1", "A2", "W2", "D2", "A3", "W3")
    )
    masks = {"dA1": D1, "dA2": D2}
    # Each dA before its mask and scale: where it is not 0, a 0 in the student's dA is a unit a mask dropped.
    unmasked = {"dA2": W3.T @ (A3 - Y), "dA1": W2.T @ (np.asarray(expected["dA2"]) * (A2 > 0))}

    def hint(name):
        if name in masks:
            return _dropout_gradient_hint(name, gradients[name], expected[name], masks[name], unmasked[name], keep_prob)
        return _known_mistake(_ratio(gradients[name], expected[name]), _m_mistakes(X.shape[1], X.shape[0]))

    other_gradients = [name for name in GRADIENT_KEYS if name in expected and name not in masks]
    for name in ("dA2", "dA1", *other_gradients):
        check_array(function, name, gradients[name], expected[name], lambda name=name: hint(name) or ignored())


def _dropout_gradient_hint(name, got, expected, mask, unmasked, keep_prob):
    """Name the mistake behind a wrong dA1 or dA2 from where its zeros are and its ratio to expected."""
    if not isinstance(got, np.ndarray) or got.shape != mask.shape:
        return None
    layer = name[-1]
    dropped = mask == 0
    expected = np.asarray(expected, dtype=float)
    if not np.allclose(got[dropped], 0):
        if np.allclose(got[~dropped], 0) and np.any(expected[~dropped] != 0):
            return _(
                "{name} is zero where D{layer} keeps a unit and not where it drops one: the mask is the "
                "wrong way round; multiply by D{layer}."
            ).format(name=name, layer=layer)
        if np.any(np.isclose(got, 0, rtol=0, atol=ATOL) & ~np.isclose(unmasked, 0, rtol=0, atol=ATOL)):
            return _(
                "{name} is masked, but not with D{layer}: use the D{layer} from the cache, the units the "
                "forward pass dropped (a new random mask drops other units)."
            ).format(name=name, layer=layer)
        return _(
            "{name} is not masked with D{layer}: units dropped going forward get no gradient "
            "(the mask goes on the gradient {name}, not on A{layer})."
        ).format(name=name, layer=layer)
    known = [
        (keep_prob, _("{name} was not divided by keep_prob.").format(name=name)),
        (keep_prob**2, _("{name} was multiplied by keep_prob; it should be divided by it.").format(name=name)),
        (1 / keep_prob, _("{name} was divided by keep_prob twice.").format(name=name)),
    ]
    if keep_prob != 1:
        known.append(
            (
                keep_prob / (1 - keep_prob),
                _("{name} was divided by 1 - keep_prob; divide it by keep_prob.").format(name=name),
            )
        )
    return _known_mistake(_ratio(got, expected), known)


def planned_calls(check, arguments, seed=None):
    """Every call `check` may make to the student's function when it judges the inputs `arguments`, in
    the order it makes them, as (arguments, seed) pairs: seed goes to np.random.seed right before the
    call, None continues the generator from the call before. On hidden cases the student's kernel makes
    exactly these calls and the grader judges the results (handin.py): a call missing here cannot be
    judged. Calls with equal arguments must keep this relative order. `varied`, the first call again
    with lambd or keep_prob changed, is _ignored_argument_hint's, made when nothing else names a mistake."""
    varied = (_varied(arguments), seed)
    if check is check_dropout_forward:
        return [(arguments, seed), (arguments, 0), (arguments, 1), varied]  # 0 and 1: _same_mask_on_every_call
    if check is check_dropout_statistics:  # keep_prob = 1: A3 is compared; else a second call must draw new masks
        return [(arguments, seed), varied if arguments[-1] == 1 else (arguments, None)]
    return [(arguments, seed), varied]


def _named_first(*checks):
    """Run the checks in order. When one fails without naming its mistake, the rest still run: the first of
    them that fails and names one is raised instead (the public case's masks are too small to show, say,
    what share of units they keep; the statistics' large case shows it), else the unnamed failure."""
    __tracebackhide__ = True
    unnamed = None
    for check in checks:
        try:
            check()
        except AssertionError as failure:
            if getattr(failure, "named", False) or isinstance(failure, JudgingError):
                raise
            unnamed = unnamed or failure
    if unnamed:
        raise unnamed


def _report_pass():
    print("\033[92m" + _("All tests passed.") + "\033[0m")


def compute_cost_with_regularization_test(target):
    __tracebackhide__ = True
    play_hidden_cases("compute_cost_with_regularization", target)
    A3, Y, parameters = compute_cost_with_regularization_test_case()
    check_cost(target, A3, Y, parameters, lambd=0.1, expected=PUBLIC_EXPECTED["cost"])
    _report_pass()


def backward_propagation_with_regularization_test(target):
    __tracebackhide__ = True
    play_hidden_cases("backward_propagation_with_regularization", target)
    X, Y, cache = backward_propagation_with_regularization_test_case()
    expected = {name: PUBLIC_EXPECTED[name] for name in ("dW1", "dW2", "dW3")}
    check_regularized_gradients(target, X, Y, cache, lambd=0.7, expected=expected)
    _report_pass()


def forward_propagation_with_dropout_test(target):
    __tracebackhide__ = True
    play_hidden_cases("forward_propagation_with_dropout", target)
    X, parameters = forward_propagation_with_dropout_test_case()
    _named_first(
        functools.partial(
            check_dropout_forward, target, X, parameters, keep_prob=0.7, seed=1, expected_A3=PUBLIC_EXPECTED["A3"]
        ),
        *(functools.partial(check_dropout_statistics, target, keep_prob) for keep_prob in (0.7, 1.0)),
    )
    _report_pass()


def backward_propagation_with_dropout_test(target):
    __tracebackhide__ = True
    play_hidden_cases("backward_propagation_with_dropout", target)
    X, Y, cache = backward_propagation_with_dropout_test_case()
    expected = {name: PUBLIC_EXPECTED[name] for name in ("dA1", "dA2")}
    check_dropout_backward(target, X, Y, cache, DROPOUT_BACKWARD_KEEP_PROB, expected)
    _report_pass()
