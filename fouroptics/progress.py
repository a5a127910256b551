"""Progress for the verbs: whether bars are drawn, and one line per stage.

A tqdm bar redraws itself many times a second; on a terminal that is one line updated in place,
in a log (stderr redirected to a file, a pipe, a batch job) every redraw is a new line. So bars
are drawn only when stderr is a terminal (and ``--no-progress`` was not given), and a verb's
stage lines (:class:`Stages`) are shown there too: a log gets the verb's results and errors,
not its progress.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: the current ``sys.stderr``) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(callable(isatty) and isatty())
    except ValueError:  # a closed stream
        return False


def show_bars(requested: bool = True, stream: TextIO | None = None) -> bool:
    """Whether to draw progress bars: asked for (no ``--no-progress``) and on a terminal."""
    return bool(requested) and is_terminal(stream)


class Stages:
    """``verb: [12.3 s] text`` on stderr for each stage a verb starts, on a terminal only."""

    def __init__(self, verb: str, requested: bool = True, stream: TextIO | None = None) -> None:
        self.verb = verb
        self.stream = sys.stderr if stream is None else stream
        self.on = show_bars(requested, self.stream)
        self.t0 = time.perf_counter()

    def __call__(self, text: str) -> None:
        if self.on:
            elapsed = time.perf_counter() - self.t0
            print(f"{self.verb}: [{elapsed:.1f} s] {text}", file=self.stream, flush=True)
