"""Caller-ID normalisation: whatever Asterisk or a spreadsheet gives, one E.164 form.

The same person must be found whether the trunk reports `05356683318`, `6683318` (a local
7-8 digit number: the home area code is implied), `+865356683318`, `00865356683318`,
`865356683318`, `0535-668 3318` or `（0535）6683318`. Garbage (`<unknown>`, `Anonymous`,
`restricted`, letters, absurd lengths) gives an "unknown" `CallerId`, never an exception.
Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import phonenumbers

from cti.settings import LocatorSettings

CallerKind = Literal["unknown", "domestic", "foreign"]

# Placeholders Asterisk and SIP trunks put where a number would be.
_PLACEHOLDERS = frozenset(
    {
        "",
        "<unknown>",
        "unknown",
        "anonymous",
        "restricted",
        "private",
        "unavailable",
        "withheld",
        "invalid",
        "asterisk",
    }
)
_SEPARATORS = re.compile(r"[\s\-./()\[\]]+")
_MAX_DIGITS = 17  # E.164 is at most 15; allow "00" + 15
_MIN_DIGITS = 5
_MIN_INTERNATIONAL = 7  # country code + subscriber number: the shortest real ones have 7
_ENGLISH_REGIONS = frozenset({"US", "CA", "GB", "AU", "NZ", "IE", "SG", "ZA", "PH", "IN"})
_CHINESE_REGIONS = frozenset({"CN", "HK", "MO", "TW"})


@dataclass(frozen=True, slots=True)
class CallerId:
    """A caller ID as understood: `normalized` is E.164 (`+865356683318`) or None.

    `kind` is "unknown" (no usable number), "domestic" (+86) or "foreign"; `region` the
    ISO country ("CN", "KR", "US") and `suggested_language` "zh"/"en"/"ko" for the IVR's
    default, None when unknown.
    """

    raw: str
    normalized: str | None
    kind: CallerKind
    region: str | None
    suggested_language: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the raw caller ID included: mask it before logging)."""
        return {
            "raw": self.raw,
            "normalized": self.normalized,
            "kind": self.kind,
            "region": self.region,
            "suggested_language": self.suggested_language,
        }


def unknown_caller(raw: str) -> CallerId:
    """The "unknown caller" result for `raw`."""
    return CallerId(raw, None, "unknown", None, None)


def language_for_region(region: str | None) -> str | None:
    """The hotline queue language a caller from `region` most likely wants."""
    if region is None:
        return None
    if region in _CHINESE_REGIONS:
        return "zh"
    if region == "KR":
        return "ko"
    # English is the centre's only other language: the best default for any other country.
    return "en"


def normalize_caller_id(raw: str | None, settings: LocatorSettings) -> CallerId:
    """Understand `raw` as a phone number of the home region; never raises.

    Full-width digits and brackets are folded (NFKC), separators dropped, `00`/`+` and a
    bare `86` country prefix understood, and a 7-8 digit local number gets the home area
    code. Numbers that phonenumbers considers impossible are "unknown".
    """
    if raw is None:
        return unknown_caller("")
    text = str(raw)
    return _normalize(text, settings.region, settings.home_area_code)


@lru_cache(maxsize=65536)
def _normalize(raw: str, region: str, area_code: str) -> CallerId:
    e164 = to_e164(raw, region, area_code)
    if e164 is None:
        return unknown_caller(raw)
    return CallerId(raw, e164, *caller_facts(e164, region))


@lru_cache(maxsize=1024)
def caller_facts(e164: str, home_region: str = "CN") -> tuple[CallerKind, str | None, str | None]:
    """(kind, region, suggested_language) of a valid E.164 number, without parsing it.

    Country calling codes are prefix-free, so the first 1-3 digits that are a known code
    are the country's.
    """
    home_cc = phonenumbers.country_code_for_region(home_region)
    for size in (1, 2, 3):
        code = int(e164[1 : 1 + size]) if e164[1 : 1 + size].isdigit() else -1
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
        if regions:
            region = regions[0] if regions[0] not in ("ZZ", "001") else None
            kind: CallerKind = "domestic" if code == home_cc else "foreign"
            return kind, region, language_for_region(region)
    return "foreign", None, None


def _clean(raw: str, region: str, area_code: str) -> tuple[bool, str] | None:
    """(international?, digits) after folding and dropping separators; None for garbage."""
    text = unicodedata.normalize("NFKC", raw).strip().strip("\"'")
    if len(text) > 64 or text.lower() in _PLACEHOLDERS:
        return None
    if text.lower().startswith(("sip:", "tel:")):
        text = text[4:].split("@", 1)[0].split(";", 1)[0]
    text = _SEPARATORS.sub("", text)
    # Trunks append or prepend `*`/`#` (feature codes, end-of-dial); inside a number they
    # make it garbage.
    text = text.strip("*#")
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isascii() or not digits.isdigit():
        return None
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        return None
    if not plus:
        if digits.startswith("00"):
            plus, digits = True, digits[2:]
        elif region == "CN" and digits.startswith("86") and len(digits) in (12, 13):
            # "865356683318" / "8613805356789": the country code without "+"; no Chinese
            # national number is 12-13 digits long, so this cannot be a local number.
            plus = True
        elif len(digits) in (7, 8) and digits[0] not in "01":
            digits = area_code + digits
    if plus and len(digits) < _MIN_INTERNATIONAL:
        return None
    return plus, digits


def candidate_e164(raw: str, region: str = "CN", area_code: str = "0535") -> str | None:
    """A cheap guess at the E.164 form of `raw`, with no numbering-plan check.

    For the Locator's fast path: when the guess is a number the registry holds (so a valid
    one), it is what `to_e164` would return. Anything else must go through `to_e164`.
    """
    cleaned = _clean(raw, region, area_code)
    if cleaned is None:
        return None
    plus, digits = cleaned
    if plus:
        return "+" + digits
    national = digits[1:] if digits.startswith("0") else digits
    return f"+{phonenumbers.country_code_for_region(region)}{national}"


def to_e164(raw: str, region: str = "CN", area_code: str = "0535") -> str | None:
    """The E.164 form of `raw`, or None when it is not a possible phone number."""
    cleaned = _clean(raw, region, area_code)
    if cleaned is None:
        return None
    plus, digits = cleaned
    try:
        number = phonenumbers.parse(("+" if plus else "") + digits, None if plus else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    if number.country_code == 86 and not phonenumbers.is_valid_number(number):
        # At home we know the numbering plan well enough to reject what cannot exist.
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def mask_number(number: str) -> str:
    """`number` with its middle digits replaced by `*`, for logs (`+86138****6789`).

    From 11 digits up it keeps the first three and the last four (as Chinese bills do);
    shorter numbers keep a quarter at the front and a third at the back, so most is hidden.
    """
    total = sum(ch.isdigit() for ch in number)
    head, tail = (3, 4) if total >= 11 else (total // 4, total // 3)
    out: list[str] = []
    seen = 0
    for ch in number:
        if ch.isdigit():
            out.append(ch if seen < head or seen >= total - tail else "*")
            seen += 1
        else:
            out.append(ch)
    return "".join(out)
