"""Bringing a submission into the course: every file of it copied without trusting anything in it.

A submission in the exchange's inbound folder is written by the student, who may have a shell on the
machine. `copy_submission` walks it without following anything: each folder and file is opened with
O_NOFOLLOW (a symbolic link fails to open) and O_NONBLOCK (a FIFO does not wait for a writer), and
judged on what was opened (fstat of that descriptor), not on a name looked up before: a regular file
with one link, at most MAX_FILE_BYTES, owned by the student's account when one is given. Anything else
refuses the whole submission (Refused, with a Refusal kind and the path), and nothing of it is left in
the destination. Both the grading service and `nbgrader collect` (SafeCollect, set as nbgrader's
collect class in nbgrader_config.py) copy through it.

The files nbgrader's exchange carries beside the notebook (timestamp.txt, submission_secret.txt) are
the student's writing too: read the same way, and checked to be what `nbgrader submit` writes.
"""

import errno
import os
import pwd
import re
import shutil
import stat
import tempfile
from enum import StrEnum
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import parse_utc

from course.i18n.catalogue import N_, translations
from course.layout import EDITIONS

MAX_FILE_BYTES = 32 * 2**20  # per file; the released folder's largest file (the notebook) is about 60 KiB
MAX_TOTAL_BYTES = 128 * 2**20  # the whole submission
MAX_FILES = 500  # files and folders; the release holds 15
MAX_NOTE_BYTES = 200  # timestamp.txt and submission_secret.txt, each a line
TIMESTAMP, SECRET = "timestamp.txt", "submission_secret.txt"
REFUSED_NOTE = "refused.txt"  # left alone in submitted/<student>/<assignment>/: why it was refused
SECRET_PATTERN = re.compile(r"[A-Za-z0-9+/=_-]{1,128}")
CHUNK = 2**20


class Refusal(StrEnum):
    LINK = "symbolic link"
    HARD_LINK = "hard link"
    SPECIAL = "not a regular file"
    TOO_BIG = "too big"
    TOO_MANY = "too many files"
    NOT_OWNER = "someone else's file"
    MALFORMED = "malformed exchange file"


MESSAGES = {  # what the student reads, in their language
    Refusal.LINK: N_("{path} is a symbolic link; hand in the files themselves"),
    Refusal.HARD_LINK: N_("{path} has more than one name (a hard link); hand in a file of your own"),
    Refusal.SPECIAL: N_("{path} is not a regular file or folder (a pipe, a socket or a device)"),
    Refusal.TOO_BIG: N_("{path} is larger than {cap} MiB"),
    Refusal.TOO_MANY: N_("the submission holds more than {cap} files and folders"),
    Refusal.NOT_OWNER: N_("{path} belongs to {owner}, not to your account {student}"),
    Refusal.MALFORMED: N_("{path} is not what nbgrader submit writes there"),
}


class Refused(Exception):
    def __init__(self, kind: Refusal, path: str, **details):
        self.kind, self.path, self.details = kind, path, details
        super().__init__(self.message("en"))

    def message(self, language: str) -> str:
        _ = translations(language).gettext
        reason = _(MESSAGES[self.kind]).format(path=self.path, **self.details)
        return _("the submission was refused: {reason}").format(reason=reason)


