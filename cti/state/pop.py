"""The pop message: what the ringing agent's second monitor shows."""

from __future__ import annotations

from typing import Any

from cti.state.outgoing import PopDue
from cti.state.ports import IvrLearntLike, MatchLike, ResidentCardLike


def pop_resident(card: ResidentCardLike) -> dict[str, Any]:
    """A resident as the pop (and the registry search) sends it: never the health notes."""
    return {
        "id": card.id,
        "name": card.name,
        "age": card.age,
        "address": card.address,
        "community": card.community,
        "language": card.language,  # the resident's preferred language (zh, en, ko)
        "flags": list(card.flags),
        "next_of_kin": [
            {"name": kin.name, "relation": kin.relation, "phones": list(kin.phones)}
            for kin in card.next_of_kin
        ],
    }


def _ivr(learnt: IvrLearntLike) -> dict[str, Any]:
    return {
        "language": learnt.language,
        "how": learnt.how,
        "emergency": learnt.emergency,
        "recognised": learnt.recognised,
    }


def pop_message(
    due: PopDue, match: MatchLike | None, ivr: IvrLearntLike | None = None
) -> dict[str, Any]:
    """The `pop` for `due`; without a locator (or a match) the caller is "unknown"; `ivr` is
    what the language menu learnt (null when the call did not come through it)."""
    caller: dict[str, Any] = {
        "number": due.caller_number,
        "normalized": None,
        "name": due.caller_name,
        "kind": "unknown",
        "region": None,
    }
    residents: list[dict[str, Any]] = []
    if match is not None:
        caller["normalized"] = match.caller.normalized
        caller["kind"] = match.caller.kind
        caller["region"] = match.caller.region
        residents = [pop_resident(card) for card in match.residents]
    return {
        "type": "pop",
        "call_id": due.call_id,
        "queue": due.queue,
        "seat": due.seat,
        "caller": caller,
        "residents": residents,
        "waited_s": due.waited_s,
        "ivr": _ivr(ivr) if ivr is not None else None,
    }
