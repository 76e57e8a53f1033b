"""How far a grading run has got, on the instructor's terminal.

On a terminal, one tqdm bar: done/total, elapsed, ETA and how many submissions need attention so far.
Elsewhere (a log file, CI), where a redrawn bar would pile up, one line per result in the same terms.
Anything else printed while the bar is up goes through `tqdm.write`, which prints above it.
"""

import sys
import time

from tqdm import tqdm

LOG_LINE = "[{bar:30}] {n_fmt}/{total_fmt}  elapsed {elapsed}  ETA {remaining}"


class Progress:
    def __init__(self, total: int, stream=None):
        self.total, self.done, self.attention = total, 0, 0
        self.stream, self.started = stream or sys.stderr, time.monotonic()
        self.bar = tqdm(
            total=total,
            file=self.stream,
            desc="grading",
            unit="submission",
            dynamic_ncols=True,
            postfix="needs attention: 0",
            disable=not self.stream.isatty(),
        )

    def update(self, outcome: str, needs_attention: bool) -> None:
        """One more submission done; outcome is its line in a log ("<student>: <what happened>")."""
        self.done += 1
        self.attention += needs_attention
        if self.bar.disable:
            meter = tqdm.format_meter(
                self.done, self.total, time.monotonic() - self.started, bar_format=LOG_LINE, ascii=".#"
            )
            self.stream.write(f"{meter}  needs attention {self.attention}  ({outcome})\n")
            self.stream.flush()
        else:
            self.bar.set_postfix_str(f"needs attention: {self.attention}", refresh=False)
            self.bar.update()

    def close(self) -> None:
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
