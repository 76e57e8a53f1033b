"""How the tests hand the results of a student's functions to the grader, as plain data.

Under autograding, every call a test makes to a graded function is recorded in a file:
its arguments (as a digest), what it returned (or raised) and, if it changed its
arguments, what they became. The grader then runs the test cells again in its own
process, where each graded function is a `Replay` of these records. The verdict is
therefore reached by code the student's kernel cannot touch: replacing numpy.allclose,
the test functions or the traceback printer in the kernel changes nothing. A record holds
only data (JSON and raw array bytes, never a pickle), so reading it cannot run the
student's code.

The rule the design rests on: when the grader reruns a test cell, each call its checks
make must be one the kernel made, with equal arguments; calls with equal arguments are
played back in the order the kernel made them. The checks are deterministic given the
values returned, so the public part of a test cell makes the same calls on both sides,
and `recorded()` passes a Replay through unchanged, so one public_tests.py serves both.
The hidden cases (`hidden_tests`) are calls the grader plans and hands over as data.
A cell's records are found by the execution count of the cell that made them, and
`replays()` turns one cell's records into the functions its rerun calls.

Outside autograding (a student running the tests), `recorded` changes nothing.
"""

import builtins
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from translation import _

FOLDER = ".handin"  # the records' folder, beside the notebook
RECORDS = Path.cwd() / FOLDER  # fixed when the notebook imports the tests, before any student code
PLANS_FOLDER = ".hidden"  # where the grader puts the hidden cases' planned calls, beside the notebook
PLANS = Path.cwd() / PLANS_FOLDER
MAX_RECORD_BYTES = 64 * 2**20  # all records of a submission together
MAX_DEPTH = 16


class JudgingError(AssertionError):
    """The records cannot settle the verdict: a test ran differently in the student's kernel."""


def autograding() -> bool:
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


def hidden_tests(function: str, target):
    """Under autograding, call `target` on the grader's hidden cases for `function` and hand the
    results in, unless the public test did already; the grader reaches the verdict. Nothing is checked here."""
    __tracebackhide__ = True
    if not (autograding() and (PLANS / f"{function}.plan").is_file()):
        print(_("More cases of {function} are tested when your notebook is graded.").format(function=function))
        return
    play_hidden_cases(function, target)


_PLAYED = set()  # (records folder, cell, function) whose hidden cases were played


def play_hidden_cases(function: str, target):
    """Under autograding, call `target` on the hidden cases once per test cell. The public tests call this
    first, before a failure can stop the cell, so that every part of the exercise is judged on the hidden
    cases too (course/grader/parts.py). A Replay, the grader's rerun, is left alone."""
    __tracebackhide__ = True
    plan = PLANS / f"{function}.plan"
    played = (str(RECORDS), _running_cell(), function)
    if isinstance(target, Replay) or not (autograding() and plan.is_file()) or played in _PLAYED:
        return
    _PLAYED.add(played)
    target = recorded(target, function)
    for arguments, seed in decode(*unpack(plan.read_bytes())):
        if seed is not None:
            np.random.seed(seed)
        try:
            target(*arguments)
        except Exception:  # recorded: the grader turns it into the verdict
            pass


def call_key(args) -> str:
    """A digest of a call's arguments, equal on both sides for equal values."""
    return _digest(encode(args))


def _digest(description) -> str:
    return hashlib.sha256(json.dumps(description).encode()).hexdigest()


def recorded(target, function: str):
    """target itself, or under autograding a stand-in that records every call to it."""
    if isinstance(target, (Replay, _Recorder)) or not autograding():
        return target
    return _Recorder(target, function)


class _Recorder:
    def __init__(self, target, function):
        self.target, self.function = target, function

    def __call__(self, *args):
        __tracebackhide__ = True  # a student's error shows their own frames, not this one
        before = encode(args)
        record = {"function": self.function, "cell": _running_cell(), "arguments": _digest(before)}
        try:
            result = self.target(*args)
        except BaseException as error:
            record["raised"] = [type(error).__name__, str(error)]
            raise
        else:
            record["returned"] = result
            return result
        finally:
            after = encode(args)
            if before != after:
                record["arguments_after"] = args
            _write(record)


def _running_cell() -> int:
    """The execution count of the cell running now, as the grader finds it on the executed cell:
    IPython counts the cell before running it, and ipykernel reports that count minus one."""
    shell = getattr(builtins, "get_ipython", lambda: None)()
    return int(shell.execution_count) - 1 if shell is not None else 0


def _write(record):
    RECORDS.mkdir(exist_ok=True)
    earlier = list(RECORDS.glob("*.call"))
    arrays = []
    skeleton = {
        key: encode(value, arrays) if key in ("returned", "arguments_after") else value for key, value in record.items()
    }
    used = sum(path.stat().st_size for path in earlier)
    if used + sum(array.nbytes for array in arrays) > MAX_RECORD_BYTES:
        skeleton = {key: record[key] for key in ("function", "cell", "arguments")} | {"too_large": True}
        arrays = []
    with open(RECORDS / f"{len(earlier):06d}.call", "wb") as file:
        file.writelines(packed(skeleton, arrays))


# --- Encoding: JSON for the structure, raw bytes for arrays ---------------------------------


