"""The mutation check: are the four exercises' tests exact judges?

CATALOGUE lists wrong implementations of the graded functions, each a real student mistake,
and correct ones written in other ways. Each entry is a submission built from the release
notebook by course.build.sample_class (the source's solutions, changed by exact-once edits), and all
of them are graded through the real autograde path, course.grader.autograde.grade_submission.

A mistake is caught when its exercise loses its points and the other exercises keep theirs. It is
named when the failure message in its test cell carries a hint with the entry's words, and named
wrongly when it carries a hint without them: a wrong diagnosis misleads more than none. A correct
variant must get full marks.

    python -m tests.mutations [--workers N]

prints the score and every miss, and exits with status 1 if there is a miss.
"""

import argparse
import re
import sys
import time
from dataclasses import dataclass

import nbformat

from course.build.package import assignment_package
from course.build.sample_class import Edit, solution_blocks, submission
from course.fanout.pool import WorkerPool
from course.grader.job import GradingJob
from course.grader.parts import configured_points
from course.layout import ASSIGNMENT, Stage
from public_tests import GRADED_FUNCTIONS
from tests import COURSE, COURSE_ROOT
from tests.notebooks import failed_test_cells
from tests.sample_grades import POINTS_PER_EXERCISE

COST, L2_BACKWARD, DROPOUT_FORWARD, DROPOUT_BACKWARD = GRADED_FUNCTIONS
# The layer each solution block of a function is about, in block order.
BLOCK_LAYERS = {L2_BACKWARD: (3, 2, 1), DROPOUT_FORWARD: (1, 2), DROPOUT_BACKWARD: (2, 1)}
CELL_TIMEOUT = 20  # a training cell takes about 3 s
NAMED_AT_LEAST = 0.9  # of the mistakes; the others may only be those no hint can name honestly


@dataclass(frozen=True)
class Mutant:
    """One catalogue entry: the reference solutions changed by `edits`."""

    name: str
    exercise: str | None  # the graded function the edits break; None for a correct variant
    edits: tuple
    message: str = ""  # words the hint in the failure message must contain: the mistake, named
    wrong: tuple = ()  # the parts of its exercise it gets wrong (course/grader/parts.py); () for all of them


def every_layer(function, old, new):
    """The same edit in each of the function's solution blocks, "{layer}" standing for the block's layer."""
    return tuple(
        Edit(function, old.replace("{layer}", str(layer)), new.replace("{layer}", str(layer)), block=block)
        for block, layer in enumerate(BLOCK_LAYERS[function])
    )


def mistake(name, function, message, *edits, wrong=()):
    return Mutant(name, function, edits, message, wrong)


def correct(name, *edits):
    return Mutant(name, None, edits)


SQUARED_WEIGHTS = "np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3))"
MASK_AND_SCALE = "A{layer} = A{layer} * D{layer}\n    A{layer} = A{layer} / keep_prob"
GRADIENT_MASK_AND_SCALE = "dA{layer} = dA{layer} * D{layer}\n    dA{layer} = dA{layer} / keep_prob"
NEW_MASK = "np.random.rand(A{layer}.shape[0], A{layer}.shape[1])"
DRAW_AND_THRESHOLD = f"D{{layer}} = {NEW_MASK}\n    D{{layer}} = (D{{layer}} < keep_prob).astype(int)"
PUBLIC_DW3 = "np.array([[-1.7769134664009532, -0.11832878980982073, -0.09397445831715466]])"
PUBLIC_A3 = (
    "np.array([[0.36974720617815354, 0.00305175813464977, 0.0456509933734419,"
    " 0.4968338925883705, 0.36974720617815354]])"
)
PUBLIC_DA1 = (
    "np.array([[0.3317920272537309, 0.538529194550959, 0.0, 0.0, -0.20773983471190938], "
    "[0.5948262468453296, 0.9654580981429631, 0.0, 0.0, 0.0]])"
)
HARD_CODED = "only reproduces the public example"
M_FIXED = "m is fixed at 5"
MASK_SHAPES = "D1 like A1, D2 like A2"

