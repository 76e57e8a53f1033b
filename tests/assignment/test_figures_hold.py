"""The training figures the notebook promises a student hold on any machine, not just on ours.

Thirty thousand steps of gradient descent can amplify the last-bit differences between CPUs' numeric
kernels until the final accuracy changes. So each training cell whose output the text quotes is rerun
with its initial weights nudged by about 1e-12 (relative), once with this machine's numeric kernels and
once with others (another OpenBLAS core, numpy's SIMD loops switched off), and every quoted figure must
come out the same at the precision it is quoted. A setting that is chaotic must be caught: the last test
shows the check failing on the dropout run at the learning rate the notebook once used.
"""

import json
import platform
import re

import nbformat
import numpy as np
import pytest

from tests import notebooks

pytestmark = pytest.mark.slow

NUDGE = 1e-12
# Replaces the helper that model() calls: the same seeded weights, each times (1 + NUDGE * noise).
NUDGED_INITIALIZATION = """
import reg_utils

def initialize_parameters(layer_dims, _seeded=reg_utils.initialize_parameters, _noise=np.random.RandomState({seed})):
    parameters = _seeded(layer_dims)
    for name in [name for name in parameters if name.startswith("W")]:
        parameters[name] = parameters[name] * (1 + {nudge} * _noise.standard_normal(parameters[name].shape))
    return parameters
"""
# The chaotic setting that the check must catch: the dropout run at model()'s default learning rate.
CHAOTIC_RUN = """
parameters = model(train_X, train_Y, keep_prob=0.86, learning_rate=0.3)
predictions_train = predict(train_X, train_Y, parameters)
predictions_test = predict(test_X, test_Y, parameters)
"""


def other_numeric_kernels() -> dict:
    """Environment that makes numpy and OpenBLAS compute with other kernels than they pick here."""
    simd = np.show_config(mode="dicts")["SIMD Extensions"]
    env = {"NPY_DISABLE_CPU_FEATURES": " ".join(simd.get("found", []))}
    if platform.machine() == "x86_64":
        env["OPENBLAS_CORETYPE"] = "Sandybridge"  # no FMA: products and sums rounded apart
    return env


def nudged_run(seed: int, env: dict):
    """The notebook up to its conclusions, with nudged initial weights, then the chaotic run."""
    nb = nbformat.read(notebooks.SOURCE_NOTEBOOK, as_version=4)
    end = next(i for i, cell in enumerate(nb.cells) if cell.source.startswith("## 8 - "))
    imports = next(i for i, cell in enumerate(nb.cells) if "from reg_utils import" in cell.source)
    nudge = nbformat.v4.new_code_cell(NUDGED_INITIALIZATION.format(seed=seed, nudge=NUDGE))
    nb.cells = [*nb.cells[: imports + 1], nudge, *nb.cells[imports + 1 : end], nbformat.v4.new_code_cell(CHAOTIC_RUN)]
    return notebooks.run(nb, notebooks.SOURCE_NOTEBOOK.parent, env=env)


@pytest.fixture(scope="session")
def nudged_runs():
    return {
        "nudged": nudged_run(seed=1, env={}),
        "nudged, other kernels": nudged_run(seed=2, env=other_numeric_kernels()),
    }


def holds_at_quoted_precision(got: str, quoted: str) -> bool:
    """Same text, and each printed number is within half a unit of its quoted one's last decimal."""
    got_numbers, quoted_numbers = notebooks.NUMBER.findall(got), notebooks.NUMBER.findall(quoted)
    same_words = notebooks.NUMBER.sub("#", got).split() == notebooks.NUMBER.sub("#", quoted).split()
    return (
        same_words
        and len(got_numbers) == len(quoted_numbers)
        and all(abs(float(g) - float(q)) < 0.5 * 10.0 ** -decimals(q) for g, q in zip(got_numbers, quoted_numbers))
    )


def decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def quoted_training_outputs(nb):
    return [(cell, quoted) for cell, quoted in notebooks.expected_outputs(nb) if "Accuracy:" in quoted]


def test_the_three_training_runs_are_quoted():
    nb = nbformat.read(notebooks.SOURCE_NOTEBOOK, as_version=4)
    assert len(quoted_training_outputs(nb)) == 3


@pytest.mark.parametrize("run", ["nudged", "nudged, other kernels"])
def test_every_quoted_training_figure_holds(nudged_runs, run):
    pairs = quoted_training_outputs(nudged_runs[run])
    assert len(pairs) == 3
    for cell, quoted in pairs:
        got = notebooks.stdout(cell)
        assert holds_at_quoted_precision(got, quoted), f"{cell.source.splitlines()[0]}\n{got}\nquoted:\n{quoted}"


@pytest.mark.parametrize("run", ["nudged", "nudged, other kernels"])
def test_the_conclusions_table_holds(nudged_runs, run):
    nb = nudged_runs[run]
    table = next(cell.source for cell in nb.cells if cell.source.startswith("## 7 - Conclusions"))
    quoted = [(float(train), float(test)) for train, test in re.findall(r"\| ([\d.]+)% \| ([\d.]+)% \|", table)]
    printed = [notebooks.accuracies(cell) for cell, _ in quoted_training_outputs(nb)]
    assert quoted == [(round(100 * train, 1), round(100 * test, 1)) for train, test in printed]


def test_the_check_catches_a_chaotic_setting(nudged_runs):
    """At learning rate 0.3 the dropout run's figures depend on the last bits: one run's output, quoted,
    does not hold in the other."""
    chaotic = [notebooks.stdout(run.cells[-1]) for run in nudged_runs.values()]
    assert chaotic[0].count("Accuracy:") == 2, chaotic[0]
    assert not holds_at_quoted_precision(chaotic[1], chaotic[0]), json.dumps(chaotic)


def test_the_check_reads_precision_from_the_quote():
    assert holds_at_quoted_precision("Cost: 0.2479871457\nAccuracy: 0.925", "Cost: 0.247987\nAccuracy: 0.925")
    assert not holds_at_quoted_precision("Cost: 0.2479880\nAccuracy: 0.925", "Cost: 0.247987\nAccuracy: 0.925")
    assert not holds_at_quoted_precision("Accuracy: 0.935", "Accuracy: 0.93")
    assert not holds_at_quoted_precision("Accuracy: 0.93", "Loss: 0.93")
