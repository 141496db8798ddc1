"""A resident as the archive describes it, validated: what import, generate and the store share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class KinRecord:
    """A next of kin: phones in E.164."""

    name: str
    relation: str
    phones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResidentRecord:
    """One validated row of the archive; phones in E.164, kin in calling order."""

    id: str
    name: str
    sex: str | None
    birth_date: date | None
    community: str
    address: str
    landlines: tuple[str, ...]
    mobiles: tuple[str, ...]
    language: str
    lives_alone: bool
    empty_nest: bool
    lost_only_child: bool
    health_notes: str
    next_of_kin: tuple[KinRecord, ...]


@dataclass(frozen=True, slots=True)
class AddressParts:
    """An address split for dispatch; a part is "" when the text did not have it."""

    district: str = ""
    street: str = ""
    number: str = ""
    unit: str = ""
    room: str = ""


_DISTRICT = re.compile(r"^(.{1,8}?[区县])")
_NUMBER = re.compile(r"(\d+号(?:院)?(?:\d+号楼)?)")
_UNIT = re.compile(r"(\d+单元)")
_ROOM = re.compile(r"(\d+室)")


def split_address(address: str) -> AddressParts:
    """Split `莱山区滨海中路17号3单元402室` into district, street, number, unit and room."""
    rest = address.strip()
    district = ""
    m = _DISTRICT.match(rest)
    if m:
        district, rest = m.group(1), rest[m.end() :]
    number = unit = room = ""
    street = rest
    m = _NUMBER.search(rest)
    if m:
        street, number, tail = rest[: m.start()], m.group(1), rest[m.end() :]
        mu, mr = _UNIT.search(tail), _ROOM.search(tail)
        unit = mu.group(1) if mu else ""
        room = mr.group(1) if mr else ""
    return AddressParts(district, street, number, unit, room)
