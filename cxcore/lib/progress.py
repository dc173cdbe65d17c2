"""A terminal progress bar with counts, rate and time left; plain lines when not on a terminal."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int | None = None, unit: str = "rows", stream=None):
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.done = 0
        self._last_draw = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    @property
    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self._last_draw < (0.2 if self._tty else 5.0) and done != self.total:
            return
        self._last_draw = now
        self._draw()

    def _draw(self) -> None:
        text = f"{self.label}: {self.done:,} {self.unit}"
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = int(share * 30)
            left = (self.total - self.done) / self.rate if self.rate else 0
            text = (
                f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
                f"{self.done:,}/{self.total:,} {self.unit}  {self.rate:,.0f}/s  {left:,.0f}s left"
            )
        else:
            text += f"  {self.rate:,.0f}/s"
        if self._tty:
            self.stream.write("\r" + text.ljust(100))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        self._draw()
        if self._tty:
            self.stream.write("\n")
        self.stream.flush()