CATALOGUE = [
    # Exercise 1: the L2 cost
    mistake(
        "cost-lambd-over-m", COST, "the cost needs lambd/(2m)", Edit(COST, "lambd / (2 * m)", "lambd / m", block=0)
    ),
    mistake("cost-no-1-over-m", COST, "missing the 1/m factor", Edit(COST, "lambd / (2 * m)", "lambd / 2", block=0)),
    mistake(
        "cost-m-from-the-wrong-axis",
        COST,
        "m is not the number of examples, Y.shape[1]",
        Edit(COST, "m = Y.shape[1]", "m = Y.shape[0]"),
    ),
    mistake("cost-m-hard-coded", COST, M_FIXED, Edit(COST, "m = Y.shape[1]", "m = 5")),
    mistake(
        "cost-lambd-hard-coded",
        COST,
        "does not change with lambd",
        Edit(COST, "lambd / (2 * m)", "0.1 / (2 * m)", block=0),
    ),
    mistake("cost-W3-left-out", COST, "the L2 term leaves out W3", Edit(COST, " + np.sum(np.square(W3))", "", block=0)),
    mistake(
        "cost-biases-included",
        COST,
        "the L2 term includes the biases",
        Edit(
            COST,
            "np.sum(np.square(W3))\n",
            'np.sum(np.square(W3))\n    squared_weights += np.sum(np.square(parameters["b1"])) '
            '+ np.sum(np.square(parameters["b2"])) + np.sum(np.square(parameters["b3"]))\n',
            block=0,
        ),
    ),
    mistake(
        "cost-weights-not-squared",
        COST,
        "the weights are not squared",
        Edit(COST, SQUARED_WEIGHTS, "np.sum(W1) + np.sum(W2) + np.sum(W3)", block=0),
    ),
    mistake(
        "cost-mean-of-squares",
        COST,
        "averages the squares",
        Edit(
            COST, SQUARED_WEIGHTS, "np.mean(np.square(W1)) + np.mean(np.square(W2)) + np.mean(np.square(W3))", block=0
        ),
    ),
    mistake(
        "cost-square-of-the-sum",
        COST,
        "squares the sum",
        Edit(COST, SQUARED_WEIGHTS, "np.square(np.sum(W1)) + np.square(np.sum(W2)) + np.square(np.sum(W3))", block=0),
    ),
    mistake(
        "cost-l1-instead-of-l2",
        COST,
        "L1 regularization",
        Edit(COST, SQUARED_WEIGHTS, "np.sum(np.abs(W1)) + np.sum(np.abs(W2)) + np.sum(np.abs(W3))", block=0),
    ),
    mistake(
        "cost-norm-not-squared",
        COST,
        "np.linalg.norm(W) is not squared",
        Edit(COST, SQUARED_WEIGHTS, "np.linalg.norm(W1) + np.linalg.norm(W2) + np.linalg.norm(W3)", block=0),
    ),
    mistake(
        "cost-l2-term-alone",
        COST,
        "the cost is the L2 term alone",
        Edit(COST, "cost = cross_entropy_cost + L2_regularization_cost", "cost = L2_regularization_cost"),
    ),
    mistake(
        "cost-l2-term-subtracted",
        COST,
        "the L2 term is subtracted",
        Edit(COST, "cross_entropy_cost + L2_regularization_cost", "cross_entropy_cost - L2_regularization_cost"),
    ),
    mistake(
        "cost-delegated-to-compute-cost",
        COST,
        "the L2 term is missing",
        Edit(COST, "return cost", "return compute_cost(A3, Y)"),
    ),
    mistake("cost-hard-coded", COST, HARD_CODED, Edit(COST, "return cost", "return 1.7864859451590758")),
    mistake(
        "cost-only-W1", COST, "the L2 term has only W1", Edit(COST, SQUARED_WEIGHTS, "np.sum(np.square(W1))", block=0)
    ),
    mistake(
        "cost-mean-in-place-of-1-over-m",
        COST,
        "averages the squares with np.mean instead of",
        Edit(
            COST,
            "lambd / (2 * m) * squared_weights",
            "lambd / 2 * (np.mean(np.square(W1)) + np.mean(np.square(W2)) + np.mean(np.square(W3)))",
            block=0,
        ),
    ),
    mistake(
        "cost-mean-of-all-weights",
        COST,
        "divides by the number of weights",
        Edit(
            COST,
            "lambd / (2 * m) * squared_weights",
            "lambd / 2 * squared_weights / (W1.size + W2.size + W3.size)",
            block=0,
        ),
    ),
    # Exercise 2: the gradients of the L2 cost
    mistake(
        "l2-gradient-no-1-over-m",
        L2_BACKWARD,
        "regularization term is missing the 1/m factor",
        *every_layer(L2_BACKWARD, "lambd / m * W{layer}", "lambd * W{layer}"),
    ),
    mistake(
        "l2-gradient-data-term-no-1-over-m",
        L2_BACKWARD,
        "data term is missing the 1/m factor",
        *every_layer(L2_BACKWARD, "1. / m * np.dot", "np.dot"),
    ),
    mistake(
        "l2-gradient-extra-half",
        L2_BACKWARD,
        "regularization term has an extra 1/2",
        *every_layer(L2_BACKWARD, "lambd / m * W{layer}", "lambd / (2 * m) * W{layer}"),
    ),
    mistake(
        "l2-gradient-doubled",
        L2_BACKWARD,
        "regularization term is twice too large",
        *every_layer(L2_BACKWARD, "lambd / m * W{layer}", "2 * lambd / m * W{layer}"),
    ),
    mistake(
        "l2-gradient-only-dW3",
        L2_BACKWARD,
        "dW2 has no regularization term",
        *every_layer(L2_BACKWARD, " + lambd / m * W{layer}", "")[1:],
        wrong=("dW2", "dW1"),
    ),
    mistake(
        "l2-gradient-wrong-sign",
        L2_BACKWARD,
        "regularization term has the wrong sign",
        *every_layer(L2_BACKWARD, "+ lambd / m", "- lambd / m"),
    ),
    mistake(
        "l2-gradient-W-squared",
        L2_BACKWARD,
        "regularization term uses W3 squared",
        *every_layer(L2_BACKWARD, "* W{layer}", "* W{layer} ** 2"),
    ),
    mistake(
        "l2-gradient-sum-of-W",
        L2_BACKWARD,
        "adds one number, a sum over W3, to every entry",
        *every_layer(L2_BACKWARD, "lambd / m * W{layer}", "lambd / m * np.sum(W{layer})"),
    ),
    mistake(
        "l2-gradient-other-layers-W",
        L2_BACKWARD,
        "does each dW get the term of its own layer",
        Edit(L2_BACKWARD, "lambd / m * W2", "lambd / m * W1", block=1),
    ),
    mistake(
        "l2-gradient-lambd-hard-coded",
        L2_BACKWARD,
        "does not change with lambd",
        *every_layer(L2_BACKWARD, "lambd / m", "0.7 / m"),
    ),
    mistake("l2-gradient-m-hard-coded", L2_BACKWARD, M_FIXED, Edit(L2_BACKWARD, "m = X.shape[1]", "m = 5")),
    mistake(
        "l2-gradient-m-from-the-features",
        L2_BACKWARD,
        "m is X.shape[0], the number of features",
        Edit(L2_BACKWARD, "m = X.shape[1]", "m = X.shape[0]"),
    ),
    mistake(
        "l2-gradient-bias-regularized",
        L2_BACKWARD,
        "biases are not regularized",
        Edit(
            L2_BACKWARD, "np.sum(dZ2, axis=1, keepdims=True)\n", "np.sum(dZ2, axis=1, keepdims=True) + lambd / m * b2\n"
        ),
        wrong=("dW2",),
    ),
    mistake(
        "l2-gradient-not-regularized",
        L2_BACKWARD,
        "no weight gradient has the regularization term",
        *every_layer(L2_BACKWARD, " + lambd / m * W{layer}", ""),
    ),
    mistake(
        "l2-gradient-delegated-to-backward-propagation",
        L2_BACKWARD,
        "no weight gradient has the regularization term",
        Edit(L2_BACKWARD, "return gradients", "return backward_propagation(X, Y, cache)"),
    ),
    mistake(
        "l2-gradient-hard-coded",
        L2_BACKWARD,
        HARD_CODED,
        Edit(L2_BACKWARD, "1. / m * np.dot(dZ3, A2.T) + lambd / m * W3", PUBLIC_DW3, block=0),
        wrong=("dW3",),
    ),
    # Exercise 3: dropout, forward
    mistake(
        "dropout-not-scaled",
        DROPOUT_FORWARD,
        "activations were not divided by keep_prob",
        *every_layer(DROPOUT_FORWARD, "\n    A{layer} = A{layer} / keep_prob", ""),
    ),
    mistake(
        "dropout-times-keep-prob",
        DROPOUT_FORWARD,
        "A1 was multiplied by keep_prob",
        *every_layer(DROPOUT_FORWARD, "A{layer} / keep_prob", "A{layer} * keep_prob"),
    ),
    mistake(
        "dropout-not-masked",
        DROPOUT_FORWARD,
        "multiply A1 by D1",
        *every_layer(DROPOUT_FORWARD, "A{layer} = A{layer} * D{layer}\n    ", ""),
    ),
    mistake(
        "dropout-mask-not-thresholded",
        DROPOUT_FORWARD,
        "compare the random numbers with keep_prob",
        *every_layer(DROPOUT_FORWARD, "\n    D{layer} = (D{layer} < keep_prob).astype(int)", ""),
    ),
    mistake(
        "dropout-comparison-inverted",
        DROPOUT_FORWARD,
        "not of dropping it",
        *every_layer(DROPOUT_FORWARD, "D{layer} < keep_prob", "D{layer} > keep_prob"),
    ),
    mistake(
        "dropout-keep-prob-as-drop-prob",
        DROPOUT_FORWARD,
        "a number other than keep_prob",
        *every_layer(DROPOUT_FORWARD, "D{layer} < keep_prob", "D{layer} < 1 - keep_prob"),
    ),
    mistake(
        "dropout-keep-prob-hard-coded",
        DROPOUT_FORWARD,
        "does not change with keep_prob",
        *every_layer(DROPOUT_FORWARD, "D{layer} < keep_prob", "D{layer} < 0.5"),
        *every_layer(DROPOUT_FORWARD, "A{layer} / keep_prob", "A{layer} / 0.5"),
    ),
    mistake(
        "dropout-keep-prob-of-the-public-test",
        DROPOUT_FORWARD,
        "does not change with keep_prob",
        *every_layer(DROPOUT_FORWARD, "D{layer} < keep_prob", "D{layer} < 0.7"),
        *every_layer(DROPOUT_FORWARD, "A{layer} / keep_prob", "A{layer} / 0.7"),
    ),
    mistake(
        "dropout-mask-binomial-drop-prob",
        DROPOUT_FORWARD,
        "not of dropping it",
        *every_layer(
            DROPOUT_FORWARD, DRAW_AND_THRESHOLD, "D{layer} = np.random.binomial(1, 1 - keep_prob, A{layer}.shape)"
        ),
    ),
    mistake(
        "dropout-mask-binomial-one-half",
        DROPOUT_FORWARD,
        "keep each unit with probability keep_prob",
        *every_layer(DROPOUT_FORWARD, DRAW_AND_THRESHOLD, "D{layer} = np.random.binomial(1, 0.5, A{layer}.shape)"),
    ),
    mistake(
        "dropout-randn",
        DROPOUT_FORWARD,
        "drawn with np.random.randn",
        *every_layer(DROPOUT_FORWARD, "np.random.rand(", "np.random.randn("),
    ),
    mistake(
        "dropout-on-the-output",
        DROPOUT_FORWARD,
        "the output layer must not be dropped out",
        Edit(
            DROPOUT_FORWARD,
            "    A3 = sigmoid(Z3)\n",
            "    A3 = sigmoid(Z3)\n    D3 = (np.random.rand(A3.shape[0], A3.shape[1]) < keep_prob).astype(int)\n"
            "    A3 = A3 * D3 / keep_prob\n",
        ),
        wrong=("A2",),
    ),
    mistake(
        "dropout-on-the-input",
        DROPOUT_FORWARD,
        "the input X must not be dropped out",
        Edit(
            DROPOUT_FORWARD,
            "    Z1 = np.dot(W1, X) + b1\n",
            "    X = X * (np.random.rand(X.shape[0], X.shape[1]) < keep_prob) / keep_prob\n"
            "    Z1 = np.dot(W1, X) + b1\n",
        ),
    ),
    mistake(
        "dropout-layer-2-forgotten",
        DROPOUT_FORWARD,
        "mask A2 with D2",
        Edit(DROPOUT_FORWARD, "\n    " + MASK_AND_SCALE.replace("{layer}", "2"), "", block=1),
        wrong=("A2",),
    ),
    mistake(
        "dropout-layer-1-mask-on-layer-2",
        DROPOUT_FORWARD,
        MASK_SHAPES,
        Edit(DROPOUT_FORWARD, "A2 = A2 * D2", "A2 = A2 * D1", block=1),
    ),
    mistake(
        "dropout-mask-shared-by-examples",
        DROPOUT_FORWARD,
        "one mask per unit is shared by all examples",
        *every_layer(DROPOUT_FORWARD, "A{layer}.shape[1])", "1)"),
    ),
    mistake(
        "dropout-mask-repeated-over-examples",
        DROPOUT_FORWARD,
        "one mask per unit is shared by all examples",
        *every_layer(
            DROPOUT_FORWARD, NEW_MASK, "np.repeat(np.random.rand(A{layer}.shape[0], 1), A{layer}.shape[1], axis=1)"
        ),
    ),
    mistake(
        "dropout-mask-shared-by-units",
        DROPOUT_FORWARD,
        "one mask per example is shared by all units",
        *every_layer(DROPOUT_FORWARD, "A{layer}.shape[0], A{layer}.shape[1])", "1, A{layer}.shape[1])"),
    ),
    mistake(
        "dropout-mask-repeated-over-units",
        DROPOUT_FORWARD,
        "one mask per example is shared by all units",
        *every_layer(
            DROPOUT_FORWARD, NEW_MASK, "np.repeat(np.random.rand(1, A{layer}.shape[1]), A{layer}.shape[0], axis=0)"
        ),
    ),
    mistake(
        "dropout-one-number-per-layer",
        DROPOUT_FORWARD,
        "one random number masks the whole layer",
        *every_layer(DROPOUT_FORWARD, NEW_MASK, "np.random.rand(1)"),
    ),
    mistake(
        "dropout-reseeded-between-layers",
        DROPOUT_FORWARD,
        "np.random.seed is called inside the function",
        Edit(DROPOUT_FORWARD, "D2 = np.random.rand", "np.random.seed(1)\n    D2 = np.random.rand", block=1),
        wrong=("A2",),
    ),
    mistake(
        "dropout-delegated-to-forward-propagation",
        DROPOUT_FORWARD,
        "this is what forward_propagation returns",
        Edit(DROPOUT_FORWARD, "return A3, cache", "return forward_propagation(X, parameters)"),
    ),
    mistake(
        "dropout-hard-coded",
        DROPOUT_FORWARD,
        HARD_CODED,
        Edit(DROPOUT_FORWARD, "return A3, cache", f"return {PUBLIC_A3}, cache"),
        wrong=("A2",),
    ),
    # Exercise 4: dropout, backward
    mistake(
        "dropout-gradient-not-masked",
        DROPOUT_BACKWARD,
        "dA2 is not masked with D2",
        *every_layer(DROPOUT_BACKWARD, "dA{layer} = dA{layer} * D{layer}\n    ", ""),
    ),
    mistake(
        "dropout-gradient-layer-1-forgotten",
        DROPOUT_BACKWARD,
        "dA1 is not masked with D1",
        Edit(DROPOUT_BACKWARD, GRADIENT_MASK_AND_SCALE.replace("{layer}", "1"), "pass", block=1),
        wrong=("dA1",),
    ),
    mistake(
        "dropout-gradient-not-scaled",
        DROPOUT_BACKWARD,
        "dA2 was not divided by keep_prob",
        *every_layer(DROPOUT_BACKWARD, "\n    dA{layer} = dA{layer} / keep_prob", ""),
    ),
    mistake(
        "dropout-gradient-times-keep-prob",
        DROPOUT_BACKWARD,
        "dA2 was multiplied by keep_prob",
        *every_layer(DROPOUT_BACKWARD, "dA{layer} / keep_prob", "dA{layer} * keep_prob"),
    ),
    mistake(
        "dropout-gradient-scaled-by-drop-prob",
        DROPOUT_BACKWARD,
        "dA2 was divided by 1 - keep_prob",
        *every_layer(DROPOUT_BACKWARD, "dA{layer} / keep_prob", "dA{layer} / (1 - keep_prob)"),
    ),
    mistake(
        "dropout-gradient-keep-prob-hard-coded",
        DROPOUT_BACKWARD,
        "does not change with keep_prob",
        *every_layer(DROPOUT_BACKWARD, "dA{layer} / keep_prob", "dA{layer} / 0.8"),
    ),
    mistake(
        "dropout-gradient-m-hard-coded", DROPOUT_BACKWARD, M_FIXED, Edit(DROPOUT_BACKWARD, "m = X.shape[1]", "m = 5")
    ),
    mistake(
        "dropout-gradient-mask-on-activations",
        DROPOUT_BACKWARD,
        "the mask goes on the gradient dA2, not on A2",
        *every_layer(DROPOUT_BACKWARD, GRADIENT_MASK_AND_SCALE, "A{layer} = A{layer} * D{layer} / keep_prob"),
    ),
    mistake(
        "dropout-gradient-fresh-mask",
        DROPOUT_BACKWARD,
        "dA2 is masked, but not with D2",
        *every_layer(
            DROPOUT_BACKWARD,
            "dA{layer} * D{layer}",
            "dA{layer} * (np.random.rand(dA{layer}.shape[0], dA{layer}.shape[1]) < keep_prob)",
        ),
    ),
    mistake(
        "dropout-gradient-mask-inverted",
        DROPOUT_BACKWARD,
        "the mask is the wrong way round",
        *every_layer(DROPOUT_BACKWARD, "dA{layer} * D{layer}", "dA{layer} * (1 - D{layer})"),
    ),
    mistake(
        "dropout-gradient-scaled-twice",
        DROPOUT_BACKWARD,
        "dA2 was divided by keep_prob twice",
        *every_layer(DROPOUT_BACKWARD, "dA{layer} * D{layer}\n", "dA{layer} * D{layer} / keep_prob\n"),
    ),
    mistake(
        "dropout-gradient-other-layers-mask",
        DROPOUT_BACKWARD,
        "dA1 with D1, dA2 with D2",
        Edit(DROPOUT_BACKWARD, "dA1 * D1", "dA1 * D2", block=1),
    ),
    mistake(
        "dropout-gradient-masks-swapped",
        DROPOUT_BACKWARD,
        "dA1 with D1, dA2 with D2",
        Edit(DROPOUT_BACKWARD, "dA2 * D2", "dA2 * D1", block=0),
        Edit(DROPOUT_BACKWARD, "dA1 * D1", "dA1 * D2", block=1),
    ),
    mistake(
        "dropout-gradient-delegated-to-backward-propagation",
        DROPOUT_BACKWARD,
        "dA2 is not masked with D2",
        Edit(
            DROPOUT_BACKWARD,
            "return gradients",
            "return backward_propagation(X, Y, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3))",
        ),
    ),
    mistake(
        "dropout-gradient-hard-coded",
        DROPOUT_BACKWARD,
        HARD_CODED,
        Edit(DROPOUT_BACKWARD, '"dA1": dA1,', f'"dA1": {PUBLIC_DA1},'),
        wrong=("dA1",),
    ),
    # Correct, written differently
    correct(
        "cost-squared-norms",
        Edit(
            COST,
            SQUARED_WEIGHTS,
            "np.linalg.norm(W1) ** 2 + np.linalg.norm(W2) ** 2 + np.linalg.norm(W3) ** 2",
            block=0,
        ),
    ),
    correct(
        "cost-loop-python-float",
        Edit(
            COST,
            SQUARED_WEIGHTS,
            'sum(np.sum(parameters["W" + str(l)] * parameters["W" + str(l)]) for l in range(1, 4))',
            block=0,
        ),
        Edit(COST, "lambd / (2 * m) * squared_weights", "float(lambd * squared_weights / (2 * m))", block=0),
    ),
    correct(
        "cost-step-by-step-numpy-scalar",
        Edit(
            COST,
            "lambd / (2 * m) * squared_weights",
            "np.float64(lambd) * squared_weights\n    L2_regularization_cost = L2_regularization_cost / 2 / m",
            block=0,
        ),
    ),
    correct(
        "cost-dot-products",
        Edit(
            COST,
            SQUARED_WEIGHTS,
            "np.dot(W1.ravel(), W1.ravel()) + np.dot(W2.ravel(), W2.ravel()) + np.dot(W3.ravel(), W3.ravel())",
            block=0,
        ),
    ),
    correct(
        "l2-gradient-added-in-place",
        *every_layer(L2_BACKWARD, " + lambd / m * W{layer}", "\n    dW{layer} += lambd / m * W{layer}"),
    ),
    correct(
        "l2-gradient-factored",
        *every_layer(L2_BACKWARD, "1. / m * ", "("),
        *every_layer(L2_BACKWARD, " + lambd / m * W{layer}", " + lambd * W{layer}) / m"),
    ),
    correct(
        "l2-gradient-matmul-operator",
        Edit(L2_BACKWARD, "np.dot(dZ3, A2.T)", "dZ3 @ A2.T", block=0),
        Edit(L2_BACKWARD, "np.dot(dZ2, A1.T)", "dZ2 @ A1.T", block=1),
        Edit(L2_BACKWARD, "np.dot(dZ1, X.T)", "dZ1 @ X.T", block=2),
    ),
    correct(
        "dropout-bool-mask", *every_layer(DROPOUT_FORWARD, "(D{layer} < keep_prob).astype(int)", "D{layer} < keep_prob")
    ),
    correct(
        "dropout-float-mask-np-multiply",
        *every_layer(DROPOUT_FORWARD, ".astype(int)", ".astype(float)"),
        *every_layer(DROPOUT_FORWARD, "A{layer} * D{layer}", "np.multiply(A{layer}, D{layer})"),
    ),
    correct(
        "dropout-np-where",
        *every_layer(DROPOUT_FORWARD, MASK_AND_SCALE, "A{layer} = np.where(D{layer} == 1, A{layer} / keep_prob, 0)"),
    ),
    correct(
        "dropout-in-place",
        *every_layer(DROPOUT_FORWARD, MASK_AND_SCALE, "A{layer} *= D{layer}\n    A{layer} /= keep_prob"),
    ),
    correct(
        "dropout-mask-on-Z-before-relu",
        *every_layer(DROPOUT_FORWARD, MASK_AND_SCALE, "A{layer} = relu(Z{layer} * D{layer}) / keep_prob"),
    ),
    correct(
        "dropout-one-line-random-sample",
        *every_layer(DROPOUT_FORWARD, NEW_MASK, "np.random.random_sample(A{layer}.shape)"),
        *every_layer(DROPOUT_FORWARD, MASK_AND_SCALE, "A{layer} = A{layer} * D{layer} / keep_prob"),
    ),
    correct("dropout-shape-unpacked", *every_layer(DROPOUT_FORWARD, NEW_MASK, "np.random.rand(*A{layer}.shape)")),
    correct(
        "dropout-gradient-one-line",
        *every_layer(DROPOUT_BACKWARD, GRADIENT_MASK_AND_SCALE, "dA{layer} = dA{layer} * D{layer} / keep_prob"),
    ),
    correct(
        "dropout-gradient-np-where",
        *every_layer(
            DROPOUT_BACKWARD, GRADIENT_MASK_AND_SCALE, "dA{layer} = np.where(D{layer}, dA{layer} / keep_prob, 0)"
        ),
    ),
    correct(
        "dropout-gradient-in-place",
        *every_layer(DROPOUT_BACKWARD, GRADIENT_MASK_AND_SCALE, "dA{layer} *= D{layer}\n    dA{layer} /= keep_prob"),
    ),
    correct(
        "dropout-gradient-scaled-first-np-multiply",
        *every_layer(
            DROPOUT_BACKWARD, GRADIENT_MASK_AND_SCALE, "dA{layer} = np.multiply(dA{layer} / keep_prob, D{layer})"
        ),
    ),
    correct(
        "dropout-gradient-times-reciprocal",
        *every_layer(DROPOUT_BACKWARD, "dA{layer} / keep_prob", "dA{layer} * (1 / keep_prob)"),
    ),
]


def sample(catalogue=CATALOGUE) -> list[Mutant]:
    """The first and the last entry of each kind (the exercise broken and the parts it gets wrong; the
    correct variants are a kind too), in catalogue order: enough to show that real autograding reaches
    the verdicts the whole catalogue is judged to in-process (tests/quick_grading.py)."""
    kinds: dict[tuple, list[Mutant]] = {}
    for mutant in catalogue:
        kinds.setdefault((mutant.exercise, mutant.wrong), []).append(mutant)
    chosen = {mutant.name for group in kinds.values() for mutant in (group[0], group[-1])}
    return [mutant for mutant in catalogue if mutant.name in chosen]


def submissions(catalogue=CATALOGUE, assignment: str = ASSIGNMENT) -> dict[str, bytes]:
    """Each entry's notebook of the edition `assignment`, as a student would hand it in, minus the cells
    that train and plot the three models. A student may delete them (nbgrader restores only grade cells);
    they never touch a grade, and they are most of a notebook's running time."""
    release_nb = nbformat.read(COURSE.notebook(Stage.RELEASE, None, assignment), as_version=4)
    release_nb.cells = [
        cell
        for cell in release_nb.cells
        if not any(call in cell.source for call in ("model(train_X", "plot_decision_boundary("))
    ]
    blocks = solution_blocks(nbformat.read(COURSE.notebook(Stage.SOURCE, None, ASSIGNMENT), as_version=4))
    return {mutant.name: submission(release_nb, blocks, list(mutant.edits)) for mutant in catalogue}


@dataclass(frozen=True)
class Outcome:
    """What grading made of one entry: the points of each exercise and the errors in the test cell of the
    exercise the entry breaks; or why it could not be graded."""

    points: dict
    message: str = ""
    problem: str = ""
    parts: dict | None = None  # {exercise: {part: points}} where the parts' points are known


def grade(catalogue=CATALOGUE, workers=2, cell_timeout=CELL_TIMEOUT) -> dict:
    """Autograde every entry on `workers` processes; returns {name: Outcome}."""
    package = assignment_package(COURSE_ROOT, ASSIGNMENT)
    jobs = [GradingJob(name, data, package, cell_timeout=cell_timeout) for name, data in submissions(catalogue).items()]
    by_name = {mutant.name: mutant for mutant in catalogue}
    return {result.student: outcome(by_name[result.student], result) for result in WorkerPool(workers).grade_all(jobs)}


def outcome(mutant, result) -> Outcome:
    if result.status != "graded":
        return Outcome({}, problem=f"grading status {result.status}: {'; '.join(result.problems)}")
    points = {score.grade_id.removeprefix("test_"): score.points for score in result.scores}
    return Outcome(points, failure_message(result, mutant.exercise) if mutant.exercise else "")


def failure_message(result, exercise) -> str:
    """The errors in the exercise's test cell of the autograded notebook."""
    return failed_test_cells(nbformat.reads(result.notebook.decode("utf-8"), as_version=4)).get(f"test_{exercise}", "")


