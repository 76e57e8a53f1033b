"""nbgrader's steps that restore a submission from the source notebook (OverwriteKernelspec, OverwriteCells),
reading the source once per worker and package: nbgrader's open the gradebook for every submission and
query it cell by cell (about 20 ms of the grader's CPU a submission).

The steps find the source in resources["nbgrader"]["source"], a SourceNotebook, where nbgrader's find
a gradebook's URL. What they do with it is nbgrader's own code, but for two cases where nbgrader's
fail (OverwriteCellsOnce says which).
"""

import itertools
import json
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells, OverwriteKernelspec
from nbgrader.utils import is_grade, is_solution
from sqlalchemy import inspect

from course.layout import NOTEBOOK


class SourceNotebook:
    """One source notebook as a gradebook holds it: nbgrader's own records (Notebook and its cells), every
    column loaded while the gradebook is open and read after it is closed. Answers the three look-ups
    OverwriteCells makes of a Gradebook, as a Gradebook does."""

    def __init__(self, url: str, notebook: str, assignment: str):
        self.notebook, self.assignment = notebook, assignment
        with Gradebook(url) as gradebook:
            source = self.source = gradebook.find_notebook(notebook, assignment)
            kinds = (source.source_cells, source.grade_cells, source.solution_cells, source.task_cells)
            for record in [source, *itertools.chain.from_iterable(kinds)]:
                for column in inspect(record).mapper.column_attrs:  # some load only when first read
                    getattr(record, column.key)
        self.source_cells = {cell.name: cell for cell in self.source.source_cells}
        # A grade cell before a task cell of the same name, as Gradebook.find_graded_cell looks.
        self.graded_cells = {cell.name: cell for cell in [*self.source.task_cells, *self.source.grade_cells]}

    def find_notebook(self, notebook: str, assignment: str):
        self._check(notebook, assignment)
        return self.source

    def find_source_cell(self, name: str, notebook: str, assignment: str):
        self._check(notebook, assignment)
        if name not in self.source_cells:
            raise MissingEntry(f"No such source cell: {assignment}/{notebook}/{name}")
        return self.source_cells[name]

    def find_graded_cell(self, name: str, notebook: str, assignment: str):
        self._check(notebook, assignment)
        if name not in self.graded_cells:
            raise MissingEntry(f"No such grade cell: {assignment}/{notebook}/{name}")
        return self.graded_cells[name]

    def _check(self, notebook: str, assignment: str):
        if (notebook, assignment) != (self.notebook, self.assignment):
            raise MissingEntry(f"No such notebook: {assignment}/{notebook}")


_by_package: dict[str, SourceNotebook] = {}  # this worker's, by package digest


def for_package(package) -> SourceNotebook:
    """The source notebook of an AssignmentPackage, read from its template gradebook once."""
    if package.digest not in _by_package:
        with tempfile.TemporaryDirectory(prefix="grader-source-") as folder:
            path = Path(folder, "gradebook.db")
            path.write_bytes(package.gradebook)
            _by_package[package.digest] = SourceNotebook(f"sqlite:///{path}", NOTEBOOK, package.assignment)
    return _by_package[package.digest]


class OverwriteKernelspecOnce(OverwriteKernelspec):
    """nbgrader's OverwriteKernelspec: the source notebook's kernelspec replaces the submission's."""

    def preprocess(self, nb, resources):
        names = resources["nbgrader"]
        kernelspec = names["source"].find_notebook(names["notebook"], names["assignment"]).kernelspec
        if kernelspec is not None and (kernelspec := json.loads(kernelspec)):
            nb.metadata["kernelspec"] = kernelspec
        return nb, resources


class OverwriteCellsOnce(OverwriteCells):
    """nbgrader's OverwriteCells (locked and graded cells as the source has them, deleted ones put back),
    asking the SourceNotebook what it would ask the gradebook. Where nbgrader's would fail, and the
    submission could never be graded, it does what nbgrader's does in the cases it handles:

    - a cell whose nbgrader metadata names no grade_id the source knows becomes an ordinary cell (nbgrader
      drops only the id, then fails on the cell left without one: KeyError 'grade_id'); the source's
      graded cell it may have been is put back, as if deleted;
    - a graded cell is put back where nbgrader's puts it, right after the source's cell before it; when
      that one is gone too (both cells of an exercise deleted, or the solution's id edited), nbgrader's
      fails, and it goes before the source's next cell the notebook has, after what the student wrote
      in their place."""

    def preprocess_cell(self, cell, resources, index):
        if cell.metadata.get("nbgrader", {}).get("grade_id") not in self.gradebook.source_cells:
            if cell.metadata.pop("nbgrader", None) is not None:
                self.log.warning("A cell's nbgrader metadata names no cell of the source: it runs as an ordinary cell")
            return cell, resources
        return super().preprocess_cell(cell, resources, index)

    def add_missing_grade_cells(self, nb, resources):
        source = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source.source_cells]
        solutions = {cell.name for cell in source.solution_cells}
        for grade_cell in source.grade_cells:
            has = {cell.metadata.get("nbgrader", {}).get("grade_id"): index for index, cell in enumerate(nb.cells)}
            graded = {name for name, index in has.items() if is_grade(nb.cells[index]) or is_solution(nb.cells[index])}
            if grade_cell.name in graded:
                continue
            self.log.warning(f"Missing grade cell {grade_cell.name} encountered, adding to notebook")
            position = order.index(grade_cell.name)
            if position == 0:
                at = 0
            elif order[position - 1] in has:  # right after the cell before it in the source, as nbgrader's
                at = has[order[position - 1]] + 1
            else:  # before the source's next cell the notebook has: after the student's own cells in their place
                at = next((has[name] for name in order[position + 1 :] if name in has), len(nb.cells))
            missing = self.missing_cell_transform(
                source.source_cells[position], grade_cell.max_score, is_solution=grade_cell.name in solutions
            )
            nb.cells.insert(at, missing)
        return nb, resources

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.gradebook = resources["nbgrader"]["source"]
        nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)  # cell by cell, as nbgrader's does
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources
