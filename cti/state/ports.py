"""What the state machine needs from other packages, as Protocols (see docs/architecture.md).

`locator.Locator` and `seats.SeatDirectory` satisfy these structurally; tests may use small
fakes. Only the attributes used here are listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class SeatDirectory(Protocol):
    """Who is logged in where."""

    def agent_at(self, seat: str) -> str | None: ...


class CallerIdLike(Protocol):
    @property
    def raw(self) -> str: ...
    @property
    def normalized(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def region(self) -> str | None: ...


class KinCardLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def relation(self) -> str: ...
    @property
    def phones(self) -> Sequence[str]: ...


class ResidentCardLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def age(self) -> int | None: ...
    @property
    def address(self) -> str: ...
    @property
    def community(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def flags(self) -> Sequence[str]: ...
    @property
    def next_of_kin(self) -> Sequence[KinCardLike]: ...


class MatchLike(Protocol):
    @property
    def caller(self) -> CallerIdLike: ...
    @property
    def residents(self) -> Sequence[ResidentCardLike]: ...


class CallerLocator(Protocol):
    """The locator: an in-memory lookup and the privacy audit of who saw which record."""

    def lookup(self, raw_caller_id: str | None) -> MatchLike: ...

    async def record_view(self, resident_ids: Sequence[str], viewer: str, call_id: str) -> None: ...

    async def record_views(self, views: Sequence[tuple[Sequence[str], str, str]]) -> None: ...


class IvrLearntLike(Protocol):
    """What the IVR set on a call (`ivr.Learnt`): the language chosen and how."""

    @property
    def language(self) -> str: ...
    @property
    def how(self) -> str: ...
    @property
    def emergency(self) -> bool: ...
    @property
    def recognised(self) -> bool: ...


class IvrMemory(Protocol):
    """`ivr.IvrNotes`: what the IVR learnt, by the caller's Uniqueid (the call id)."""

    def learnt(self, call_id: str) -> IvrLearntLike | None: ...
