"""nbgrader settings for the Regularization course; paths are anchored to this folder."""

import os
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.course_id = "regularization-course"
# COURSE_DB_URL names a server gradebook (postgresql://user@host/db) that several graders can share.
# Otherwise SQLite beside this file; its timeout lets a writer wait out another grader's lock.
c.CourseDirectory.db_url = os.environ.get("COURSE_DB_URL") or f"sqlite:///{COURSE_ROOT / 'gradebook.db'}?timeout=60"
# grading.json is the grader's own record beside each autograded notebook, not for students.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "grading.json"]

# A training cell takes about 3 s; 30 s per cell leaves ample room on slow machines
# and stops a runaway loop without stalling a whole class.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True

c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("replace this line with your code")'
}

# Every door grades the same (course/doors/nbgrader_autograde.py): `nbgrader autograde` and Formgrader's
# Autograde button grade with the course's grader (sandbox, judge, hidden cases), and save its points as nbgrader does.
c.Autograde.sanitize_preprocessors = ["course.doors.nbgrader_autograde.CourseGrade"]
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
]
# Collecting trusts nothing a student wrote (course/doors/intake.py): `nbgrader collect`, Formgrader's Collect
# and the grading service copy without following links, within caps, checking owners (CollectApp.check_owner).
c.ExchangeFactory.collect = "course.doors.intake.SafeCollect"
# Releasing through the exchange writes the edition's due date (from the gradebook) into the notebook
# students fetch, at the top, in its language (course/doors/release.py); release/ itself holds no date.
c.ExchangeFactory.release_assignment = "course.doors.release.ReleaseWithDueDate"

# What lateness costs (course/rules.py), applied by every door through nbgrader's AssignLatePenalties: a share
# of the points earned per day late after the due date plus the student's extension (`python -m course extend`),
# each day begun counting, up to a cap; the grace period costs nothing.
c.AssignLatePenalties.plugin_class = "course.rules.LatePenalty"
c.LatePenalty.share_per_day = 0.1
c.LatePenalty.max_share = 0.5
c.LatePenalty.grace_minutes = 15

# Partial credit: each exercise's points split over the parts the student writes, in the order the
# function computes them, adding up to its test cell's points; each part is judged on the student's
# own values upstream of it (course/grader/parts.py). False grades every exercise all or nothing.
c.PartialCredit.enabled = True
c.PartialCredit.points = {
    "compute_cost_with_regularization": {"L2_regularization_cost": 10},
    "backward_propagation_with_regularization": {"dW3": 3, "dW2": 3, "dW1": 4},
    "forward_propagation_with_dropout": {"A1": 5, "A2": 5},  # each layer's mask, then its scaling
    "backward_propagation_with_dropout": {"dA2": 5, "dA1": 5},
}
