"""Finished calls into the call log; what the database cannot take yet waits in the spool.

A failing batch falls back to row by row (`CallLog.write_rows`), so one bad row costs only
itself; rows the database refuses for their content go to a second file for a person to
look at; rows it cannot take at all (down, restarting) are kept in the spool and replayed
when it is back. Logs name call ids and counts only: no caller number, no resident id, no
database message (which can quote them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from cti.state.call_log import CallLog, Row, WriteResult, describe_error, storable_row
from cti.state.outgoing import CallRecord
from cti.state.spool import CallLogSpool

log = logging.getLogger(__name__)

REPLAY_CHUNK: Final = 500


def refused_path(spool: CallLogSpool) -> Path:
    """Where rows the database refused are kept: beside the spool."""
    return spool.path.with_name(spool.path.stem + "-refused.jsonl")


def journal_path(spool: CallLogSpool) -> Path:
    """Where finished calls are noted before they wait in memory for their write."""
    return spool.path.with_name(spool.path.stem + "-journal.jsonl")


class CallLogWriter:
    """Writes finished calls, keeping what cannot be written yet (see the module docstring).

    Without a spool, rows the database cannot take are logged as lost (tests, benchmarks).
    """

    def __init__(self, call_log: CallLog, spool: CallLogSpool | None = None) -> None:
        self._call_log = call_log
        self.spool = spool
        self._refused = (
            CallLogSpool(refused_path(spool), max_bytes=spool.max_bytes) if spool else None
        )
        # A SIGKILL (or a crash) loses what waits in memory: every finished call is noted
        # on disk first, and the note is dropped once it is written or spooled.
        self._journal = (
            CallLogSpool(journal_path(spool), max_bytes=spool.max_bytes) if spool else None
        )
        self._replaying = asyncio.Lock()
        self._in_flight: list[Row] = []

    @property
    def waiting(self) -> int:
        """Calls kept in the spool until the database takes them."""
        return self.spool.pending if self.spool is not None else 0

    async def write(self, calls: Sequence[tuple[CallRecord, Sequence[str]]]) -> None:
        """Write finished calls, or keep them; never raises a database error."""
        rows = [storable_row(record, ids) for record, ids in calls]
        if not rows:
            return
        if self.waiting:
            # The database was unreachable a moment ago: queue behind the spooled rows and
            # let the replay find out when it is back (no connect attempt per call).
            self._keep(rows, "database unavailable", loud=False)
            return
        # Kept by keep_unfinished() if a stop cancels the write half way.
        self._in_flight = rows
        try:
            result = await self._call_log.write_rows(rows)
        except Exception as exc:  # not a database error (write_rows keeps those): a bug
            self._in_flight = []
            self._keep(rows, f"write failed ({describe_error(exc)})")
            raise
        self._in_flight = []
        self._settle(result)

    def keep_unfinished(self, calls: Sequence[tuple[CallRecord, Sequence[str]]] = ()) -> None:
        """On a stop: keep the batch being written (its write was cut off) and `calls`."""
        rows = self._in_flight + [storable_row(record, ids) for record, ids in calls]
        self._in_flight = []
        if rows:
            self._keep(rows, "server stopping")
        self.checkpoint()  # all of it is in the spool now

    def note(self, calls: Sequence[tuple[CallRecord, Sequence[str]]]) -> None:
        """A call ended: on disk at once, before it waits in memory for its write."""
        if self._journal is not None:
            self._store(self._journal, [storable_row(record, ids) for record, ids in calls])

    def checkpoint(self) -> None:
        """Every call noted so far is written or spooled: the journal starts afresh.

        Synchronous (no await between the caller's "nothing pending" and the truncation),
        so a call noted meanwhile cannot be dropped."""
        if self._journal is not None and self._journal.pending:
            _, offset = self._journal.take()
            self._journal.settle([], offset)

    def recover(self) -> int:
        """At start: the calls a killed server noted but never wrote go to the spool, whose
        replay writes them (a call already in the log is skipped). Returns how many."""
        if self._journal is None or self.spool is None or not self._journal.pending:
            return 0
        rows, offset = self._journal.take()
        spooled = {row.get("call_id") for row in self.spool.take()[0]}
        fresh = [row for row in rows if row.get("call_id") not in spooled]
        kept = self._store(self.spool, fresh)
        self._journal.settle([], offset)
        log.warning(
            "call log: %d call(s) noted by a server that stopped before writing them; replaying",
            kept,
        )
        return kept

    async def replay(self) -> None:
        """Write the spooled rows if the database takes them now; keep the rest."""
        if self.spool is None:
            return
        async with self._replaying:
            rows, offset = self.spool.take()
            unwritten: list[Row] = []
            written = 0
            error = None
            for start in range(0, len(rows), REPLAY_CHUNK):
                chunk = rows[start : start + REPLAY_CHUNK]
                if unwritten:
                    unwritten += chunk
                    continue
                result = await self._call_log.write_rows(chunk)
                written += result.written
                error = result.error or error
                self._refuse(result)
                unwritten += result.unwritten
            self.spool.settle(unwritten, offset)
        if written:
            log.info(
                "call log: database back; %d spooled call(s) written, %d still waiting",
                written,
                self.waiting,
            )
        elif unwritten:
            log.debug("call log: database still unavailable (%s)", error)

    async def holds(self, call_id: str) -> bool:
        """True when the call's row is waiting in the spool."""
        if self.spool is None or not self.spool.pending:
            return False
        rows, _ = self.spool.take()
        return any(row.get("call_id") == call_id for row in rows)

    def _settle(self, result: WriteResult) -> None:
        self._refuse(result)
        if result.unwritten:
            self._keep(result.unwritten, f"database unavailable ({result.error})")

    def _refuse(self, result: WriteResult) -> None:
        if not result.refused:
            return
        ids = ", ".join(str(row.get("call_id")) for row in result.refused[:10])
        kept = self._store(self._refused, result.refused)
        log.error(
            "call log: the database refused %d row(s) (%s): call=%s; %d kept in %s",
            len(result.refused),
            result.error,
            ids,
            kept,
            self._refused.path if self._refused else "(no spool)",
        )

    def _keep(self, rows: list[Row], why: str, *, loud: bool = True) -> None:
        kept = self._store(self.spool, rows)
        if self.spool is None:
            log.error("call log: %s; %d call(s) lost (no spool configured)", why, len(rows))
        else:
            log.log(
                logging.WARNING if loud else logging.DEBUG,
                "call log: %s; %d call(s) kept in %s (%d waiting)",
                why,
                kept,
                self.spool.path,
                self.spool.pending,
            )

    @staticmethod
    def _store(spool: CallLogSpool | None, rows: list[Row]) -> int:
        if spool is None:
            return 0
        try:
            return spool.append(rows)
        except OSError as exc:
            log.error(
                "call log: spool %s not writable (%s); %d call(s) lost",
                spool.path,
                describe_error(exc),
                len(rows),
            )
            return 0
