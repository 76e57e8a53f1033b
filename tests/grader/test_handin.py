"""The records that carry a student's results from the kernel to the grader: faithful for what
functions return, inert and bounded for whatever else a kernel may leave in their place."""

import numpy as np
import pytest

import handin
from public_tests import check_cost, compute_cost_with_regularization_test
from tests.notebooks import reference_solutions


@pytest.fixture
def autograding(tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setattr(handin, "RECORDS", tmp_path / ".handin")
    return tmp_path / ".handin"


def replayed(folder):
    return {
        name: handin.Replay(name, [call for call in calls if call["function"] == name])
        for calls in handin.read_records(folder).values()
        for name in {call["function"] for call in calls}
    }


def test_values_travel_with_their_types(autograding):
    returned = (
        np.float64(1.5),
        np.arange(6, dtype=np.int32).reshape(2, 3),
        [True, None, "text", 3, 2.5],
        {"dW1": np.ones((2, 2)), 7: np.float32(2)},
        (x for x in ()),
        np.arange(12.0).reshape(3, 4).T,  # not contiguous in C order: a transposed view
        np.arange(10, dtype=">i4")[::3],  # strided, big-endian
        np.array([True, False]),
    )
    handin.recorded(lambda: returned, "f")()
    got = handin.Replay("f", handin.read_records(autograding)[0])()
    assert type(got[0]) is np.float64 and got[0] == 1.5
    assert got[1].dtype == np.int32 and np.array_equal(got[1], returned[1])
    assert got[2] == [True, None, "text", 3, 2.5] and type(got[2][3]) is int
    assert np.array_equal(got[3]["dW1"], np.ones((2, 2))) and type(got[3][7]) is np.float32
    assert type(got[4]).__name__ == "generator"
    for sent, received in zip(returned[5:], got[5:]):
        assert received.dtype == sent.dtype and np.array_equal(received, sent)


def test_an_exception_and_changed_arguments_are_replayed(autograding):
    def rude(parameters):
        parameters["W1"] *= 2
        raise ValueError("operands could not be broadcast together")

    parameters = {"W1": np.ones(3)}
    with pytest.raises(ValueError):
        handin.recorded(rude, "f")(parameters)
    fresh = {"W1": np.ones(3)}
    with pytest.raises(ValueError, match="broadcast"):
        handin.Replay("f", handin.read_records(autograding)[0])(fresh)
    assert np.array_equal(fresh["W1"], [2, 2, 2])


def test_the_grader_reaches_the_kernels_verdict_from_the_records(autograding):
    correct = reference_solutions()["compute_cost_with_regularization"]
    compute_cost_with_regularization_test(correct)
    compute_cost_with_regularization_test(replayed(autograding)["compute_cost_with_regularization"])

    wrong = lambda A3, Y, parameters, lambd: correct(A3, Y, parameters, 2 * lambd)  # noqa: E731
    for path in autograding.iterdir():
        path.unlink()
    with pytest.raises(AssertionError, match="lambd/m"):
        compute_cost_with_regularization_test(wrong)
    with pytest.raises(AssertionError, match="lambd/m"):
        compute_cost_with_regularization_test(replayed(autograding)["compute_cost_with_regularization"])


def test_a_test_that_was_not_recorded_fails(autograding):
    with pytest.raises(handin.JudgingError, match="a call the student's kernel did not make"):
        check_cost(
            handin.Replay("compute_cost_with_regularization", []), np.ones((1, 2)), np.ones((1, 2)), {}, 0.1, 0.0
        )


def test_outside_autograding_nothing_is_recorded(tmp_path, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(handin, "RECORDS", tmp_path / ".handin")
    target = reference_solutions()["compute_cost_with_regularization"]
    assert handin.recorded(target, "compute_cost_with_regularization") is target
    compute_cost_with_regularization_test(target)
    assert not (tmp_path / ".handin").exists()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 8 + b"{",
        b"garbage" * 10,
        handin.pack({"function": "f", "cell": 1, "returned": {"array": 0}}, []).replace(
            b'"arrays": []', b'"arrays": [["|O", [1], 0, 8]]'
        ),
        handin.pack({"function": "f", "cell": 1, "returned": {"array": 0}}, []).replace(
            b'"arrays": []', b'"arrays": [["<f8", [10000], 0, 80000]]'
        ),
        handin.pack({"function": "f", "cell": 1, "returned": {"eval": "1+1"}}, []),
    ],
)
def test_malformed_records_are_ignored(tmp_path, data):
    (tmp_path / "000000.call").write_bytes(data)
    assert handin.read_records(tmp_path) == {}


def test_results_too_large_are_refused(autograding, monkeypatch):
    monkeypatch.setattr(handin, "MAX_RECORD_BYTES", 1000)
    handin.recorded(lambda: np.zeros(1000), "f")()
    with pytest.raises(handin.JudgingError, match="too large"):
        handin.Replay("f", handin.read_records(autograding)[0])()
