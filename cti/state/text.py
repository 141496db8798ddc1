"""Small pure helpers: the seat of a queue member, caller text for display, queue language."""

from __future__ import annotations

from typing import Final

from seats import seat_of_interface

_UNKNOWN: Final = "<unknown>"


def member_seat(interface: str | None, member_name: str | None = None) -> str | None:
    """The seat behind a queue member: `Local/seat07@agents/n` or `PJSIP/seat07` -> `seat07`.

    Falls back to the MemberName when the interface does not name a seat.
    """
    return seat_of_interface(interface) or seat_of_interface(member_name)


def display_text(value: str | None) -> str | None:
    """Caller text as a person should read it.

    Asterisk writes an absent value as `<unknown>` and escapes `'` as `\\'` and a SIP display
    name's `"` as `\\\\\\"`; this undoes that. None for absent or empty.
    """
    if value is None:
        return None
    value = value.strip()
    if not value or value == _UNKNOWN:
        return None
    return value.replace('\\\\\\"', '"').replace("\\'", "'").replace('\\"', '"')


def queue_language(queue: str) -> str | None:
    """The language a queue serves, from its name: `q-zh` -> `zh`, `q-ko` -> `ko`."""
    _, sep, suffix = queue.rpartition("-")
    return suffix if sep and suffix in ("zh", "en", "ko") else None
