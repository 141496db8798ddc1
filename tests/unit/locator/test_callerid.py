"""Caller-ID normalisation: every way Asterisk and the archive write a number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti.settings import LocatorSettings
from locator import CallerId, mask_number, normalize_caller_id
from locator.callerid import candidate_e164, to_e164

SETTINGS = LocatorSettings()

SAME_LANDLINE = [
    "05356683318",
    "6683318",
    "+865356683318",
    "00865356683318",
    "865356683318",
    "0535-668 3318",
    "0535 6683318",
    "（0535）6683318",
    "(0535)668-3318",
    "０５３５－６６８３３１８",
    " 0535-6683318 ",
    "05356683318#",
    "sip:05356683318@trunk",
]


@pytest.mark.parametrize("raw", SAME_LANDLINE)
def test_every_form_of_the_home_landline_normalises_to_one_e164(raw: str) -> None:
    caller = normalize_caller_id(raw, SETTINGS)
    assert caller.normalized == "+865356683318"
    assert caller.kind == "domestic"
    assert caller.region == "CN"
    assert caller.suggested_language == "zh"
    assert caller.raw == raw


@pytest.mark.parametrize(
    "raw", ["13805356789", "+8613805356789", "8613805356789", "008613805356789", "138 0535 6789"]
)
def test_a_mobile_with_or_without_country_code_is_the_same(raw: str) -> None:
    assert normalize_caller_id(raw, SETTINGS).normalized == "+8613805356789"


def test_an_eight_digit_local_number_gets_the_configured_area_code() -> None:
    beijing = LocatorSettings(home_area_code="010")
    assert normalize_caller_id("62345678", beijing).normalized == "+861062345678"


@pytest.mark.parametrize(
    ("raw", "e164", "region", "language"),
    [
        ("+821012345678", "+821012345678", "KR", "ko"),
        ("+82-2-312-3456", "+8223123456", "KR", "ko"),
        ("00821012345678", "+821012345678", "KR", "ko"),
        ("+1 555 123 4567", "+15551234567", "US", "en"),
        ("+442079460000", "+442079460000", "GB", "en"),
        ("+81312345678", "+81312345678", "JP", "en"),
    ],
)
def test_foreign_numbers_keep_their_country_and_suggest_a_language(
    raw: str, e164: str, region: str, language: str
) -> None:
    caller = normalize_caller_id(raw, SETTINGS)
    assert caller == CallerId(raw, e164, "foreign", region, language)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "<unknown>",
        "anonymous",
        "Anonymous",
        "Restricted",
        "restricted",
        "unavailable",
        "abc",
        "0535-668331x",
        "13*8053",
        "1" * 30,
        "89000",
        "12345678",
        "1.38053E+10",
        "+",
        "#",
        "  ",
    ],
)
def test_garbage_is_an_unknown_caller(raw: str) -> None:
    caller = normalize_caller_id(raw, SETTINGS)
    assert caller == CallerId(raw, None, "unknown", None, None)


def test_none_is_an_unknown_caller() -> None:
    assert normalize_caller_id(None, SETTINGS).kind == "unknown"


@given(st.text(max_size=80))
def test_any_text_gives_a_caller_id_and_never_raises(raw: str) -> None:
    caller = normalize_caller_id(raw, SETTINGS)
    assert caller.raw == raw
    if caller.normalized is None:
        assert caller.kind == "unknown"
    else:
        assert caller.normalized.startswith("+")
        assert caller.normalized[1:].isdigit()
        assert caller.kind in ("domestic", "foreign")


@given(st.from_regex(r"\+?[0-9 \-()*#]{0,30}", fullmatch=True))
def test_number_like_garbage_normalises_to_e164_or_unknown(raw: str) -> None:
    caller = normalize_caller_id(raw, SETTINGS)
    assert caller.normalized is None or 8 <= len(caller.normalized) <= 16


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_a_normalised_number_normalises_to_itself(mobile: str) -> None:
    first = normalize_caller_id(mobile, SETTINGS).normalized
    if first is not None:
        assert normalize_caller_id(first, SETTINGS).normalized == first


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+8613805356789", "+861******6789"),
        ("13805356789", "138****6789"),
        ("0535-6683318", "053*-***3318"),
        ("6683318", "6****18"),
        ("89000", "8***0"),
        ("", ""),
    ],
)
def test_mask_number_hides_the_middle_digits(number: str, masked: str) -> None:
    assert mask_number(number) == masked


@given(st.from_regex(r"\+?[0-9]{7,15}", fullmatch=True))
def test_a_masked_number_never_shows_all_its_digits(number: str) -> None:
    masked = mask_number(number)
    assert len(masked) == len(number)
    assert "*" in masked


@given(
    st.one_of(
        st.from_regex(r"\+?[0-9 \-()]{5,20}", fullmatch=True),
        st.from_regex(r"(00|\+|86|0535|0)?1[3-9][0-9]{9}", fullmatch=True),
        st.from_regex(r"(0535)?[2-9][0-9]{6}", fullmatch=True),
    )
)
def test_the_fast_guess_agrees_with_full_normalisation_whenever_it_is_valid(raw: str) -> None:
    guess = candidate_e164(raw, "CN", "0535")
    if guess is not None and to_e164(guess, "CN", "0535") == guess:
        assert to_e164(raw, "CN", "0535") == guess
