"""Where the feed server's access lines go: the `roundtable.feeds` logger by default, or,
under `feeds serve`, straight to stderr in batches.

Why the batches: figure 3 of docs/benchmarks.md (benchmarks/serve_feeds) holds the server to
1.2x of a bare ASGI app on the same uvicorn, and a line through `logging` (a LogRecord, the
caller's frame, the time formatted, a write and a flush of stderr) cost about a quarter of
what our app adds to a 304. `BufferedAccessLog` writes the very same text, as
`logging.Formatter(LOG_FORMAT)` would format it, but keeps each line with its moment and
formats them all when it writes them, with one write and one flush: at most
`FLUSH_SECONDS` after the first of them, at once when `MAX_LINES` wait, and when the
server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol, TextIO

LOGGER = "roundtable.feeds"
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"
"""The format `feeds serve` gives logging, and so the access lines' format."""
FLUSH_SECONDS = 0.05
"""The longest a line waits in the buffer: a tail of the log is at most this far behind."""
MAX_LINES = 500
"""Lines that make a write at once, whatever the time: bounds the buffer's memory."""


class AccessLog(Protocol):
    def __call__(self, line: str) -> None:
        """Record one line (INFO level): `GET /feeds/***/all.ics 200`."""

    def flush(self) -> None:
        """Write what is waiting, before anything else reaches the same log."""


class LoggingAccessLog:
    """Each line an INFO record of the `roundtable.feeds` logger, with its handlers and level."""

    def __init__(self) -> None:
        self.logger = logging.getLogger(LOGGER)

    def __call__(self, line: str) -> None:
        self.logger.info("%s", line)

    def flush(self) -> None:
        """Nothing waits: logging's handlers write each record at once."""


class BufferedAccessLog:
    """Lines formatted as `logging.Formatter(LOG_FORMAT)` formats a `roundtable.feeds`
    record, written to `stream` in batches (see the module's docstring).

    For the event loop's thread only. Outside a running loop a line is written at once.
    """

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.time) -> None:
        self.stream = stream
        self.clock = clock
        self._lines: list[str] = []
        self._moments: list[float] = []
        """When each waiting line was recorded: the time is formatted when it is written,
        off the request's path (figure 3)."""
        self._timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = ""

    def __call__(self, line: str) -> None:
        self._moments.append(self.clock())
        self._lines.append(line)
        if len(self._lines) >= MAX_LINES:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(FLUSH_SECONDS, self.flush)

    def _text(self, now: float, line: str) -> str:
        second = int(now)
        if second != self._second:  # strftime once a second, not once a line
            self._second = second
            self._stamp = time.strftime(logging.Formatter.default_time_format, time.localtime(now))
        # The milliseconds as logging's LogRecord takes them: truncated, not rounded.
        return f"{self._stamp},{int((now - second) * 1000):03d} {LOGGER} {line}\n"

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        lines, moments, self._lines, self._moments = self._lines, self._moments, [], []
        text = "".join(map(self._text, moments, lines))
        # A closed or broken stderr must not fail requests; logging's handlers carry on too.
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text)
            self.stream.flush()
