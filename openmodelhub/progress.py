"""Progress of long commands: a bar on a terminal, a line every few seconds otherwise.

One helper for every long command (records, licences, catalogue generation, embeddings, imports)::

    from openmodelhub.progress import progress

    with progress(len(items), "models", stdout=self.stdout, verbosity=options["verbosity"]) as bar:
        for item in items:
            ...
            bar.advance()  # or bar.advance(n) after a batch of n

* On a terminal (``stdout.isatty()``) one line is redrawn in place, at most ten times a second:
  ``models [#######.............] 3,500/10,000 35% 1,234/s ETA 0:05``, and left complete at the end.
* Otherwise (a pipe, a log file, CI) a line ``models: 3,500/10,000 (35%), 1,234/s`` is printed every
  ``OMH_PROGRESS_SECONDS`` seconds (10 by default), and a last line with the total and the time when
  at least one line was printed (or with ``--verbosity 2``), so short runs add nothing to the output.
* ``--verbosity 0`` prints nothing. ``total`` may be ``None`` (unknown, no percentage) or given later
  with ``bar.set_total(n)``.

``stdout`` is a Django command's ``self.stdout`` (an ``OutputWrapper``) or any text stream; the
default is ``sys.stdout``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1


def _interval() -> float:
    """``settings.PROGRESS_SECONDS`` (``OMH_PROGRESS_SECONDS``), or 10 s outside Django."""
    from django.conf import settings

    return max(0.0, float(settings.PROGRESS_SECONDS)) if settings.configured else 10.0


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Counts work done and reports it; use it through :func:`progress`."""

    def __init__(self, total: int | None, label: str, *, stdout=None, verbosity: int = 1, interval=None):
        self.total = total
        self.label = label
        self.done = 0
        self.verbosity = verbosity
        self.stream: TextIO = getattr(stdout, "_out", stdout) or sys.stdout  # a Django OutputWrapper's stream
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.interval = _interval() if interval is None else interval
        self.started = self._last = time.monotonic()
        self.lines = 0  # periodic lines printed (not on a terminal)
        self._width = 0  # length of the line drawn on the terminal

    def set_total(self, total: int | None) -> None:
        self.total = total
        if self.tty:
            self._report(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._report()

    # --- rendering --------------------------------------------------------------------------
    def _rate(self, now: float) -> float:
        elapsed = now - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def _counts(self) -> str:
        return f"{self.done:,}/{self.total:,}" if self.total is not None else f"{self.done:,}"

    def _percent(self) -> str:
        return f"{100 * self.done / self.total:.0f}%" if self.total else ""

    def _bar_line(self, now: float, final: bool = False) -> str:
        rate = self._rate(now)
        parts = [self.label]
        if self.total:
            filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
            parts.append("[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]")
        parts += [self._counts(), self._percent(), f"{rate:,.0f}/s"]
        if final:
            parts.append(f"in {_duration(now - self.started)}")
        elif self.total and rate > 0 and self.done < self.total:
            parts.append(f"ETA {_duration((self.total - self.done) / rate)}")
        return " ".join(p for p in parts if p)

    def _plain_line(self, now: float, final: bool = False) -> str:
        percent = self._percent()
        counts = self._counts() + (f" ({percent})" if percent else "")
        if final:
            return f"{self.label}: {counts} in {now - self.started:.1f} s, {self._rate(now):,.0f}/s"
        return f"{self.label}: {counts}, {self._rate(now):,.0f}/s"

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _report(self, force: bool = False) -> None:
        if self.verbosity < 1:
            return
        now = time.monotonic()
        if self.tty:
            if force or now - self._last >= REDRAW_SECONDS:
                self._last = now
                self._draw(self._bar_line(now))
        elif now - self._last >= self.interval and self.interval > 0:
            self._last = now
            self.lines += 1
            self._write(self._plain_line(now) + "\n")

    def _draw(self, line: str) -> None:
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self._write("\r" + line + " " * pad)

    def finish(self) -> None:
        if self.verbosity < 1:
            return
        now = time.monotonic()
        if self.tty:
            self._draw(self._bar_line(now, final=True))
            self._write("\n")
        elif self.lines or self.verbosity >= 2:
            self._write(self._plain_line(now, final=True) + "\n")


@contextmanager
def progress(
    total: int | None, label: str, *, stdout=None, verbosity: int = 1, interval: float | None = None
) -> Iterator[Progress]:
    """A :class:`Progress` for the ``with`` block; the last state is printed when the block ends
    (also on an error, so the output shows how far the work went)."""
    bar = Progress(total, label, stdout=stdout, verbosity=verbosity, interval=interval)
    if bar.tty and verbosity >= 1:
        bar._draw(bar._bar_line(bar.started))
    try:
        yield bar
    finally:
        bar.finish()