def language_of(assignment: str) -> str:
    return next((edition.language for edition in EDITIONS if edition.assignment == assignment), "en")


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class _Walk:
    def __init__(self, owner: str | None):
        self.uid = None if owner is None else pwd.getpwnam(owner).pw_uid
        self.owner, self.count, self.total = owner, 0, 0

    def check(self, info: os.stat_result, path: str) -> None:
        self.count += 1
        if self.count > MAX_FILES:
            raise Refused(Refusal.TOO_MANY, path, cap=MAX_FILES)
        if self.uid is not None and info.st_uid != self.uid:
            raise Refused(Refusal.NOT_OWNER, path, owner=_owner_name(info.st_uid), student=self.owner)

    def folder(self, fd: int, target: Path, path: str) -> None:
        """Copy the open folder `fd` (already checked) into the new folder `target`."""
        with os.scandir(fd) as entries:
            names = sorted(entry.name for entry in entries)
        for name in names:
            inner = f"{path}/{name}" if path else name
            self.entry(fd, name, target / name, inner)

    def entry(self, parent: int, name: str, target: Path, path: str) -> None:
        kind = stat.S_IFMT(os.lstat(name, dir_fd=parent).st_mode)
        if kind == stat.S_IFLNK:
            raise Refused(Refusal.LINK, path)
        if kind not in (stat.S_IFREG, stat.S_IFDIR):  # never opened: a device may act on open
            raise Refused(Refusal.SPECIAL, path)
        fd = _open(name, parent, path, directory=kind == stat.S_IFDIR)
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                self.check(info, path)
                target.mkdir()
                self.folder(fd, target, path)
            elif stat.S_ISREG(info.st_mode):
                self.file(fd, info, target, path)
            else:  # swapped for something else since the lstat
                raise Refused(Refusal.SPECIAL, path)
        finally:
            os.close(fd)

    def file(self, fd: int, info: os.stat_result, target: Path, path: str) -> None:
        self.check(info, path)
        if info.st_nlink != 1:
            raise Refused(Refusal.HARD_LINK, path)
        if info.st_size > MAX_FILE_BYTES:
            raise Refused(Refusal.TOO_BIG, path, cap=MAX_FILE_BYTES // 2**20)
        self.total += info.st_size
        if self.total > MAX_TOTAL_BYTES:
            raise Refused(Refusal.TOO_BIG, "the submission", cap=MAX_TOTAL_BYTES // 2**20)
        copied = 0
        with open(target, "xb") as out:
            while chunk := os.read(fd, CHUNK):  # the cap holds even for a file that grows meanwhile
                copied += len(chunk)
                if copied > MAX_FILE_BYTES:
                    raise Refused(Refusal.TOO_BIG, path, cap=MAX_FILE_BYTES // 2**20)
                out.write(chunk)


def _open(name: str, parent: int | None, path: str, directory: bool) -> int:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    flags |= os.O_DIRECTORY if directory else 0
    try:
        return os.open(name, flags, dir_fd=parent)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise Refused(Refusal.LINK, path) from None
        if error.errno == errno.ENXIO:  # a socket
            raise Refused(Refusal.SPECIAL, path) from None
        raise


def copy_submission(source: Path, destination: Path, owner: str | None = None) -> None:
    """Copy the submission folder `source` to `destination` (which must not exist), or raise Refused and
    leave nothing there. owner: the Unix account every file and folder must belong to (None: any)."""
    walk = _Walk(owner)
    fd = _open(str(source), None, source.name, directory=True)
    staging = Path(tempfile.mkdtemp(prefix=".collecting-", dir=destination.parent))
    try:
        info = os.fstat(fd)
        walk.check(info, source.name)
        walk.folder(fd, staging, "")
        check_notes(staging)
        staging.chmod(0o755)
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        os.close(fd)


def read_note(folder: Path, name: str) -> str:
    """timestamp.txt or submission_secret.txt of a submission, read without following links and checked."""
    folder_fd = _open(str(folder), None, folder.name, directory=True)  # the folder may be a link too
    try:
        fd = _open(name, folder_fd, name, directory=False)
    finally:
        os.close(folder_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_size > MAX_NOTE_BYTES:
            raise Refused(Refusal.MALFORMED, name)
        data = os.read(fd, MAX_NOTE_BYTES + 1)
    finally:
        os.close(fd)
    try:
        text = data.decode("ascii").strip()
        if name == TIMESTAMP:
            parse_utc(text)
        elif not SECRET_PATTERN.fullmatch(text):
            raise ValueError(name)
    except ValueError:
        raise Refused(Refusal.MALFORMED, name) from None
    return text


def check_notes(folder: Path) -> None:
    for name in (TIMESTAMP, SECRET):
        try:
            read_note(folder, name)
        except FileNotFoundError:
            raise Refused(Refusal.MALFORMED, name) from None


def leave_refusal(source: Path, destination: Path, message: str) -> None:
    """What a refused submission leaves in submitted/: the reason, which grading reports, and those of
    its timestamp.txt and submission_secret.txt that are well formed (to record its time, and to release
    the feedback that tells the student why)."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    for name in (TIMESTAMP, SECRET):
        try:
            (destination / name).write_text(read_note(source, name))
        except (Refused, OSError):
            pass
    (destination / REFUSED_NOTE).write_text(message + "\n", encoding="utf-8")


def refusal(folder: Path) -> str:
    """The reason a collected submission was refused, or ""."""
    path = Path(folder) / REFUSED_NOTE
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""


def impostor(folder: Path, student: str) -> str:
    """The account that owns the inbound folder `folder` (the folder itself, not what a link in its place
    points to) when it is not the student it is named for, else "": someone handing in under another's
    name, whose submission must change nothing of that student's."""
    owner = _owner_name(os.lstat(folder).st_uid)
    return "" if owner == student else owner


class SafeCollect(ExchangeCollect):
    """nbgrader's collect (`nbgrader collect`, Formgrader's Collect) copying through copy_submission, with
    the owner check on unless CollectApp.check_owner is turned off; a refused submission leaves its
    reason in submitted/ for grading to report, and the others are collected as usual."""

    def init_src(self):
        """nbgrader's choice of each student's submission (the latest, or the latest on time with
        --before-duedate), among those the student's own account handed in."""
        super().init_src()
        if not self.check_owner:
            return
        pattern = f"{self.coursedir.student_id or '*'}+{self.coursedir.assignment_id}+*"
        chosen = {}
        for path in sorted(Path(self.inbound_path).glob(pattern)):
            record = self._path_to_record(str(path))
            if owner := impostor(path, record["username"]):
                self.log.error("REFUSED %s: handed in as %s by %s; not collected", path, record["username"], owner)
                continue
            earlier = chosen.get(record["username"])
            on_time = self.before_duedate and self.duedate is not None
            if earlier is None or (
                record["timestamp"] > earlier["timestamp"]
                and not (on_time and earlier["timestamp"] <= self.duedate < record["timestamp"])
            ):
                chosen[record["username"]] = record
        self.src_records = list(chosen.values())

    def do_copy(self, src, dest, log=None):
        student = os.path.basename(src).rsplit("+", 3)[0]
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            copy_submission(Path(src), dest, owner=student if self.check_owner else None)
        except Refused as refused:
            self.log.error("REFUSED %s: %s", src, refused)
            leave_refusal(Path(src), dest, refused.message(language_of(dest.name)))
