"""Partial credit: an exercise's points split over the parts a student writes, each part judged on the
student's own values upstream of it ("error carried forward"), as examiners mark.

The instructor sets the parts' points in nbgrader_config.py (`c.PartialCredit`); `configured_points`
reads and checks them. `judge_parts` runs in the grader's process, inside helpers.TrustedHelpers.imported(),
on a handin.Replay of the calls the kernel made: the public case's and every hidden case's. Each part
owns some of the function's outputs, and each output is compared with what it should be given the
student's own outputs before it (dW2 with 1/m dZ2 A1.T + (lambd/m) W2 for the student's dZ2), so one
early mistake costs its own part only. Nothing is credited on garbage: a function that raises, changes
its inputs or returns the wrong type earns nothing on any part; an output of the wrong shape voids its
part and the parts computed from it; a part whose expected values are all zero on every case (its
inputs from earlier parts are zero) proves nothing and earns nothing. The expected values are computed
here, never in the release.
"""

import copy
import enum
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course.grader import hidden_tests
from course.layout import course_config

# The parts each exercise's judge knows, in the order the function computes them: each is named by
# what the student computes there (for the dropout forward pass, A1 is layer 1's mask, then scaling).
PARTS = {
    "compute_cost_with_regularization": ("L2_regularization_cost",),
    "backward_propagation_with_regularization": ("dW3", "dW2", "dW1"),
    "forward_propagation_with_dropout": ("A1", "A2"),
    "backward_propagation_with_dropout": ("dA2", "dA1"),
}
RTOL, ATOL = 1e-5, 1e-8  # as public_tests


class Mark(enum.Enum):
    RIGHT = "right"
    WRONG = "wrong"


@dataclass(frozen=True)
class PartResult:
    part: str
    mark: Mark
    points: float  # earned: all of the part's or none
    max_points: float
    reason: str = ""  # why it is wrong, in the edition's language


def configured_points(root: Path, test_points: dict) -> dict:
    """{exercise: {part: points}} from the course's config, or {} when it grades all or nothing.
    test_points: {exercise: its test cell's points}, which each exercise's parts must add up to."""
    config = course_config(root).PartialCredit
    if not config.get("enabled", True):
        return {}
    points = config.get("points", {})
    for exercise, parts in PARTS.items():
        given = points.get(exercise, {})
        if tuple(given) != parts or sum(given.values()) != test_points[exercise]:
            raise ValueError(
                f"nbgrader_config.py: PartialCredit.points[{exercise!r}] must give the parts {list(parts)}, "
                f"in that order, points adding up to the test cell's {test_points[exercise]:g}"
            )
    return {exercise: dict(points[exercise]) for exercise in PARTS}


def judge_parts(function: str, replay, points: dict) -> list[PartResult]:
    """Each part of `function`, right when it is right on every case, given the student's own upstream
    values; `replay` plays the kernel's calls back (handin.JudgingError when one was not made)."""
    import handin
    from translation import _

    wrong, informative = {}, set()
    for number, (arguments, seed) in enumerate(_cases(function)):
        case = _("the public case") if number == 0 else _("hidden case {number}").format(number=number)
        given = copy.deepcopy(arguments)
        try:
            result = replay(*given)
        except handin.JudgingError:
            raise
        except Exception as error:
            problem = _("on {case} the function raised {error}.").format(case=case, error=type(error).__name__)
            return _all_wrong(points, problem)
        if not _unchanged(arguments, given):
            return _all_wrong(points, _("on {case} the function changed its inputs.").format(case=case))
        expected = _expected(function, result, arguments, seed)
        if expected is None:
            problem = _("on {case} the function returned no result of the right type.").format(case=case)
            return _all_wrong(points, problem)
        for part, checks in expected.items():
            if checks is None:
                problem = _(
                    "on {case} an output of this part, or one it is computed from, has the wrong type or shape."
                )
                wrong.setdefault(part, problem.format(case=case))
            elif part not in wrong:
                problem, nonzero = _first_wrong(case, checks)
                if problem:
                    wrong[part] = problem
                if nonzero:
                    informative.add(part)
    for part in points:  # judged only on zeros from the parts before it, as when those are wrong: it proves nothing
        if part not in informative:
            wrong.setdefault(part, _("its inputs from the parts before it are all zero, so it cannot be judged."))
    return [
        PartResult(part, Mark.WRONG, 0, value, wrong[part])
        if part in wrong
        else PartResult(part, Mark.RIGHT, value, value)
        for part, value in points.items()
    ]


