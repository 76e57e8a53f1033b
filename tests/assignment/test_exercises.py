"""The reference solutions against the published numbers, calculus, and the public tests' judgement."""

import numpy as np
import pytest

import public_tests
from public_tests import numeric_gradient
from reg_utils import compute_cost, forward_propagation, relu
from testCases import (
    DROPOUT_BACKWARD_KEEP_PROB,
    backward_propagation_with_dropout_test_case,
    backward_propagation_with_regularization_test_case,
    compute_cost_with_regularization_test_case,
    forward_propagation_with_dropout_test_case,
    random_case,
)
from tests.gradcheck import relative_error


def test_published_cost(solutions):
    A3, Y, parameters = compute_cost_with_regularization_test_case()
    assert str(solutions["compute_cost_with_regularization"](A3, Y, parameters, lambd=0.1)) == "1.7864859451590758"


def test_published_dropout_forward(solutions):
    X, parameters = forward_propagation_with_dropout_test_case()
    np.random.seed(1)
    A3, _ = solutions["forward_propagation_with_dropout"](X, parameters, keep_prob=0.7)
    assert str(A3) == "[[0.36974721 0.00305176 0.04565099 0.49683389 0.36974721]]"


def test_public_tests_literals_are_what_the_reference_computes(solutions):
    """The expected arrays written in public_tests.py must be the reference's outputs, not stale copies."""
    recorded = []
    original = public_tests.check_array
    public_tests.check_array = lambda f, name, got, expected, hint=None: recorded.append((name, got, expected))
    try:
        public_tests.backward_propagation_with_regularization_test(
            solutions["backward_propagation_with_regularization"]
        )
        public_tests.forward_propagation_with_dropout_test(solutions["forward_propagation_with_dropout"])
        public_tests.backward_propagation_with_dropout_test(solutions["backward_propagation_with_dropout"])
    finally:
        public_tests.check_array = original
    assert {name for name, _, _ in recorded} >= {"dW1", "dW2", "dW3", "A3", "dA1", "dA2"}
    for name, got, expected in recorded:
        assert np.allclose(got, expected, rtol=1e-12, atol=1e-15), name


@pytest.mark.parametrize("seed, lambd", [(0, 0.7), (1, 0.1), (2, 3.0)])
def test_l2_backward_is_the_gradient_of_the_l2_cost(solutions, seed, lambd):
    X, Y, parameters = random_case(seed, [3, 5, 4, 1], 6)

    def cost():
        A3, _ = forward_propagation(X, parameters)
        return solutions["compute_cost_with_regularization"](A3, Y, parameters, lambd)

    _, cache = forward_propagation(X, parameters)
    grads = solutions["backward_propagation_with_regularization"](X, Y, cache, lambd)
    for name, value in parameters.items():
        assert relative_error(grads["d" + name], numeric_gradient(cost, value)) < 1e-7, name


@pytest.mark.parametrize("keep_prob", [0.5, 0.8, 1.0])
def test_dropout_backward_is_the_gradient_of_the_dropout_forward_under_a_fixed_mask(solutions, keep_prob):
    X, Y, parameters = random_case(7, [3, 6, 4, 1], 8)
    forward = solutions["forward_propagation_with_dropout"]

    def cost():
        np.random.seed(5)  # the same masks on every evaluation
        return compute_cost(forward(X, parameters, keep_prob)[0], Y)

    np.random.seed(5)
    _, cache = forward(X, parameters, keep_prob)
    grads = solutions["backward_propagation_with_dropout"](X, Y, cache, keep_prob)
    for name, value in parameters.items():
        assert relative_error(grads["d" + name], numeric_gradient(cost, value)) < 1e-7, name


def test_dropout_draws_new_masks_on_every_call(solutions):
    X, parameters = forward_propagation_with_dropout_test_case()
    np.random.seed(0)
    _, first = solutions["forward_propagation_with_dropout"](X, parameters, 0.5)
    _, second = solutions["forward_propagation_with_dropout"](X, parameters, 0.5)
    assert not (np.array_equal(first[1], second[1]) and np.array_equal(first[6], second[6]))


def test_public_tests_pass_the_reference(solutions, capsys):
    for name, function in solutions.items():
        getattr(public_tests, f"{name}_test")(function)
    assert capsys.readouterr().out.count("All tests passed.") == 4


def test_a_python_float_cost_is_accepted(solutions, capsys):
    public_tests.compute_cost_with_regularization_test(
        lambda *args: float(solutions["compute_cost_with_regularization"](*args))
    )
    assert "All tests passed." in capsys.readouterr().out


def fails_with(test, function, *fragments):
    with pytest.raises(AssertionError) as failure:
        test(function)
    for fragment in fragments:
        assert fragment in str(failure.value)


