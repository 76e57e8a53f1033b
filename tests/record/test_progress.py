"""The grading run's progress: a tqdm bar on a terminal, one line per result elsewhere, and messages
printed during the run land above the bar instead of inside it."""

import io
import re

from tqdm import tqdm

from course.record.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_each_result_is_a_line():
    log = io.StringIO()
    with Progress(3, log) as progress:
        progress.update("ann: 40 points", False)
        progress.update("bob: not a notebook, 0 points", True)
        progress.update("cy: timed out, 30 points", True)
    lines = log.getvalue().splitlines()
    assert [re.sub(r"elapsed \S+  ETA \S+", "elapsed -  ETA -", line) for line in lines] == [
        "[##########....................] 1/3  elapsed -  ETA -  needs attention 0  (ann: 40 points)",
        "[####################..........] 2/3  elapsed -  ETA -  needs attention 1  (bob: not a notebook, 0 points)",
        "[##############################] 3/3  elapsed -  ETA -  needs attention 2  (cy: timed out, 30 points)",
    ]


def test_on_a_terminal_one_bar_counts_what_needs_attention_and_messages_go_above_it():
    screen = Terminal()
    with Progress(2, screen) as progress:
        progress.update("ann: 40 points", False)
        tqdm.write("gradebook unreachable while recording bob; retrying", file=screen)
        progress.update("bob: dead kernel, 10 points", True)
    drawn = screen.getvalue()
    assert "gradebook unreachable while recording bob; retrying\n" in drawn  # a line of its own
    # tqdm pads a redraw with spaces to blank out a longer line before it; the rate's width (and so that
    # padding) depends on how fast the test ran, so the padding is no part of what is checked.
    last = drawn.rstrip("\n").split("\r")[-1].rstrip(" ")
    assert re.fullmatch(r"grading: 100%\|.+\| 2/2 \[.+, needs attention: 1\]", last), last
    assert "ann" not in drawn and drawn.endswith("\n")  # no line per result: the bar says it all
