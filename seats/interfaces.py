"""Which seat a queue member interface, member name or channel belongs to."""

from __future__ import annotations

import re
from functools import lru_cache

# A seat is `seat` + digits. It appears after a technology prefix (`Local/`, `PJSIP/`,
# `Custom:`) or alone (MemberName), and is followed by the end, a dialplan context
# (`@agents/n`), or a channel suffix (`-0000000a`, `;1`).
_SEAT = re.compile(r"(?:^|[/:])(seat\d{1,4})(?=$|[@;/\-])", re.IGNORECASE)


# Interfaces and member names are few (one or two a seat) and come back with every event of
# a member: each is matched once. Channels differ per call; the bound keeps them from piling up.
@lru_cache(maxsize=4096)
def seat_of_interface(name: str | None) -> str | None:
    """The seat (`seat07`) named by an interface, member name or channel, else None.

    `Local/seat07@agents/n`, `Local/seat07@agents-00000001;1`, `PJSIP/seat07`,
    `PJSIP/seat07-0000000a`, `Custom:seat07` and `seat07` all give "seat07"; a trunk or
    caller channel (`PJSIP/trunk-…`, `Local/89000@inbound-…`) gives None.
    """
    if not name:
        return None
    match = _SEAT.search(name.strip())
    return match.group(1).lower() if match else None
