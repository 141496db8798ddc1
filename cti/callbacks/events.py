"""What the callback list publishes: its JSON views (the one place they are built).

The list is shown to agents (`GET /api/callbacks`); the residents' names and flags come
from the registry at the time of reading, never the health notes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cti.callbacks.models import PRIORITY_ELDERLY, PRIORITY_EMERGENCY, Attempt, Callback
from cti.state import MatchLike

KIND = {PRIORITY_EMERGENCY: "emergency", PRIORITY_ELDERLY: "elderly"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def attempt_view(attempt: Attempt) -> dict[str, Any]:
    """One placement."""
    return {
        "id": attempt.id,
        "agent": attempt.agent,
        "seat": attempt.seat,
        "number": attempt.number,
        "target": attempt.target,
        "placed_at": _iso(attempt.placed_at),
        "result": attempt.result,
        "detail": attempt.detail,
        "ended_at": _iso(attempt.ended_at),
    }


def callback_view(
    callback: Callback,
    *,
    agent: str,
    now: datetime,
    match: MatchLike | None,
    numbers: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """A callback as an agent sees it; `numbers` (what may be dialled) only to its claimant."""
    residents = []
    if match is not None:
        for r in match.residents:
            if r.id in callback.resident_ids:
                residents.append({"id": r.id, "name": r.name, "age": r.age, "flags": list(r.flags)})
    open_ = callback.status in ("pending", "claimed")
    return {
        "id": callback.id,
        "call_id": callback.call_id,
        "kind": KIND.get(callback.priority, "other"),
        "priority": callback.priority,
        "status": callback.status,
        "mine": callback.claimed_by == agent,
        "claimed_by": callback.claimed_by,
        "number": callback.number,
        "queue": callback.queue,
        "language": callback.language,
        "residents": residents,
        "abandoned_at": _iso(callback.abandoned_at),
        "deadline_at": _iso(callback.deadline_at),
        "overdue": open_ and callback.deadline_at < now,
        "repeats": callback.repeats,
        "attempts": [attempt_view(a) for a in callback.attempts],
        "placing": callback.placing is not None,
        "numbers": numbers if callback.claimed_by == agent and open_ else [],
        "outcome": callback.outcome,
        "note": callback.note,
        "closed_at": _iso(callback.closed_at),
    }
