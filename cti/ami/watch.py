"""`cti ami watch`: connect with the settings and print events as they arrive."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TextIO

from cti.ami.client import AMIClient, Resync
from cti.ami.protocol import Event
from cti.settings import AMISettings

# Enough to follow a call through the queues without printing callers' numbers.
_SUMMARY_KEYS = ("Queue", "MemberName", "Interface", "Channel", "Uniqueid", "Status", "Reason")


def summary(event: Event) -> str:
    """One short line for an event: its name and the fields that identify what it is about."""
    parts = [event.name]
    for key in _SUMMARY_KEYS:
        value = event.get(key)
        if value:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def _resync_line(resync: Resync) -> str:
    return (
        f"-- resynced at {resync.at.isoformat(timespec='seconds')}: "
        f"{len(resync.queue_status)} queue items, {len(resync.channels)} channels"
    )


async def watch(settings: AMISettings, *, raw: bool = False, out: TextIO = sys.stdout) -> int:
    """Print every event (one JSON line each with `raw`) until interrupted."""
    client = AMIClient(settings)

    def show(event: Event) -> None:
        if raw:
            record = {"name": event.name, "headers": list(event.headers)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(summary(event) + "\n")
        out.flush()

    def resynced(resync: Resync) -> None:
        out.write(_resync_line(resync) + "\n")
        out.flush()

    client.subscribe(show)
    client.on_resynced(resynced)
    out.write(f"-- watching AMI at {client.address} as {settings.username!r}\n")
    await client.start()
    try:
        await asyncio.Event().wait()
    finally:
        await client.stop()
    return 0
