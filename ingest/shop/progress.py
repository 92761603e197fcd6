"""Progress lines for the long shop commands, on stderr.

On a terminal one line is redrawn in place; otherwise (logs, CI) a line is printed at most
every few seconds, plus every finished step.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Say what a long step is doing; silent when disabled."""

    def __init__(self, enabled: bool, stream: TextIO | None = None, every: float = 5.0) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.interactive = enabled and self.stream.isatty()
        self.every = every
        self.started = time.monotonic()
        self._last = self.started if not self.interactive else 0.0
        self._drawn = False

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def update(self, message: str) -> None:
        """A transient status: redrawn on a terminal, printed now and then otherwise."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self.interactive:
            if now - self._last >= 0.1:
                self.stream.write(f"\r\x1b[K{message}  [{self.elapsed():.1f} s]")
                self.stream.flush()
                self._drawn = True
                self._last = now
        elif now - self._last >= self.every:
            self.stream.write(f"{message}  [{self.elapsed():.1f} s]\n")
            self.stream.flush()
            self._last = now

    def done(self, message: str) -> None:
        """A finished step: always printed on its own line."""
        if not self.enabled:
            return
        prefix = "\r\x1b[K" if self._drawn else ""
        self.stream.write(f"{prefix}{message}  [{self.elapsed():.1f} s]\n")
        self.stream.flush()
        self._drawn = False
