"""All the main process does with a result: save it in the gradebook, then write its files.

Results are saved in batches (one transaction each, see gradebook.GradebookWriter): a batch is
saved once it holds BATCH_SIZE results or its first result has waited BATCH_SECONDS, and whatever
is left when the run ends or stops; saving prices lateness too (nbgrader's AssignLatePenalties with the
course's plugin). Then each result's files are written as nbgrader lays them out: the autograded
notebook with the files nbgrader collect put beside the submission, the feedback page the worker
rendered (rendered again here when lateness cost points, which the worker could not know), with the
rules under its title (due date, extension, lateness, attempts left), and the same files, which
`nbgrader release_feedback` reads; grading.json last, so that a result whose files were not all
written is graded again.
"""

import shutil
import time
from pathlib import Path

import nbformat

from course.grader.feedback import render_feedback, save_feedback, with_rules
from course.grader.job import GradingResult, Status
from course.layout import EDITIONS, NOTEBOOK, Course, Stage, edition
from course.record import last_graded
from course.record.gradebook import GradebookWriter, stand_in_for_unreadable
from course.rules import Lateness, policy_sentences, rules_lines

BATCH_SIZE = 16
BATCH_SECONDS = 2.0
# What nbgrader collect puts beside a submitted notebook; autograde copies them on, and release_feedback reads both.
COLLECTED_FILES = ("timestamp.txt", "submission_secret.txt")


class ResultWriter:
    def __init__(self, root: Path, url: str, fingerprints: dict[str, str]):
        """fingerprints: {assignment: its fingerprint}, for the grader's notes (course.record.last_graded)."""
        self.root, self.fingerprints = root, fingerprints
        self.gradebook = GradebookWriter(root, url)
        self.policy = {e.language: policy_sentences(self.gradebook.config, e.language) for e in EDITIONS}
        self.pending, self.first_waiting = [], 0.0

    def add(self, result: GradingResult, attempts: tuple[int, int] | None = None) -> None:
        """attempts: (graded attempts left today, the day's cap), for the grading service's pages."""
        # A file that is not a notebook is recorded with a stand-in that says why (Formgrader lists it).
        notebook = stand_in_for_unreadable(self.root, result) if result.status == Status.INVALID else result.notebook
        if not self.pending:
            self.first_waiting = time.monotonic()
        self.pending.append((result, notebook, attempts))
        if len(self.pending) >= BATCH_SIZE or time.monotonic() - self.first_waiting >= BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            lateness = self.gradebook.save([(result, notebook) for result, notebook, _ in self.pending])
            for result, notebook, attempts in self.pending:
                self._write_files(result, notebook, lateness[result.student, result.assignment], attempts)
            self.pending = []

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.gradebook.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _write_files(self, result: GradingResult, notebook: bytes, lateness: Lateness, attempts) -> None:
        student, assignment = result.student, result.assignment
        language = edition(assignment).language
        folder = Course(self.root).path(Stage.AUTOGRADED, student, assignment)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        if notebook:
            (folder / f"{NOTEBOOK}.ipynb").write_bytes(notebook)
            page = result.feedback
            if lateness.penalty or not page:  # the worker's page has no penalty in its score
                nb = nbformat.reads(notebook.decode(), as_version=4)
                page = render_feedback(nb, student, assignment, language, lateness.penalty)
            if rules := rules_lines(lateness, language, self.policy[language], attempts):
                page = with_rules(page, rules)
            feedback_folder = save_feedback(self.root, student, page, assignment).parent
            submitted = Course(self.root).path(Stage.SUBMITTED, student, assignment)
            for name in COLLECTED_FILES:
                if (submitted / name).exists():
                    shutil.copyfile(submitted / name, folder / name)
                    shutil.copyfile(submitted / name, feedback_folder / name)
        last_graded.write(self.root, result, self.fingerprints[assignment])