HINT = re.compile(r"^Hint: (.*)$", re.MULTILINE)


def deserved_parts(mutant) -> dict:
    """{exercise: {part: points}}: the entry loses the points of the parts it gets wrong, and only those."""
    points = configured_points(COURSE_ROOT, dict.fromkeys(GRADED_FUNCTIONS, POINTS_PER_EXERCISE))
    return {
        exercise: {
            part: 0 if exercise == mutant.exercise and (not mutant.wrong or part in mutant.wrong) else value
            for part, value in parts.items()
        }
        for exercise, parts in points.items()
    }


def deserved(mutant) -> dict:
    return {exercise: sum(parts.values()) for exercise, parts in deserved_parts(mutant).items()}


def caught(mutant, outcome) -> bool:
    """The entry's exercise lost exactly the points of its wrong parts, and no other exercise lost any."""
    return not outcome.problem and not misses_points(mutant, outcome)


def misses_points(mutant, outcome) -> list[str]:
    """Every exercise, and where they are known every part, whose points differ from what the entry deserves."""
    points, parts = deserved(mutant), deserved_parts(mutant)
    found = [
        f"{exercise} got {outcome.points.get(exercise, 0):g} points instead of {points[exercise]}"
        for exercise in GRADED_FUNCTIONS
        if outcome.points.get(exercise) != points[exercise]
    ]
    if outcome.parts is not None:
        found += [
            f"{exercise} part {part} got {outcome.parts[exercise].get(part, 0):g} points instead of {value}"
            for exercise, by_part in parts.items()
            for part, value in by_part.items()
            if outcome.parts[exercise].get(part) != value
        ]
    return found


