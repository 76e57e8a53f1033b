"""The hidden tests: cases students never see, judged in the grader's process.

Each test cell ends with `hidden_tests("<function>", <function>)`. In the student's kernel that
name is handin.hidden_tests: it makes the calls planned here (inputs and seeds, handed over as
data, see `write_plans`) and hands the results in. In the grader it is `judge`: the public checks
run on the same inputs against those results, with expected values computed here. Neither this
code nor an expected value ever reaches the kernel, so nothing a submission prints, raises or
writes can carry them into its feedback.

Everything here runs inside helpers.TrustedHelpers.imported() (or layout.course_modules on a release
folder): reg_utils, testCases, public_tests and handin are the grader's trusted copies, imported when a
function runs.
"""

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course.build import reference


@dataclass(frozen=True)
class Case:
    check: str  # the public_tests check that judges it
    arguments: tuple  # what the student's function is called with
    seed: int | None  # np.random.seed before the call, for the dropout forward pass
    expectation: object  # arguments -> what the check takes after them (expected values, ...)
    check_arguments: tuple | None = None  # what the check takes instead of `arguments`, if not them


def _squared_weights(parameters):
    return sum(np.sum(parameters[f"W{layer}"] ** 2) for layer in (1, 2, 3))


def _expected_cost(A3, Y, parameters, lambd):
    from reg_utils import compute_cost

    return (compute_cost(A3, Y) + lambd / (2 * Y.shape[1]) * _squared_weights(parameters),)


def _expected_regularized_gradients(X, Y, cache, lambd, parameters):
    """Every gradient of the L2 cost, by centred differences at `parameters` (cache is their forward pass)."""
    from public_tests import numeric_gradient
    from reg_utils import compute_cost, forward_propagation

    def regularized_cost():
        return compute_cost(forward_propagation(X, parameters)[0], Y) + lambd / (2 * X.shape[1]) * _squared_weights(
            parameters
        )

    return ({"d" + name: numeric_gradient(regularized_cost, value) for name, value in parameters.items()},)