def encode(value, arrays=None, depth=0):
    """A JSON-able description of value; arrays are appended to `arrays` and referred to by index
    (without `arrays`, they are described by a digest of their bytes, for comparing two states)."""
    if depth > MAX_DEPTH:
        return {"opaque": "deeply nested object"}
    if value is None or type(value) in (bool, int, float, str):
        return {"value": value}
    if isinstance(value, (np.ndarray, np.generic)) and not np.asarray(value).dtype.hasobject:
        array = np.asarray(value)
        kind = "array" if isinstance(value, np.ndarray) else "scalar"
        if arrays is None:
            return {kind: [array.dtype.str, array.shape, hashlib.sha256(array.tobytes()).hexdigest()]}
        arrays.append(array)
        return {kind: len(arrays) - 1}
    if type(value) in (list, tuple):
        return {type(value).__name__: [encode(item, arrays, depth + 1) for item in value]}
    if type(value) is dict:
        return {
            "dict": [[encode(key, arrays, depth + 1), encode(item, arrays, depth + 1)] for key, item in value.items()]
        }
    return {"opaque": type(value).__name__}


def pack(skeleton, arrays) -> bytes:
    """Header length (8 bytes), JSON header, then the arrays' bytes one after another."""
    return b"".join(packed(skeleton, arrays))


def packed(skeleton, arrays):
    """pack's bytes in pieces, the arrays' as views of their memory (a large result is not copied twice)."""
    layout, offset = [], 0
    for array in arrays:
        layout.append([array.dtype.str, list(array.shape), offset, array.nbytes])
        offset += array.nbytes
    header = json.dumps({"skeleton": skeleton, "arrays": layout}).encode()
    yield len(header).to_bytes(8, "little") + header
    for array in arrays:
        yield np.ascontiguousarray(array).data  # in C order, as tobytes() gives them


def unpack(data: bytes):
    """The skeleton and arrays of a packed record; ValueError for anything malformed."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    body = memoryview(data)[8 + size :]
    arrays = []
    for dtype, shape, offset, nbytes in header["arrays"]:
        dtype = np.dtype(dtype)
        if dtype.hasobject or offset < 0 or offset + nbytes > len(body):
            raise ValueError("malformed array in a record")
        arrays.append(np.frombuffer(body[offset : offset + nbytes], dtype=dtype).reshape(shape).copy())
    return header["skeleton"], arrays


def decode(description, arrays):
    ((kind, content),) = description.items()
    if kind == "value":
        return content
    if kind == "array":
        return arrays[content]
    if kind == "scalar":
        return arrays[content][()]
    if kind in ("list", "tuple"):
        items = [decode(item, arrays) for item in content]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {_hashable(decode(key, arrays)): decode(item, arrays) for key, item in content}
    if kind == "opaque":
        return _opaque(str(content))
    raise ValueError(f"unknown kind {kind!r} in a record")


def _hashable(key):
    return key if not isinstance(key, (list, np.ndarray)) else repr(key)


def _opaque(type_name: str):
    """Stands for a value that cannot travel as data; its type keeps the original name, so a
    test's message ("it is a generator") reads as it would have in the kernel."""
    name = type_name if type_name.isidentifier() else "object"
    return type(name, (), {"__repr__": lambda self: f"<{name} object>"})()


# --- Grader side ------------------------------------------------------------------------------


def read_records(folder: Path) -> dict:
    """Records by cell (execution count), each cell's in call order; unreadable files are skipped."""
    by_cell = {}
    paths = sorted(folder.glob("*.call")) if folder.is_dir() and not folder.is_symlink() else []
    budget = MAX_RECORD_BYTES + 2**20 * (len(paths) + 1)
    for path in paths:
        if not path.is_file() or path.is_symlink() or (budget := budget - path.stat().st_size) < 0:
            continue
        try:
            skeleton, arrays = unpack(path.read_bytes())
            record = {
                key: decode(value, arrays) if key in ("returned", "arguments_after") else value
                for key, value in skeleton.items()
            }
            by_cell.setdefault(int(record["cell"]), []).append(record)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
            continue
    return by_cell


def replays(records: list, functions) -> dict:
    """{function: its Replay} for one cell's records: a function the cell never called in the
    kernel gets an empty Replay, so that a call to it in the rerun fails as unrecorded."""
    return {
        function: Replay(function, [record for record in records if record.get("function") == function])
        for function in functions
    }


class Replay:
    """Plays a graded function back from the records of its calls: each call gets the first
    unused record made with equal arguments."""

    def __init__(self, function: str, records: list):
        self.function, self.records = function, list(records)

    def __call__(self, *args):
        key = call_key(args)
        record = next((record for record in self.records if record.get("arguments") == key), None)
        if record is None:
            raise JudgingError(
                _(
                    "{function}: the test made a call the student's kernel did not make; "
                    "the test cell did not run to its end there (or its functions were replaced)."
                ).format(function=self.function)
            )
        self.records.remove(record)
        if record.get("too_large"):
            raise JudgingError(
                _("{function}: its results were too large to hand in (over {megabytes} MB in all).").format(
                    function=self.function, megabytes=MAX_RECORD_BYTES // 2**20
                )
            )
        if "arguments_after" in record:
            _overwrite(list(args), list(record["arguments_after"]))
        if "raised" in record:
            raise _exception(*record["raised"])
        return record.get("returned")


def _exception(name: str, message: str) -> Exception:
    kind = getattr(builtins, str(name), None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(message)
    return RuntimeError(f"{name}: {message}")


def _overwrite(targets, values):
    """Make each target (an argument the grader passed) hold what the kernel's copy held after the call."""
    for target, value in zip(targets, values):
        if isinstance(target, np.ndarray) and isinstance(value, np.ndarray) and target.shape == value.shape:
            target[...] = value
        elif isinstance(target, dict) and isinstance(value, dict):
            target.clear()
            target.update(value)
        elif isinstance(target, list) and isinstance(value, list):
            target[:] = value
        elif isinstance(target, tuple) and isinstance(value, tuple):
            _overwrite(list(target), list(value))
