"""The release gives no answer away: no callable a student receives computes a graded function's
result, and the fixtures that hold one are data written from the grader's reference."""

import contextlib
import importlib
import io
import warnings

import numpy as np
import pytest

from course.build import reference
from course.layout import ASSIGNMENT, HELPER_FILES, Stage, course_modules
from testCases import random_case
from tests import COURSE, COURSE_ROOT

RELEASE = COURSE.path(Stage.RELEASE, None, ASSIGNMENT)


def graded_calls(solutions):
    """(function, arguments, seed, what the solution returns) on inputs of the graded signatures."""
    from reg_utils import forward_propagation

    for case_seed, layer_dims, m in [(61, [3, 6, 4, 1], 8), (62, [2, 5, 3, 1], 11)]:
        X, Y, parameters = random_case(case_seed, layer_dims, m)
        A3, cache = forward_propagation(X, parameters)
        np.random.seed(case_seed)
        dropout_cache = solutions["forward_propagation_with_dropout"](X, parameters, 0.7)[1]
        for function, arguments in [
            ("compute_cost_with_regularization", (A3, Y, parameters, 0.4)),
            ("backward_propagation_with_regularization", (X, Y, cache, 0.4)),
            ("forward_propagation_with_dropout", (X, parameters, 0.7)),
            ("backward_propagation_with_dropout", (X, Y, dropout_cache, 0.7)),
        ]:
            np.random.seed(case_seed)
            yield function, arguments, case_seed, solutions[function](*arguments)


def headline(function, result):
    """The output that answers the exercise: the cost, dW1, A3 or dA1."""
    if function == "compute_cost_with_regularization":
        return result
    if function == "forward_propagation_with_dropout":
        return result[0] if isinstance(result, tuple) and result else None
    key = "dW1" if function == "backward_propagation_with_regularization" else "dA1"
    return result.get(key) if isinstance(result, dict) else None


def same_numbers(got, want) -> bool:
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    return got.shape == np.shape(want) and bool(np.allclose(got, want))


def released_callables():
    """(module, name, callable) for every public callable of every released module."""
    with course_modules(RELEASE):
        for path in sorted(RELEASE.glob("*.py")):
            module = importlib.import_module(path.stem)
            for name in sorted(vars(module)):
                if not name.startswith("_") and callable(getattr(module, name)):
                    yield path.stem, name, getattr(module, name)


def test_every_released_module_is_checked():
    assert sorted(path.name for path in RELEASE.glob("*.py")) == sorted(
        name for name in HELPER_FILES if name.endswith(".py")
    )


def test_no_released_callable_reproduces_a_graded_function(solutions):
    calls = list(graded_calls(solutions))
    reproducing = []
    checked = 0
    for module, name, candidate in released_callables():
        for function, arguments, seed, expected in calls:
            np.random.seed(seed)
            try:
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    got = headline(function, candidate(*arguments))
            except Exception:
                continue
            finally:
                checked += 1
            if same_numbers(got, headline(function, expected)):
                reproducing.append(f"{module}.{name} reproduces {function}")
    assert checked > 200  # every callable of the four modules met every case
    assert reproducing == []


def test_the_shipped_dropout_fixture_is_what_the_reference_gives():
    with course_modules(COURSE_ROOT):
        written = reference.dropout_fixture()
    for folder in (COURSE_ROOT, COURSE.path(Stage.SOURCE, None, ASSIGNMENT), RELEASE):
        assert (folder / "testCases.json").read_text() == written


@pytest.mark.parametrize("keep_prob", [0.5, 0.86, 1.0])
def test_the_reference_pass_agrees_with_the_source_solution(solutions, keep_prob):
    X, _, parameters = random_case(7, [3, 6, 4, 1], 9)
    A3, cache = reference.dropout_pass(X, parameters, keep_prob, seed=5)
    np.random.seed(5)
    A3_solution, cache_solution = solutions["forward_propagation_with_dropout"](X, parameters, keep_prob)
    assert np.array_equal(A3, A3_solution) and all(np.array_equal(a, b) for a, b in zip(cache, cache_solution))
