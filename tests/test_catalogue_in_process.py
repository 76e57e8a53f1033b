"""The mutation check's catalogue judged in this process (tests/quick_grading.py): the same verdicts as
real autograding, in seconds, so a change to public_tests.py's judges or planned calls shows here first."""

import pytest

from tests import mutations, quick_grading


@pytest.fixture(scope="module")
def outcomes():
    return quick_grading.grade()


@pytest.mark.parametrize("mutant", mutations.CATALOGUE, ids=lambda mutant: mutant.name)
def test_judged_exactly(outcomes, mutant):
    assert mutations.misses(mutant, outcomes[mutant.name]) == []


def test_the_score_is_clean(outcomes):
    lines, clean = mutations.report(outcomes)
    assert clean, lines
