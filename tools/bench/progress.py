"""A one-line progress display on stderr (a line per phase when stderr is not a terminal)."""

from __future__ import annotations

import sys
import time


class Progress:
    """`phase("...")` starts a phase; `step(done, total)` updates its counter."""

    def __init__(self, stream=sys.stderr) -> None:  # noqa: ANN001
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.label = ""
        self._last = 0.0

    def _prefix(self) -> str:
        return f"[{time.monotonic() - self.started:6.1f}s] {self.label}"

    def phase(self, label: str) -> None:
        """Begin a phase (printed at once)."""
        self.label = label
        if self.tty:
            self.stream.write("\r\033[K" + self._prefix())
        else:
            self.stream.write(self._prefix() + "\n")
        self.stream.flush()

    def step(self, done: int, total: int) -> None:
        """Progress inside the phase (on a terminal only, at most 10 times a second)."""
        if not self.tty:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        self.stream.write(f"\r\033[K{self._prefix()} {done}/{total}")
        self.stream.flush()

    def done(self) -> None:
        """End the display (leaves the cursor on a fresh line)."""
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()
