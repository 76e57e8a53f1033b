"""One submission through the grading unit: what travels in the package, bad files, no sandbox.
Stuck, dying and hostile kernels are in test_sandbox.py."""

import dataclasses
import functools

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import CheckCellMetadata, OverwriteCells, OverwriteKernelspec
from traitlets.config import Config

from course.build.package import assignment_package
from course.grader import kernels, source_cells
from course.grader.autograde import CheckCellMetadataOnce, grade_submission
from course.grader.execute import SKIPPED_NOTE
from course.grader.job import GradingJob, Status
from course.grader.sandbox import Limits, SandboxedKernelManager
from course.grader.source_cells import OverwriteCellsOnce, OverwriteKernelspecOnce
from course.layout import ASSIGNMENT, EDITIONS, NOTEBOOK, Stage, course_config
from tests import COURSE, COURSE_ROOT
from tests.sample_grades import EXPECTED_POINTS
from tests.translated import translated

CHINESE = EDITIONS[1]

# A job for one submission, with the course's cell timeout (nbgrader_config.py).
job = functools.partial(GradingJob, cell_timeout=course_config(COURSE_ROOT).Execute.timeout)


@pytest.fixture(scope="module")
def package():
    return assignment_package(COURSE_ROOT, ASSIGNMENT)


def test_package_carries_the_release_helpers_but_no_notebook(package):
    assert sorted(package.files) == [
        "datasets/data.mat",
        "handin.py",
        "language.txt",
        "locale/zh_CN/LC_MESSAGES/course.mo",
        "public_tests.py",
        "reg_utils.py",
        "testCases.json",
        "testCases.py",
        "translation.py",
    ]
    assert package.gradebook.startswith(b"SQLite format 3")


@pytest.mark.parametrize("data", [b"", b'{"cells": [', b"\xff\xfe not utf-8", b'{"just": "json"}'])
def test_a_file_that_is_not_a_notebook_is_reported_not_raised(package, data):
    result = grade_submission(job("someone", data, package))
    assert result.status == Status.INVALID and result.scores == []
    assert result.problems[0].startswith("not a notebook")


def test_without_the_sandbox_a_submission_is_graded_the_same(package):
    """--no-sandbox, for debugging: same kernel, same verdicts, no bubblewrap."""
    data = COURSE.notebook(Stage.SUBMITTED, "unscaled-dropout", ASSIGNMENT).read_bytes()
    result = grade_submission(job("unscaled-dropout", data, package, sandbox=False))
    assert result.status == "graded"
    assert {score.grade_id: score.points for score in result.scores} == {
        f"test_{exercise}": points for exercise, points in EXPECTED_POINTS["unscaled-dropout"].items()
    }
    page = result.feedback.decode()
    assert "Points by part: 5 of 10." in page and "A1: 5 of 5, right." in page and "A2: 0 of 5, wrong: " in page


def test_where_kernels_cannot_be_forked_they_start_fresh_and_grade_the_same(package, monkeypatch):
    """The fallback, in bubblewrap still: the same notebook, byte for byte, as the committed one."""
    monkeypatch.setattr(kernels, "fork_unavailable_because", lambda: "not here")
    monkeypatch.setattr(kernels, "_ahead", None)  # a kernel forked ahead is not for this test
    data = COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT).read_bytes()
    result = grade_submission(job("full-marks", data, package))
    assert isinstance(kernels._ahead.manager, SandboxedKernelManager)  # the next one started fresh too
    assert result.notebook == COURSE.notebook(Stage.AUTOGRADED, "full-marks", ASSIGNMENT).read_bytes()


def test_all_or_nothing_gives_a_partly_right_exercise_nothing(package):
    data = COURSE.notebook(Stage.SUBMITTED, "unscaled-dropout", ASSIGNMENT).read_bytes()
    result = grade_submission(job("unscaled-dropout", data, dataclasses.replace(package, parts={}), sandbox=False))
    points = {score.grade_id: score.points for score in result.scores}
    assert points["test_forward_propagation_with_dropout"] == 0 and sum(points.values()) == 30
    assert "Points by part" not in result.feedback.decode()


TRAINING_AND_PLOTS = ("train_baseline", "plot_baseline", "train_l2", "plot_l2", "train_dropout", "plot_dropout")


def test_the_package_skips_the_released_training_and_plot_cells(package):
    assert package.skipped_at_grading == TRAINING_AND_PLOTS


def outputs_by_grade_id(result):
    nb = nbformat.reads(result.notebook.decode(), as_version=4)
    return {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.get("outputs", []) for cell in nb.cells}


