"""What a lookup returns: frozen, JSON-ready cards without health notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from locator.callerid import CallerId

Flag = Literal["lives_alone", "empty_nest", "lost_only_child"]
FLAG_ORDER: tuple[Flag, ...] = ("lives_alone", "empty_nest", "lost_only_child")


@dataclass(frozen=True, slots=True)
class KinCard:
    """A next of kin to call: `phones` in E.164 (first one first)."""

    name: str
    relation: str
    phones: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"name": self.name, "relation": self.relation, "phones": list(self.phones)}


@dataclass(frozen=True, slots=True)
class ResidentCard:
    """What the agent's second screen shows of a resident (never the health notes).

    Sequences are tuples: a card is shared by every lookup that finds it, so it must not be
    mutable. `sex` is "M"/"F"/None, `age` in whole years at `as_of` (the day the index was
    built), `phones` E.164, `next_of_kin` in calling order.
    """

    id: str
    name: str
    sex: str | None
    age: int | None
    birth_date: date | None
    community: str
    address: str
    phones: tuple[str, ...]
    language: str
    flags: tuple[Flag, ...]
    next_of_kin: tuple[KinCard, ...]
    household_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings)."""
        return {
            "id": self.id,
            "name": self.name,
            "sex": self.sex,
            "age": self.age,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "community": self.community,
            "address": self.address,
            "phones": list(self.phones),
            "language": self.language,
            "flags": list(self.flags),
            "next_of_kin": [k.to_json() for k in self.next_of_kin],
            "household_id": self.household_id,
        }


@dataclass(frozen=True, slots=True)
class Match:
    """The answer to a caller ID: zero, one or several residents (a household)."""

    caller: CallerId
    residents: list[ResidentCard] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: `{"caller": {...}, "residents": [...]}`."""
        return {
            "caller": self.caller.to_json(),
            "residents": [r.to_json() for r in self.residents],
        }


def age_on(birth: date | None, today: date) -> int | None:
    """Whole years between `birth` and `today`."""
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
