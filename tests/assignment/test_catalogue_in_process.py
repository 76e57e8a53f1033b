"""The mutation check's catalogue judged in this process (tests/quick_grading.py): the same verdicts as
real autograding, in seconds, so a change to public_tests.py's judges or planned calls shows here first.
The Chinese edition is judged too: the same points, and each message the Chinese of the English one."""

import pytest

from course.grader.parts import PARTS
from course.layout import EDITIONS
from tests import mutations, quick_grading
from tests.translated import translated_error

CHINESE = EDITIONS[1]


@pytest.fixture(scope="module")
def outcomes():
    return quick_grading.grade()


@pytest.mark.parametrize("mutant", mutations.CATALOGUE, ids=lambda mutant: mutant.name)
def test_judged_exactly(outcomes, mutant):
    assert mutations.misses(mutant, outcomes[mutant.name]) == []


def test_the_parts_a_mistake_gets_wrong_are_parts_of_its_exercise():
    for mutant in mutations.CATALOGUE:
        assert set(mutant.wrong) <= set(PARTS.get(mutant.exercise, ())), mutant.name


def test_the_score_is_clean(outcomes):
    lines, clean = mutations.report(outcomes)
    assert clean, lines


@pytest.fixture(scope="module")
def chinese_outcomes():
    return quick_grading.grade(assignment=CHINESE.assignment)


@pytest.mark.parametrize("mutant", mutations.CATALOGUE, ids=lambda mutant: mutant.name)
def test_judged_the_same_on_the_chinese_edition_with_the_message_in_chinese(outcomes, chinese_outcomes, mutant):
    english, chinese = outcomes[mutant.name], chinese_outcomes[mutant.name]
    assert chinese.points == english.points and chinese.parts == english.parts
    assert chinese.message == translated_error(english.message, CHINESE.language)
    assert bool(mutant.message) <= ("\n提示：" in chinese.message)  # a named mistake has its hint, in Chinese