def test_skipping_follows_the_release_not_the_submissions_tags(package):
    """A student who untags the training cells and tags the test and solution cells changes nothing."""
    nb = nbformat.reads(COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT).read_text(), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in TRAINING_AND_PLOTS:
            cell.metadata["tags"] = []
        elif "nbgrader" in cell.metadata:
            cell.metadata["tags"] = ["skip-at-grading"]
    result = grade_submission(job("tagger", nbformat.writes(nb).encode(), package))
    assert result.points == 40
    outputs = outputs_by_grade_id(result)
    for grade_id in TRAINING_AND_PLOTS:
        assert [output.get("text") for output in outputs[grade_id]] == [SKIPPED_NOTE + "\n"], grade_id


def test_a_chinese_edition_submission_is_told_in_chinese_what_grading_skipped():
    """The same submission, graded as the Chinese edition: the same points, the note in Chinese."""
    package = assignment_package(COURSE_ROOT, CHINESE.assignment)
    data = COURSE.notebook(Stage.SUBMITTED, "full-marks-zh", CHINESE.assignment).read_bytes()
    result = grade_submission(job("full-marks-zh", data, package))
    assert (result.assignment, result.points) == (CHINESE.assignment, 40)
    note = translated(SKIPPED_NOTE, CHINESE.language)
    assert note.startswith("评分时未运行")
    assert all(outputs_by_grade_id(result)[grade_id][0].text == note + "\n" for grade_id in TRAINING_AND_PLOTS)


@pytest.mark.slow
def test_full_runs_the_training_and_grades_the_same(package):
    """Training cells take seconds each here, far longer on a slow machine busy with other tests: this
    run gives each cell minutes, as an instructor would with --full --timeout there."""
    data = COURSE.notebook(Stage.SUBMITTED, "unscaled-dropout", ASSIGNMENT).read_bytes()
    skipped, full = (
        grade_submission(job("unscaled-dropout", data, package, full=full, cell_timeout=300)) for full in (False, True)
    )
    expected = list(EXPECTED_POINTS["unscaled-dropout"].values())
    assert [score.points for score in full.scores] == [score.points for score in skipped.scores] == expected
    outputs = outputs_by_grade_id(full)
    assert "Cost after iteration 20000" in outputs["train_baseline"][0].text
    assert all(
        any("image/png" in output.get("data", {}) for output in outputs[grade_id])
        for grade_id in ("plot_baseline", "plot_l2", "plot_dropout")
    )


def test_each_submission_gets_the_kernel_started_ahead_and_starts_the_next(package):
    data = COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT).read_bytes()
    grade_submission(job("first", data, package))
    ahead = kernels._ahead
    assert ahead is not None and ahead.manager.has_kernel  # booting while nothing is graded
    assert grade_submission(job("second", data, package)).points == 40
    assert not ahead.scratch.exists()  # it graded "second", then was closed
    assert kernels._ahead is not ahead and kernels._ahead.manager.has_kernel


def test_a_kernel_started_for_other_limits_is_not_used(package):
    data = COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT).read_bytes()
    grade_submission(job("first", data, package))
    ahead = kernels._ahead
    result = grade_submission(job("tight", data, package, limits=Limits(processes=32)))
    assert result.points == 40 and not ahead.scratch.exists() and kernels._ahead.fits[-1] == Limits(processes=32)


def _broken_metadata(change) -> nbformat.NotebookNode:
    nb = nbformat.read(COURSE.notebook(Stage.AUTOGRADED, "full-marks", ASSIGNMENT), as_version=4)
    change([cell.metadata.nbgrader for cell in nb.cells if "nbgrader" in cell.metadata])
    return nb


@pytest.mark.parametrize(
    "change",
    [
        lambda cells: None,
        lambda cells: cells[0].update(points="ten"),
        lambda cells: cells[0].pop("grade"),
        lambda cells: cells[0].update(schema_version=1),
        lambda cells: cells[0].update(schema_version=9),
        lambda cells: cells[-1].update(grade_id=next(cell for cell in cells if cell["grade"])["grade_id"]),
    ],
    ids=["valid", "wrong-type", "missing-key", "too-old", "too-new", "duplicate-id"],
)
def test_cell_metadata_is_judged_as_nbgrader_judges_it(change):
    """CheckCellMetadataOnce compiles the schema once; what it accepts and the error it raises are nbgrader's."""
    outcomes = []
    for step in (CheckCellMetadata(), CheckCellMetadataOnce()):
        try:
            step.preprocess(_broken_metadata(change), {})
            outcomes.append(None)
        except Exception as error:  # noqa: BLE001 (the outcome compared is the exception itself)
            outcomes.append((type(error), str(error)))
    assert outcomes[0] == outcomes[1]