def _all_wrong(points, reason):
    return [PartResult(part, Mark.WRONG, 0, value, reason) for part, value in points.items()]


def _cases(function):
    """(arguments, seed) of the public case, as the public test calls the function, then of each hidden case."""
    import testCases

    public = {
        "compute_cost_with_regularization": ((*testCases.compute_cost_with_regularization_test_case(), 0.1), None),
        "backward_propagation_with_regularization": (
            (*testCases.backward_propagation_with_regularization_test_case(), 0.7),
            None,
        ),
        "forward_propagation_with_dropout": ((*testCases.forward_propagation_with_dropout_test_case(), 0.7), 1),
        "backward_propagation_with_dropout": (
            (*testCases.backward_propagation_with_dropout_test_case(), testCases.DROPOUT_BACKWARD_KEEP_PROB),
            None,
        ),
    }
    return [public[function], *((case.arguments, case.seed) for case in hidden_tests.cases(function))]


def _unchanged(before, after) -> bool:
    from public_tests import _same_structure

    return _same_structure(before, after)


def _expected(function, result, arguments, seed):
    """{part: [(output name, the student's value, a function giving what it should be), ...]}, or None
    when the result's type or an output's shape is wrong, which voids every part."""
    if function == "compute_cost_with_regularization":
        return _cost(result, *arguments)
    if function == "forward_propagation_with_dropout":
        return _dropout_forward(result, *arguments, seed)
    from public_tests import GRADIENT_KEYS

    if not isinstance(result, dict) or set(result) != set(GRADIENT_KEYS):
        return None
    X, cache = arguments[0], arguments[2]
    if function == "backward_propagation_with_regularization":
        Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    else:
        Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3 = cache
    shapes = {"X": X, "Z1": Z1, "W1": W1, "b1": b1, "Z2": Z2, "W2": W2, "b2": b2, "Z3": Z3, "W3": W3, "b3": b3}
    shaped = {  # dZ2 and dA2 have Z2's shape, dW2 W2's, db2 b2's
        name: _is_number_array(value)
        and value.shape == np.shape(shapes[("Z" if name[1] in "ZA" else name[1]) + name[2]])
        for name, value in result.items()
    }
    if function == "backward_propagation_with_regularization":
        expected, upstream = _l2_gradients(result, *arguments), {"dW3": (), "dW2": ("dZ3",), "dW1": ("dZ2",)}
    else:
        expected, upstream = _dropout_gradients(result, *arguments), {"dA2": (), "dA1": ("dZ2",)}
    return {
        part: [(name, result[name], want) for name, want in checks.items()]
        if all(shaped[name] for name in (*checks, *upstream[part]))
        else None
        for part, checks in expected.items()
    }


def _cost(cost, A3, Y, parameters, lambd):
    cost = cost[()] if isinstance(cost, np.ndarray) and cost.ndim == 0 else cost
    if not isinstance(cost, numbers.Real) or isinstance(cost, bool):
        return None
    (expected,) = hidden_tests._expected_cost(A3, Y, parameters, lambd)
    return {"L2_regularization_cost": [("cost", cost, lambda: expected)]}


def _l2_gradients(g, X, Y, cache, lambd):
    """Each part's gradients and what they should be, given the student's gradients upstream of them."""
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    m = X.shape[1]
    return {
        "dW3": {
            "dZ3": lambda: A3 - Y,
            "dW3": lambda: g["dZ3"] @ A2.T / m + lambd / m * W3,
            "db3": lambda: np.sum(g["dZ3"], axis=1, keepdims=True) / m,
        },
        "dW2": {
            "dA2": lambda: W3.T @ g["dZ3"],
            "dZ2": lambda: g["dA2"] * (A2 > 0),
            "dW2": lambda: g["dZ2"] @ A1.T / m + lambd / m * W2,
            "db2": lambda: np.sum(g["dZ2"], axis=1, keepdims=True) / m,
        },
        "dW1": {
            "dA1": lambda: W2.T @ g["dZ2"],
            "dZ1": lambda: g["dA1"] * (A1 > 0),
            "dW1": lambda: g["dZ1"] @ X.T / m + lambd / m * W1,
            "db1": lambda: np.sum(g["dZ1"], axis=1, keepdims=True) / m,
        },
    }


