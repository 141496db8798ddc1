"""Which numbers a callback may dial: the caller's own, and (after it failed, for a resident
who lives alone) their next of kin's, in calling order. Never a number the agent types."""

from __future__ import annotations

import phonenumbers

from cti.callbacks.placing import DIALABLE


def dialable(raw: str | None, region: str) -> str | None:
    """The digits Asterisk's `callback` context dials for `raw` (a caller ID as Asterisk gave
    it, or an E.164 kin phone): the national form at home, `00…` abroad; None when there is
    no number (anonymous, withheld) or it cannot be dialled."""
    if not raw:
        return None
    text = raw.strip()
    if DIALABLE.match(text):
        return text
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    formatted = phonenumbers.format_out_of_country_calling_number(parsed, region)
    digits = "".join(c for c in formatted if c.isdigit())
    return digits if DIALABLE.match(digits) else None