def _cell(nb, grade_id):
    return next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.mark.parametrize(
    "change",
    [
        lambda nb: None,
        lambda nb: setattr(_cell(nb, "imports"), "source", "import os"),
        lambda nb: nb.cells.remove(_cell(nb, "test_backward_propagation_with_dropout")),
        lambda nb: _cell(nb, "test_compute_cost_with_regularization").metadata.nbgrader.update(points=100),
        lambda nb: _cell(nb, "model").update(cell_type="markdown"),
        lambda nb: _cell(nb, "model").metadata.nbgrader.update(locked=False),
        lambda nb: _cell(nb, "compute_cost_with_regularization").metadata.nbgrader.update(grade_id="mine"),
        lambda nb: _cell(nb, "test_compute_cost_with_regularization").metadata.nbgrader.update(grade_id="mine"),
        lambda nb: _cell(nb, "backward_propagation_with_dropout").metadata.nbgrader.pop("grade_id"),
        lambda nb: nb.metadata.update(kernelspec={"name": "bash", "display_name": "Bash", "language": "bash"}),
    ],
    ids=[
        "none",
        "locked-source",
        "deleted-test",
        "points",
        "cell-type",
        "unlocked",
        "unknown-id",
        "unknown-test-id",
        "no-id",
        "kernelspec",
    ],
)
def test_the_source_read_once_restores_a_submission_as_nbgrader_does(package, tmp_path, change):
    """OverwriteKernelspecOnce and OverwriteCellsOnce read the source notebook once per worker; what they make
    of a tampered submission is what nbgrader's own steps make of it, querying the gradebook. A cell whose
    nbgrader metadata names no cell of the source, on which nbgrader's fail, they make an ordinary cell."""
    (tmp_path / "gradebook.db").write_bytes(package.gradebook)
    config = Config()
    config.OverwriteCells.add_missing_cells = True
    submitted = nbformat.read(COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT), as_version=4)
    tampered = nbformat.from_dict(submitted)
    change(tampered)
    source = source_cells.for_package(package)
    as_ordinary = nbformat.from_dict(tampered)
    for cell in as_ordinary.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") not in source.source_cells:
            cell.metadata.pop("nbgrader", None)

    def restored(steps, names, nb):
        resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, **names}}
        for step in steps:
            nb, resources = step(config=config)(nbformat.from_dict(nb), resources)
        return nb

    nbgraders = (OverwriteKernelspec, OverwriteCells), {"db_url": f"sqlite:///{tmp_path / 'gradebook.db'}"}
    ours = restored((OverwriteKernelspecOnce, OverwriteCellsOnce), {"source": source}, tampered)
    assert ours == restored(*nbgraders, as_ordinary)
    assert (ours != tampered) == (tampered != submitted)  # each tampering is undone
    if as_ordinary != tampered:
        with pytest.raises(KeyError, match="grade_id"):
            restored(*nbgraders, tampered)


def test_a_submission_with_cell_ids_edited_or_an_exercise_deleted_is_graded_with_its_tests_put_back(package):
    """Where nbgrader's OverwriteCells fails (KeyError), and the submission would never be graded."""
    nb = nbformat.read(COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT), as_version=4)
    for grade_id in ("compute_cost_with_regularization", "test_compute_cost_with_regularization"):
        _cell(nb, grade_id).metadata.nbgrader["grade_id"] = f"my_{grade_id}"
    _cell(nb, "my_test_compute_cost_with_regularization").source = "pass"  # a test of one's own
    for grade_id in ("backward_propagation_with_regularization", "test_backward_propagation_with_regularization"):
        nb.cells.remove(_cell(nb, grade_id))
    result = grade_submission(job("editor", nbformat.writes(nb).encode(), package))
    assert result.status == Status.GRADED
    assert {score.grade_id: score.points for score in result.scores} == {
        "test_compute_cost_with_regularization": 10,  # put back after the student's renamed solution
        "test_backward_propagation_with_regularization": 0,  # put back, and its function is not defined
        "test_forward_propagation_with_dropout": 10,
        "test_backward_propagation_with_dropout": 10,
    }
    graded = nbformat.reads(result.notebook.decode(), as_version=4)
    assert "my_compute_cost_with_regularization" not in str(graded)  # an ordinary cell now


def test_a_worker_reads_the_source_notebook_once_not_for_each_submission(package, monkeypatch):
    data = COURSE.notebook(Stage.SUBMITTED, "full-marks", ASSIGNMENT).read_bytes()
    grade_submission(job("first", data, package))
    opened, open_gradebook = [], Gradebook.__init__
    monkeypatch.setattr(Gradebook, "__init__", lambda self, *args: opened.append(args) or open_gradebook(self, *args))
    assert grade_submission(job("second", data, package)).points == 40 and opened == []