def _dropout_gradients(g, X, Y, cache, keep_prob):
    """As _l2_gradients, for the backward pass with dropout: each dA masked with its layer's D, then scaled."""
    Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3 = cache
    m = X.shape[1]
    return {
        "dA2": {
            "dZ3": lambda: A3 - Y,
            "dW3": lambda: g["dZ3"] @ A2.T / m,
            "db3": lambda: np.sum(g["dZ3"], axis=1, keepdims=True) / m,
            "dA2": lambda: W3.T @ g["dZ3"] * D2 / keep_prob,
            "dZ2": lambda: g["dA2"] * (A2 > 0),
            "dW2": lambda: g["dZ2"] @ A1.T / m,
            "db2": lambda: np.sum(g["dZ2"], axis=1, keepdims=True) / m,
        },
        "dA1": {
            "dA1": lambda: W2.T @ g["dZ2"] * D1 / keep_prob,
            "dZ1": lambda: g["dA1"] * (A1 > 0),
            "dW1": lambda: g["dZ1"] @ X.T / m,
            "db1": lambda: np.sum(g["dZ1"], axis=1, keepdims=True) / m,
        },
    }


def _dropout_forward(result, X, parameters, keep_prob, seed):
    """Layer l is right when Z_l is W_l times the student's own layer input plus b_l, D_l is the 0/1 mask
    of the draws np.random.rand makes for it after np.random.seed(seed) (layer 1's first), and A_l is
    relu(Z_l) masked with it and divided by keep_prob. Layer 2 owns the output layer, Z3 and A3, too."""
    from reg_utils import relu, sigmoid
    from testCases import DROPOUT_CACHE_NAMES

    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], tuple)):
        return None
    if len(result[1]) != len(DROPOUT_CACHE_NAMES):
        return None
    v = dict(zip(DROPOUT_CACHE_NAMES, result[1]))
    shape = {layer: (parameters[f"W{layer}"].shape[0], X.shape[1]) for layer in (1, 2, 3)}
    shaped = {
        name: _is_number_array(v[name]) and v[name].shape == shape[int(name[1])] for name in v if name[0] in "ZDA"
    }
    shaped["A3 returned"] = _is_number_array(result[0]) and result[0].shape == shape[3]
    layer_2 = ("A1", "Z2", "D2", "A2", "Z3", "A3", "A3 returned")  # its outputs and its input, A1
    np.random.seed(seed)
    D = {layer: np.random.rand(*shape[layer]) < keep_prob for layer in (1, 2)}
    W, b = ({layer: parameters[f"{kind}{layer}"] for layer in (1, 2, 3)} for kind in "Wb")
    checks = {
        "A1": [
            ("Z1", v["Z1"], lambda: W[1] @ X + b[1]),
            ("D1", v["D1"], lambda: D[1]),
            ("A1", v["A1"], lambda: relu(v["Z1"]) * D[1] / keep_prob),
        ],
        "A2": [
            ("Z2", v["Z2"], lambda: W[2] @ v["A1"] + b[2]),
            ("D2", v["D2"], lambda: D[2]),
            ("A2", v["A2"], lambda: relu(v["Z2"]) * D[2] / keep_prob),
            ("Z3", v["Z3"], lambda: W[3] @ v["A2"] + b[3]),
            ("A3", v["A3"], lambda: sigmoid(v["Z3"])),
            ("A3", result[0], lambda: v["A3"]),
        ],
    }
    valid = {"A1": all(shaped[name] for name in ("Z1", "D1", "A1")), "A2": all(shaped[name] for name in layer_2)}
    return {part: part_checks if valid[part] else None for part, part_checks in checks.items()}


def _is_number_array(value) -> bool:
    return isinstance(value, np.ndarray) and (np.issubdtype(value.dtype, np.number) or value.dtype == bool)


def _first_wrong(case: str, checks) -> tuple[str, bool]:
    """What the first wrong output of a part is and should be, at its worst entry ("" when all are right),
    and whether any of its expected values is not zero."""
    from translation import _

    nonzero = False
    for name, got, expected in checks:
        got, expected = np.asarray(got, dtype=float), np.asarray(expected(), dtype=float)
        nonzero = nonzero or bool(np.any(expected != 0))
        if got.shape == expected.shape and np.allclose(got, expected, rtol=RTOL, atol=ATOL):
            continue
        if not expected.shape:
            problem = _("on {case} {name} should be {expected:.6g}, but it is {got:.6g}.")
            return problem.format(case=case, name=name, expected=expected, got=got), nonzero
        error = np.nan_to_num(np.abs(got - expected), nan=np.inf)
        worst = np.unravel_index(np.argmax(error), error.shape)
        return _("on {case} {name} should be {expected:.6g} at index {index}, but it is {got:.6g}.").format(
            case=case, name=name, expected=expected[worst], index=tuple(int(i) for i in worst), got=got[worst]
        ), nonzero
    return "", nonzero
