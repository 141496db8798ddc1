"""The hotline's queues and the language each serves: one registry, read everywhere.

The registry is data-driven: it starts from the model's defaults (`queues.model`) and an
administrator's applied change installs the new set (`install`). `QUEUES` stays the
language queues the server started with, for code that lists them once at import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from queues.model import QueueSpec, default_queues


@dataclass(frozen=True, slots=True)
class QueueDef:
    """One Asterisk queue and the language its callers speak."""

    name: str
    language: str
    kind: str = "language"


class _Registry:
    def __init__(self, specs: Iterable[QueueSpec]) -> None:
        self.install(specs)

    def install(self, specs: Iterable[QueueSpec]) -> None:
        defs = tuple(QueueDef(s.name, s.language, s.kind) for s in specs)
        self.all = defs
        self.by_name = {q.name: q for q in defs}
        self.by_language = {q.language: q for q in defs if q.kind == "language"}


_REGISTRY = _Registry(default_queues())
QUEUES: tuple[QueueDef, ...] = tuple(q for q in _REGISTRY.all if q.kind == "language")


def install(specs: Iterable[QueueSpec]) -> None:
    """Make `specs` the queues every reader sees (an applied administrator's change)."""
    _REGISTRY.install(specs)


def queues() -> tuple[QueueDef, ...]:
    """Every queue now in the registry (language, duty and expert queues)."""
    return _REGISTRY.all


def queue_for_language(language: str) -> QueueDef | None:
    """The language queue that serves `language` (`zh` → q-zh), or None when none does."""
    return _REGISTRY.by_language.get(language)


def language_of_queue(queue: str) -> str | None:
    """The language a queue serves (`q-ko` → ko), or None for a queue not in the registry."""
    known = _REGISTRY.by_name.get(queue)
    return known.language if known else None
