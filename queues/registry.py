"""The hotline's queues and the language each serves: one registry, read everywhere.

Until queue administration exists the registry is fixed: one queue per language (`zh` →
`q-zh`, …), the names `asterisk-conf/` and the recordings use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueDef:
    """One Asterisk queue and the language its callers speak."""

    name: str
    language: str


QUEUES: tuple[QueueDef, ...] = (
    QueueDef("q-zh", "zh"),
    QueueDef("q-en", "en"),
    QueueDef("q-ko", "ko"),
)
_BY_LANGUAGE = {q.language: q for q in QUEUES}
_BY_NAME = {q.name: q for q in QUEUES}


def queue_for_language(language: str) -> QueueDef | None:
    """The queue that serves `language` (`zh` → q-zh), or None when none does."""
    return _BY_LANGUAGE.get(language)


def language_of_queue(queue: str) -> str | None:
    """The language a queue serves (`q-ko` → ko), or None for a queue not in the registry."""
    known = _BY_NAME.get(queue)
    return known.language if known else None
