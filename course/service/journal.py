"""The grading service's journal: every submission it saw in the exchange, and what became of it.

service-journal.jsonl at the course root holds one JSON object per line, appended and synced to
disk at each change of a submission's state, so that a service killed at any moment knows on
restart what it still has to do. A submission is named by its folder in the exchange's inbound
folder (`<student>+<assignment>+<time handed in>+<random>`, as nbgrader submit makes it); its
current record is all its lines merged in order. A last line cut short by a kill is ignored.

States: received (seen, complete) -> grading (collected, on a worker) -> graded, or held (past
the day's cap, waiting), refused (not owned by the student, with --check-owner) or failed (could
not be collected). `graded_day` is the UTC day its grading started: the cap counts those.
"""

import json
import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

JOURNAL_FILE = "service-journal.jsonl"


class State(StrEnum):
    RECEIVED = "received"
    HELD = "held"
    GRADING = "grading"
    GRADED = "graded"
    REFUSED = "refused"
    FAILED = "failed"


WAITING = (State.RECEIVED, State.HELD, State.GRADING)  # still to be graded (grading: a service stopped mid-grade)


class Journal:
    def __init__(self, root: Path):
        self.path = Path(root) / JOURNAL_FILE
        self.records: dict[str, dict] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    change = json.loads(line)
                except json.JSONDecodeError:  # the line a kill cut short: its change is done again
                    continue
                self.records.setdefault(change["inbound"], {}).update(change)

    def note(self, inbound: str, **change) -> dict:
        """Record a change of the submission `inbound` (state=..., and what goes with it)."""
        change = {"inbound": inbound, **change, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        line = json.dumps(change, sort_keys=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())
        record = self.records.setdefault(inbound, {})
        record.update(change)
        return record

    def graded_on(self, student: str, day: str) -> int:
        """How many of the student's submissions started grading on the UTC day `day` (YYYY-MM-DD)."""
        return sum(
            1
            for record in self.records.values()
            if record.get("student") == student and record.get("graded_day") == day
        )

    def waiting(self) -> list[dict]:
        """The records still to be graded, oldest hand-in first."""
        return sorted(
            (record for record in self.records.values() if record["state"] in WAITING),
            key=lambda record: (record["handed_in"], record["inbound"]),
        )


def name_parts(inbound: str) -> tuple[str, str, str]:
    """(student, assignment, time handed in) from a submission's inbound folder name, as nbgrader
    submit makes it (`<student>+<assignment>+<time>+<random>`; a student id may hold a "+")."""
    student, assignment, handed_in = inbound.rsplit("+", 3)[:3]
    return student, assignment, handed_in


def assignment_of(inbound: str) -> str:
    """The assignment (edition) a submission was handed in for."""
    return name_parts(inbound)[1]


def attempts(root: Path) -> dict[tuple[str, str], int] | None:
    """{(student, assignment): graded submissions} from the journal at root, or None when there is none."""
    if not (Path(root) / JOURNAL_FILE).exists():
        return None
    counts: dict[tuple[str, str], int] = {}
    for record in Journal(root).records.values():
        if record.get("state") == State.GRADED:
            key = record["student"], assignment_of(record["inbound"])
            counts[key] = counts.get(key, 0) + 1
    return counts


def refused(root: Path) -> list[tuple[str, str, str]]:
    """(student named, time handed in, why) of each submission the service refused, whether not collected
    (handed in under another's name) or scored 0 (a link, a FIFO, ...), oldest first; [] without a journal."""
    if not (Path(root) / JOURNAL_FILE).exists():
        return []
    records = Journal(root).records.values()
    found = [(r["student"], r.get("handed_in", ""), r["refused"]) for r in records if r.get("refused")]
    return sorted(found, key=lambda row: row[1])