def named(mutant, outcome) -> bool:
    """A hint in the failure message says the entry's words."""
    return bool(mutant.message) and any(mutant.message in hint for hint in HINT.findall(outcome.message))


def wrongly_named(mutant, outcome) -> bool:
    """A hint in the failure message does not say the entry's words: it names another mistake."""
    return any(not mutant.message or mutant.message not in hint for hint in HINT.findall(outcome.message))


def misses(mutant, outcome) -> list[str]:
    """What grading got wrong about this entry; empty when it judged it exactly."""
    if outcome.problem:
        return [outcome.problem]
    found = misses_points(mutant, outcome)
    if wrongly_named(mutant, outcome):
        found.append(f"named wrongly: the hint does not say {mutant.message!r}; the message is {outcome.message!r}")
    elif mutant.message and not named(mutant, outcome):
        found.append(f"not named: no hint says {mutant.message!r}; the message is {outcome.message!r}")
    return found


def report(outcomes, catalogue=CATALOGUE) -> tuple[list[str], bool]:
    """The score lines and every miss; and whether there was none and enough mistakes were named."""
    mistakes = [mutant for mutant in catalogue if mutant.exercise]
    variants = [mutant for mutant in catalogue if not mutant.exercise]
    missed = {mutant.name: misses(mutant, outcomes[mutant.name]) for mutant in catalogue}
    named_count = sum(named(m, outcomes[m.name]) for m in mistakes)
    lines = [
        f"mistakes caught: {sum(caught(m, outcomes[m.name]) for m in mistakes)}/{len(mistakes)}",
        f"named: {named_count}/{len(mistakes)}",
        f"wrongly named: {sum(wrongly_named(m, outcomes[m.name]) for m in mistakes)}",
        f"correct variants at full marks: {sum(not missed[m.name] for m in variants)}/{len(variants)}",
    ]
    lines += [f"MISS {name}: {problem}" for name, problems in missed.items() for problem in problems]
    enough = named_count >= NAMED_AT_LEAST * len(mistakes)
    if not enough:
        lines.append(f"FEWER THAN {NAMED_AT_LEAST:.0%} OF THE MISTAKES NAMED")
    return lines, enough and not any(missed.values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.mutations", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2, help="grading processes (default: 2)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(f"grading {len(CATALOGUE)} submissions on {args.workers} worker(s)...", flush=True)
    lines, clean = report(grade(workers=args.workers))
    print("\n".join(lines))
    print(f"({time.monotonic() - started:.0f} s)")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
