"""nbgrader's steps that restore a submission from the source notebook (OverwriteKernelspec, OverwriteCells),
reading the source once per worker and package: nbgrader's open the gradebook for every submission and
query it cell by cell (about 20 ms of the grader's CPU a submission).

The steps find the source in resources["nbgrader"]["source"], a SourceNotebook, where nbgrader's find
a gradebook's URL. What they do with it is nbgrader's own code, unchanged.
"""

import itertools
import json
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells, OverwriteKernelspec
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
    asking the SourceNotebook what it would ask the gradebook."""

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.gradebook = resources["nbgrader"]["source"]
        nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)  # cell by cell, as nbgrader's does
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources
