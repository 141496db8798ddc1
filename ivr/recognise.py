"""From the locator's match to the facts the menu needs (a port: the locator satisfies it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ivr.menu import CallerFacts


class _Caller(Protocol):
    @property
    def suggested_language(self) -> str | None: ...


class _Resident(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def language(self) -> str: ...


class _Match(Protocol):
    @property
    def caller(self) -> _Caller: ...
    @property
    def residents(self) -> Sequence[_Resident]: ...


class CallerLookup(Protocol):
    """`locator.Locator`: an in-memory, synchronous lookup (a ring never waits on a query)."""

    def lookup(self, raw_caller_id: str | None) -> _Match: ...


Recognise = Callable[[str | None], CallerFacts]


def recogniser(locator: CallerLookup) -> Recognise:
    """`recognise(raw_caller_id)`: the residents at that number and the country's language."""

    def recognise(raw_caller_id: str | None) -> CallerFacts:
        match = locator.lookup(raw_caller_id)
        residents = match.residents
        return CallerFacts(
            resident_ids=tuple(r.id for r in residents),
            resident_language=residents[0].language if residents else None,
            suggested_language=match.caller.suggested_language,
        )

    return recognise


def nobody(raw_caller_id: str | None) -> CallerFacts:
    """No registry: every caller hears the menu in the default order."""
    return CallerFacts()