def test_cost_messages(solutions):
    def l2_over_m(A3, Y, parameters, lambd):
        return compute_cost(A3, Y) + lambd / Y.shape[1] * sum(
            np.sum(parameters[f"W{layer}"] ** 2) for layer in (1, 2, 3)
        )

    fails_with(public_tests.compute_cost_with_regularization_test, l2_over_m, "the cost is", "lambd/(2m)")
    fails_with(
        public_tests.compute_cost_with_regularization_test,
        lambda *args: np.array([[1.0]]),
        "should be a real number",
        "shape (1, 1)",
    )


def test_gradient_messages_name_the_key(solutions):
    reference = solutions["backward_propagation_with_regularization"]

    def extra_key(*args):
        return {**reference(*args), "dA3": 0}

    def missing_key(*args):
        grads = reference(*args)
        del grads["db2"]
        return grads

    def unregularized_dW2(X, Y, cache, lambd):
        grads = reference(X, Y, cache, lambd)
        grads["dW2"] = grads["dW2"] - lambd / X.shape[1] * cache[6]
        return grads

    test = public_tests.backward_propagation_with_regularization_test
    fails_with(test, extra_key, "unexpected ['dA3']")
    fails_with(test, missing_key, "missing ['db2']")
    fails_with(test, unregularized_dW2, "dW2 is wrong", "largest error", "dW2 has no regularization term")


def test_dropout_messages(solutions):
    forward, backward = solutions["forward_propagation_with_dropout"], solutions["backward_propagation_with_dropout"]

    def unscaled(X, parameters, keep_prob):
        A3, cache = forward(X, parameters, keep_prob)
        return A3, cache[:2] + (cache[2] * keep_prob,) + cache[3:]

    def in_place(X, parameters, keep_prob):
        parameters["W1"] *= 1.0
        parameters["W1"][0, 0] += 1
        return forward(X, parameters, keep_prob)

    def unmasked(X, Y, cache, keep_prob):
        ones = tuple(np.ones_like(c) if i in (1, 6) else c for i, c in enumerate(cache))
        return backward(X, Y, ones, keep_prob)

    fails_with(public_tests.forward_propagation_with_dropout_test, unscaled, "not divided by keep_prob")
    fails_with(public_tests.forward_propagation_with_dropout_test, in_place, "argument 2 was modified")
    fails_with(public_tests.backward_propagation_with_dropout_test, unmasked, "dA2 is not masked with D2")


def test_answers_copied_from_the_public_test_are_named_on_other_inputs(solutions):
    X, Y, parameters = random_case(0, [3, 4, 2, 1], 6)
    A3, _ = forward_propagation(X, parameters)
    expected = solutions["compute_cost_with_regularization"](A3, Y, parameters, 0.2)
    with pytest.raises(AssertionError, match="only reproduces the public example"):
        public_tests.check_cost(lambda *args: 1.7864859451590758, A3, Y, parameters, 0.2, expected)


def test_dropout_statistics_catch_what_one_small_case_cannot(solutions):
    forward = solutions["forward_propagation_with_dropout"]

    def one_mask_for_all_examples(X, parameters, keep_prob):
        A3, cache = forward(X, parameters, keep_prob)
        Z1, D1, A1 = cache[:3]
        D1 = np.tile(D1[:, :1], (1, X.shape[1]))
        A1 = relu(Z1) * D1 / keep_prob
        return A3, (Z1, D1, A1) + cache[3:]

    def seeding_inside(X, parameters, keep_prob):
        np.random.seed(3)
        return forward(X, parameters, keep_prob)

    with pytest.raises(AssertionError, match="every example gets the same mask D1"):
        public_tests.check_dropout_statistics(one_mask_for_all_examples, 0.7)
    with pytest.raises(AssertionError, match="D1 is the same on every call"):
        public_tests.check_dropout_statistics(seeding_inside, 0.7)
    public_tests.check_dropout_statistics(forward, 0.25)
    public_tests.check_dropout_statistics(forward, 1.0)


def test_a_shape_clash_inside_the_function_is_explained(solutions):
    backward = solutions["backward_propagation_with_dropout"]

    def other_layers_mask(X, Y, cache, keep_prob):
        return backward(X, Y, cache[:1] + (cache[6],) + cache[2:], keep_prob)

    fails_with(
        public_tests.backward_propagation_with_dropout_test,
        other_layers_mask,
        "operands could not be broadcast",
        "dA1 with D1, dA2 with D2",
    )


def test_fixtures_are_seeded():
    for case in (
        compute_cost_with_regularization_test_case,
        backward_propagation_with_regularization_test_case,
        forward_propagation_with_dropout_test_case,
        backward_propagation_with_dropout_test_case,
    ):
        first, second = case(), case()
        assert repr(first) == repr(second), case.__name__
    assert DROPOUT_BACKWARD_KEEP_PROB == 0.8