def _expected_dropout_gradients(X, Y, keep_prob, seed, parameters):
    """dA2 and dA1 by the chain rule; dW and db by centred differences with the masks held fixed."""
    from public_tests import numeric_gradient
    from reg_utils import compute_cost

    _, (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = reference.dropout_pass(X, parameters, keep_prob, seed)

    def cost_with_these_masks():
        return compute_cost(reference.dropout_pass(X, parameters, keep_prob, seed)[0], Y)

    expected = {"d" + name: numeric_gradient(cost_with_these_masks, value) for name, value in parameters.items()}
    expected["dA2"] = W3.T @ (A3 - Y) * D2 / keep_prob
    expected["dA1"] = W2.T @ (expected["dA2"] * (A2 > 0)) * D1 / keep_prob
    return (expected,)


# Each graded function's hidden cases as (seed, layer_dims, m, lambd or keep_prob): other numbers of
# examples than the public case's 5, and keep_prob 1 for the dropout functions.
CASE_SIZES = {
    "compute_cost_with_regularization": [
        (101, [4, 5, 2, 1], 7, 0.3),
        (102, [2, 20, 3, 1], 12, 2.0),
        (103, [3, 1, 4, 1], 1, 0.05),
    ],
    "backward_propagation_with_regularization": [
        (211, [4, 5, 2, 1], 7, 0.3),
        (212, [2, 20, 3, 1], 12, 2.0),
        (203, [3, 1, 4, 1], 1, 0.05),
    ],
    "forward_propagation_with_dropout": [
        (301, [4, 6, 3, 1], 9, 0.5),
        (302, [2, 20, 3, 1], 15, 0.86),
        (303, [3, 5, 2, 1], 4, 1.0),
    ],
    "backward_propagation_with_dropout": [
        (401, [4, 6, 3, 1], 9, 0.5),
        (402, [2, 20, 3, 1], 15, 0.86),
        (403, [3, 5, 2, 1], 4, 1.0),
    ],
}


def cases(function: str) -> list:
    """The hidden cases of one graded function, built from seeds: the same arrays on every call."""
    from public_tests import STATISTICS_CASE
    from testCases import random_case

    if function not in CASE_SIZES:
        raise KeyError(f"no hidden cases for {function!r}")
    built = [
        _case(function, seed, *random_case(seed, layer_dims, m), scalar)
        for seed, layer_dims, m, scalar in CASE_SIZES[function]
    ]
    if function == "forward_propagation_with_dropout":  # the masks' statistics, on a larger case
        X, _, parameters = random_case(**STATISTICS_CASE)
        arguments = (X, parameters, 0.25)
        built.append(Case("check_dropout_statistics", arguments, STATISTICS_CASE["seed"], lambda *_: (), (0.25,)))
    return built


def _case(function: str, seed: int, X, Y, parameters: dict, scalar: float) -> Case:
    """One hidden case of `function` on the random case (X, Y, parameters); scalar is lambd or keep_prob."""
    from reg_utils import forward_propagation

    if function == "compute_cost_with_regularization":
        return Case("check_cost", (forward_propagation(X, parameters)[0], Y, parameters, scalar), None, _expected_cost)
    if function == "backward_propagation_with_regularization":
        arguments = (X, Y, forward_propagation(X, parameters)[1], scalar)
        expectation = functools.partial(_expected_regularized_gradients, parameters=parameters)
        return Case("check_regularized_gradients", arguments, None, expectation)
    if function == "forward_propagation_with_dropout":
        return Case(
            "check_dropout_forward",
            (X, parameters, scalar),
            seed,
            lambda X, parameters, keep_prob: (seed, reference.dropout_pass(X, parameters, keep_prob, seed)[0]),
        )
    cache = reference.dropout_pass(X, parameters, scalar, seed)[1]
    return Case(
        "check_dropout_backward",
        (X, Y, cache, scalar),
        None,
        lambda X, Y, cache, keep_prob: _expected_dropout_gradients(X, Y, keep_prob, seed, parameters),
    )


def planned_calls(function: str) -> list:
    """The calls the student's kernel makes for `function`'s hidden cases: [(arguments, seed), ...]."""
    import public_tests

    return [
        call
        for case in cases(function)
        for call in public_tests.planned_calls(getattr(public_tests, case.check), case.arguments, case.seed)
    ]


def plans() -> dict[str, bytes]:
    """Each graded function's planned calls as data for the kernel: {path under the kernel's folder: bytes}
    (handin.PLANS_FOLDER there)."""
    import handin
    import public_tests

    found = {}
    for function in public_tests.GRADED_FUNCTIONS:
        arrays = []
        skeleton = handin.encode([list(call) for call in planned_calls(function)], arrays)
        found[f"{handin.PLANS_FOLDER}/{function}.plan"] = handin.pack(skeleton, arrays)
    return found


def write_plans(workdir: Path, planned: dict | None = None) -> None:
    """Hand each graded function's planned calls to the kernel, in its folder `workdir`; planned: plans(),
    when worked out beforehand."""
    for name, data in (plans() if planned is None else planned).items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes(data)


def expected_checks(function: str) -> list[tuple[str, tuple]]:
    """Each hidden case of `function` as (the public check that judges it, what that check takes after
    the function: the case's arguments, then the expected values)."""
    checks = []
    for case in cases(function):
        given = case.check_arguments if case.check_arguments is not None else case.arguments
        checks.append((case.check, (*given, *case.expectation(*case.arguments))))
    return checks


def judge(function: str, target: Callable, checks: list | None = None) -> None:
    """Run the checks of `function`'s hidden cases on `target` (a handin.Replay of the kernel's
    calls); the first failure raises, as a failing test cell does. checks: expected_checks(function),
    when worked out beforehand; each check gets copies, since a replayed call writes into its arguments
    what the student's function did to its own."""
    import public_tests

    for check, arguments in expected_checks(function) if checks is None else checks:
        getattr(public_tests, check)(target, *copy.deepcopy(arguments))
