"""Call-log rows the database cannot take yet, kept on disk until it can.

One JSON object a line, appended; size-capped. The writer replays it when the database is
back (`take`, write, then `settle` with what is still unwritten). Rows added while a replay
waits on the database are kept: `settle` only replaces the lines `take` read.

The file holds what the call log holds (caller numbers, resident ids): it is created 0600,
and nothing from it is ever logged but counts.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

log = logging.getLogger(__name__)

Row = dict[str, Any]

DEFAULT_SPOOL_PATH: Final = Path("var/call-log-spool.jsonl")
DEFAULT_MAX_BYTES: Final = 64 << 20  # ~170,000 calls (~390 bytes each)
_DATETIMES: Final = ("joined_at", "ended_at")


def _encode(row: Row) -> bytes:
    plain = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
    return json.dumps(plain, ensure_ascii=False).encode("utf-8") + b"\n"


def _decode(line: bytes) -> Row:
    row: Row = json.loads(line)
    for key in _DATETIMES:
        if isinstance(row.get(key), str):
            row[key] = datetime.fromisoformat(row[key])
    return row


class CallLogSpool:
    """A bounded JSON-lines file of call-log rows (see the module docstring)."""

    def __init__(self, path: Path = DEFAULT_SPOOL_PATH, *, max_bytes: int = DEFAULT_MAX_BYTES):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.lost = 0  # rows that did not fit, since start
        self._full_logged = False
        self._pending = self._count()

    @property
    def pending(self) -> int:
        """Rows kept in the file, waiting for the database."""
        return self._pending

    def _count(self) -> int:
        try:
            with self.path.open("rb") as f:
                return sum(1 for line in f if line.strip())
        except FileNotFoundError:
            return 0

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, rows: Sequence[Row]) -> int:
        """Keep `rows`; returns how many fitted under the cap (the rest are counted, logged)."""
        if not rows:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = self._size()
        data = bytearray()
        kept = 0
        for row in rows:
            line = _encode(row)
            if size + len(data) + len(line) > self.max_bytes:
                break
            data += line
            kept += 1
        if data:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "ab") as f:
                f.write(data)
            self._pending += kept
        dropped = len(rows) - kept
        if dropped:
            self.lost += dropped
            if not self._full_logged:
                log.error(
                    "call-log spool %s is full (%d bytes cap): %d call(s) could not be kept;"
                    " the database has been unreachable for long",
                    self.path,
                    self.max_bytes,
                    dropped,
                )
                self._full_logged = True
        return kept

    def take(self) -> tuple[list[Row], int]:
        """Every kept row and the file offset read up to (for `settle`)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return [], 0
        rows: list[Row] = []
        bad = 0
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                rows.append(_decode(line))
            except ValueError:
                bad += 1  # a line cut by a crash mid-write
        if bad:
            log.warning("call-log spool %s: %d unreadable line(s) skipped", self.path, bad)
        return rows, len(data)

    def settle(self, unwritten: Sequence[Row], offset: int) -> None:
        """Replace the rows `take` read (up to `offset`) with `unwritten`, keeping any added
        since; the file is removed once nothing is left."""
        try:
            with self.path.open("rb") as f:
                f.seek(offset)
                added = f.read()
        except FileNotFoundError:
            added = b""
        data = b"".join(_encode(row) for row in unwritten) + added
        if not data:
            self.path.unlink(missing_ok=True)
            self._pending = 0
        else:
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self._pending = sum(1 for line in data.splitlines() if line.strip())
        if self._size() < self.max_bytes:
            self._full_logged = False
