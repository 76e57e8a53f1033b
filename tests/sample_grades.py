"""What grading must give each student of the sample class (course/build/sample_class.py builds them)."""

from public_tests import GRADED_FUNCTIONS

POINTS_PER_EXERCISE = 10  # each test cell's points in the source notebook


def points_losing(lost=(), partly=None):
    """Points per exercise for a student who loses exactly the exercises in `lost`, and earns only the
    points `partly` gives ({exercise: points}) on the exercises it names (partial credit)."""
    points = {name: 0 if name in lost else POINTS_PER_EXERCISE for name in GRADED_FUNCTIONS}
    return points | (partly or {})


# What grading must give each student. None: the file cannot be read, so it is reported and scores 0.
EXPECTED_POINTS = {
    "full-marks": points_losing(),
    "untouched": points_losing(lost=GRADED_FUNCTIONS),
    "half-missing-in-cost": points_losing(lost=["compute_cost_with_regularization"]),
    "regularized-biases": points_losing(lost=["backward_propagation_with_regularization"]),
    "unscaled-dropout": points_losing(partly={"forward_propagation_with_dropout": 5}),  # layer 1's part, A1
    "mask-on-activations": points_losing(lost=["backward_propagation_with_dropout"]),
    "raises-in-function": points_losing(lost=["backward_propagation_with_regularization"]),
    "infinite-loop": points_losing(lost=["backward_propagation_with_dropout"]),  # the per-cell timeout stops it
    "not-json": None,
    "deleted-test-cell": points_losing(),  # the grader restores the deleted test cell from the source
    "full-marks-zh": points_losing(),  # Chinese-edition twins: graded as their English twin
    "unscaled-dropout-zh": points_losing(partly={"forward_propagation_with_dropout": 5}),
}
