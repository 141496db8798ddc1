"""Caller text as Asterisk writes it, made readable; seats and queue languages."""

from __future__ import annotations

from cti.state import display_text, member_seat, queue_language


def test_unknown_and_empty_caller_text_is_absent() -> None:
    assert display_text("<unknown>") is None
    assert display_text("") is None
    assert display_text(None) is None


def test_escaped_apostrophe_and_sip_quote_are_unescaped() -> None:
    assert display_text("O\\'Brien") == "O'Brien"
    assert display_text('Wang \\\\\\"Lao\\\\\\" Li') == 'Wang "Lao" Li'


def test_utf8_names_are_kept_as_they_are() -> None:
    assert display_text("张先生") == "张先生"
    assert display_text("<img src=x onerror=alert(1)>") == "<img src=x onerror=alert(1)>"


def test_member_seat_from_local_and_pjsip_interfaces_and_member_name() -> None:
    assert member_seat("Local/seat07@agents/n") == "seat07"
    assert member_seat("Local/seat21@agents-noanswer/n") == "seat21"
    assert member_seat("PJSIP/seat07") == "seat07"
    assert member_seat("PJSIP/trunk-00000009", "seat09") == "seat09"
    assert member_seat("PJSIP/trunk-00000009") is None


def test_queue_language_from_the_queue_name() -> None:
    assert [queue_language(q) for q in ("q-zh", "q-en", "q-ko", "support")] == [
        "zh",
        "en",
        "ko",
        None,
    ]
