"""The mutation check, through real autograding: each sampled mistake loses exactly its exercise's points
with a hint that names it and no hint that names something else, each sampled correct variant earns full
marks, and the messages reach the students' feedback. The sample (mutations.sample: the first and last
entry of each kind) is graded once for the module; tests/assignment/test_catalogue_in_process.py judges
the whole catalogue, in both editions, the way grading does, in seconds."""

import html
import shutil

import nbformat
import pytest

from course.fanout.grade import grade_class
from course.layout import EDITIONS, Course, Stage
from public_tests import GRADED_FUNCTIONS
from tests import mutations
from tests.courses import course_copy
from tests.notebooks import failed_test_cells
from tests.translated import translated_error

CHINESE = EDITIONS[1]

pytestmark = pytest.mark.slow  # grades the mutation catalogue end to end

# One message from a hidden test (the code passes the public one), one from a public test.
FEEDBACK_SAMPLE = ("cost-hard-coded", "dropout-gradient-fresh-mask")


SAMPLE = mutations.sample()


@pytest.fixture(scope="module")
def results():
    return mutations.grade(SAMPLE, workers=2)


def test_the_catalogue_is_large_and_covers_every_exercise():
    names = [mutant.name for mutant in mutations.CATALOGUE]
    mistakes = [mutant for mutant in mutations.CATALOGUE if mutant.exercise]
    assert len(set(names)) == len(names)
    assert len(mistakes) >= 45 and len(names) - len(mistakes) >= 15
    assert {mutant.exercise for mutant in mistakes} == set(GRADED_FUNCTIONS)
    assert sum(bool(mutant.message) for mutant in mistakes) >= mutations.NAMED_AT_LEAST * len(mistakes)


def test_the_sample_has_every_kind_of_entry():
    kinds = {(mutant.exercise, mutant.wrong) for mutant in mutations.CATALOGUE}
    assert {(mutant.exercise, mutant.wrong) for mutant in SAMPLE} == kinds
    assert len(SAMPLE) < len(mutations.CATALOGUE) / 3


@pytest.mark.parametrize("mutant", SAMPLE, ids=lambda mutant: mutant.name)
def test_graded_exactly(results, mutant):
    assert mutations.misses(mutant, results[mutant.name]) == []


def test_the_score_is_perfect(results):
    lines, clean = mutations.report(results, SAMPLE)
    mistakes = [mutant for mutant in SAMPLE if mutant.exercise]
    variants = len(SAMPLE) - len(mistakes)
    named = sum(bool(mutant.message) for mutant in mistakes)
    assert clean and lines == [
        f"mistakes caught: {len(mistakes)}/{len(mistakes)}",
        f"named: {named}/{len(mistakes)}",
        "wrongly named: 0",
        f"correct variants at full marks: {variants}/{variants}",
    ]


def test_the_feedback_names_the_mistake_in_each_editions_language(tmp_path):
    """The sample handed in as both editions, graded in one run: the Chinese feedback says in Chinese
    what the English one says."""
    root = course_copy(tmp_path)
    shutil.rmtree(root / "submitted")
    sample = [mutant for mutant in mutations.CATALOGUE if mutant.name in FEEDBACK_SAMPLE]
    for edition in EDITIONS:
        for name, data in mutations.submissions(sample, edition.assignment).items():
            path = Course(root).notebook(Stage.SUBMITTED, name, edition.assignment)
            path.parent.mkdir(parents=True)
            path.write_bytes(data)
    grade_class(root, workers=2, cell_timeout=mutations.CELL_TIMEOUT)
    for mutant in sample:
        test_cell = f"test_{mutant.exercise}"
        english, chinese = (
            failed_test_cells(nbformat.read(Course(root).notebook(Stage.AUTOGRADED, mutant.name, e.assignment), 4))[
                test_cell
            ]
            for e in EDITIONS
        )
        assert mutant.message in english and chinese == translated_error(english, CHINESE.language), mutant.name
        for edition, failure in zip(EDITIONS, (english, chinese)):
            page = html.unescape(Course(root).feedback_page(mutant.name, edition.assignment).read_text())
            assert failure.partition(": ")[2] in page and "BEGIN HIDDEN TESTS" not in page, mutant.name
