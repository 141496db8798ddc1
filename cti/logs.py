"""The server's log format: one record, one line, whatever a caller put in a field.

An agent id, a call id in a URL path or a caller's name can hold CR, LF or other control
characters; written as they are, they would start a line that looks like another record (a
forged "login: agent=a07"). The message part of every record is escaped; a traceback, added
after it by the formatter, keeps its lines.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# C0 controls and DEL, escaped as Python would show them; TAB is kept.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), 127) if c != 9}
_ESCAPES.update({10: "\\n", 13: "\\r"})


class OneLineFormatter(logging.Formatter):
    """A Formatter whose `%(message)s` never holds a line break or another control char."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The formatted line, with the message escaped."""
        # isprintable() is False for every character translate() would change (and for
        # some it would not): the common message, all printable, skips the per-char map.
        if not record.message.isprintable():
            record.message = record.message.translate(_ESCAPES)
        return super().formatMessage(record)


def setup(level: int = logging.INFO) -> None:
    """Log to stderr in `FORMAT`, one line per record (`cti serve`, `cti demo`)."""
    # A record is made on the event loop, ahead of the frames waiting to go out (a pop is
    # logged between its publish and its write): skip what FORMAT never shows (the caller's
    # frame, thread and process), as the logging HOWTO's "Optimization" section says.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
