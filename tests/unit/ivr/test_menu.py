"""The language menu, sans-IO: every branch as a scripted dialogue of commands and replies."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.menu import (
    DUTY_QUEUE,
    CallerFacts,
    Finished,
    LanguageMenu,
    menu_order,
)
from ivr.prompts import PROMPT_NAMES
from ivr.protocol import Command, Hangup, Reply, parse_reply_line

Answer = Callable[[str], list[str]]


def _reply(line: str) -> Reply | Hangup:
    parsed = parse_reply_line(line)
    assert parsed is not None
    return parsed


def keys(*presses: str | None) -> Answer:
    """Asterisk's side: prompts play to their end (as 12: a missing prompt, -1), each
    `WAIT FOR DIGIT` takes the next press (None: the 5 s pass, `hangup`: the caller goes)."""
    queue: Iterator[str | None] = iter(presses)

    def answer(command: str) -> list[str]:
        if command.startswith("STREAM FILE"):
            return ["200 result=0 endpos=16000"]
        if command.startswith("WAIT FOR DIGIT"):
            press = next(queue)
            if press is None:
                return ["200 result=0"]
            if press == "hangup":
                return ["200 result=-1"]
            return [f"200 result={ord(press)}"]
        if command.startswith("SET VARIABLE"):
            return ["200 result=1"]
        return ["510 Invalid or unknown command"]

    return answer


def run(facts: CallerFacts, answer: Answer) -> tuple[list[str], Finished]:
    menu = LanguageMenu(facts)
    sent: list[str] = []
    step = menu.start()
    while isinstance(step, Command):
        sent.append(step.text)
        for line in answer(step.text):
            step = menu.send(_reply(line))
            if not isinstance(step, Command):
                break
    return sent, step


def variables(sent: list[str]) -> dict[str, str]:
    out = {}
    for text in sent:
        if text.startswith("SET VARIABLE "):
            name, value = text.removeprefix("SET VARIABLE ").split(" ", 1)
            out[name] = value.strip('"')
    return out


def played(sent: list[str]) -> list[str]:
    return [t.split()[2] for t in sent if t.startswith("STREAM FILE")]


def test_registered_elderly_caller_is_greeted_in_their_language_without_the_menu() -> None:
    facts = CallerFacts(("R001", "R002"), "ko", "zh")
    sent, done = run(facts, keys())
    assert played(sent) == ["hotline/greeting-elderly-ko"]
    assert not any(t.startswith("WAIT FOR DIGIT") for t in sent)
    assert variables(sent) == {
        "LANGSEL": "ko",
        "QUEUE": "q-ko",
        "QUEUE_PRIO": "10",
        "RESIDENT_ID": "R001,R002",
        "CHANNEL(language)": "ko",
    }
    assert done.learnt is not None and done.learnt.recognised
    assert done.learnt.resident_ids == ("R001", "R002")


@pytest.mark.parametrize(("digit", "language"), [("1", "zh"), ("2", "en"), ("3", "ko")])
def test_each_digit_chooses_its_language_and_queue(digit: str, language: str) -> None:
    sent, done = run(CallerFacts(), keys(digit))
    assert played(sent) == [
        "hotline/menu-zh",
        "hotline/menu-en",
        "hotline/menu-ko",
        "hotline/menu-emergency",
    ]
    assert "WAIT FOR DIGIT 5000" in sent
    assert variables(sent) == {
        "LANGSEL": language,
        "QUEUE": f"q-{language}",
        "QUEUE_PRIO": "0",
        "CHANNEL(language)": language,
    }
    assert done.learnt is not None and done.learnt.how == "chosen" and not done.hung_up


def test_digit_3_sends_what_07_sent() -> None:
    sent, _ = run(CallerFacts(), keys("3"))
    assert 'SET VARIABLE LANGSEL "ko"' in sent
    assert 'SET VARIABLE CHANNEL(language) "ko"' in sent


def test_a_digit_during_a_prompt_stops_the_menu_there() -> None:
    def answer(command: str) -> list[str]:
        if command.startswith("STREAM FILE hotline/menu-en"):
            return ["200 result=50 endpos=4000"]
        return keys()(command)

    sent, done = run(CallerFacts(), answer)
    assert played(sent) == ["hotline/menu-zh", "hotline/menu-en"]
    assert not any(t.startswith("WAIT FOR DIGIT") for t in sent)
    assert done.learnt is not None and done.learnt.language == "en"


def test_emergency_goes_to_the_duty_queue_flagged_and_first() -> None:
    sent, done = run(CallerFacts(), keys("9"))
    assert variables(sent) == {
        "LANGSEL": "zh",
        "QUEUE": DUTY_QUEUE,
        "QUEUE_PRIO": "20",
        "EMERGENCY": "1",
        "CHANNEL(language)": "zh",
    }
    assert done.learnt is not None and done.learnt.emergency


def test_no_digit_repeats_the_menu_once_then_chinese() -> None:
    sent, done = run(CallerFacts(suggested_language="en"), keys(None, None))
    assert sent.count("WAIT FOR DIGIT 5000") == 2
    assert played(sent).count("hotline/menu-en") == 2
    assert variables(sent)["LANGSEL"] == "zh"
    assert done.learnt is not None and done.learnt.how == "timeout"


def test_one_timeout_then_a_digit_takes_the_digit() -> None:
    _, done = run(CallerFacts(), keys(None, "2"))
    assert done.learnt is not None and done.learnt.language == "en"


def test_an_invalid_digit_says_so_and_repeats_the_menu() -> None:
    sent, done = run(CallerFacts(), keys("7", "3"))
    assert played(sent)[4] == "hotline/invalid-zh"
    assert played(sent)[5:] == played(sent)[:4]
    assert done.learnt is not None and done.learnt.language == "ko"


def test_invalid_digits_for_ever_end_in_chinese_after_a_few_rounds() -> None:
    sent, done = run(CallerFacts(), keys(*"7777777777"))
    assert sent.count("WAIT FOR DIGIT 5000") == 4
    assert done.learnt is not None and done.learnt.how == "invalid"
    assert variables(sent)["QUEUE"] == "q-zh"


def test_korean_caller_hears_korean_first_and_other_foreigners_english_first() -> None:
    sent, _ = run(CallerFacts(suggested_language="ko"), keys("1"))
    assert played(sent)[:3] == ["hotline/menu-ko", "hotline/menu-zh", "hotline/menu-en"]
    assert menu_order("en") == ("en", "zh", "ko")
    assert menu_order(None) == ("zh", "en", "ko")
    assert menu_order("fr") == ("zh", "en", "ko")


def test_korean_default_still_times_out_to_chinese() -> None:
    sent, done = run(CallerFacts(suggested_language="ko"), keys(None, None))
    assert done.learnt is not None and done.learnt.language == "zh"
    assert played(sent)[0] == "hotline/menu-ko"


def test_hang_up_while_waiting_for_a_digit_ends_with_nothing_set() -> None:
    sent, done = run(CallerFacts(), keys("hangup"))
    assert done.hung_up and done.learnt is None
    assert not any(t.startswith("SET VARIABLE") for t in sent)


def test_the_hangup_line_mid_menu_ends_the_session_at_once() -> None:
    def answer(command: str) -> list[str]:
        if command.startswith("STREAM FILE hotline/menu-en"):
            return ["HANGUP", "200 result=-1 endpos=0"]
        return keys()(command)

    sent, done = run(CallerFacts(), answer)
    assert sent[-1] == 'STREAM FILE hotline/menu-en "1239"'
    assert done == Finished(None, hung_up=True)


def test_hangup_line_during_the_sets_keeps_what_was_chosen() -> None:
    menu = LanguageMenu(CallerFacts())
    step = menu.start()
    while isinstance(step, Command) and not step.text.startswith("SET VARIABLE"):
        step = menu.send(_reply("200 result=51" if "WAIT" in step.text else "200 result=0"))
    done = menu.send(Hangup())
    assert isinstance(done, Finished) and done.hung_up
    assert done.learnt is not None and done.learnt.language == "ko"
    assert menu.send(_reply("200 result=1")) is done


def test_a_missing_prompt_minus_one_does_not_end_the_menu() -> None:
    def answer(command: str) -> list[str]:
        if command.startswith("STREAM FILE"):
            return ["200 result=-1 endpos=0"]  # 12: a missing prompt
        return keys("2")(command)

    _, done = run(CallerFacts(), answer)
    assert done.learnt is not None and done.learnt.language == "en"


def test_a_refused_command_ends_the_session_with_asterisks_words() -> None:
    def answer(command: str) -> list[str]:
        if command.startswith("SET VARIABLE"):
            return ["510 Invalid or unknown command"]
        return keys("1")(command)

    _, done = run(CallerFacts(), answer)
    assert done.refused == "510 Invalid or unknown command"


def test_every_prompt_the_menu_plays_is_a_generated_prompt() -> None:
    seen: set[str] = set()
    for lang in ("zh", "en", "ko"):
        seen.update(played(run(CallerFacts(("R1",), lang), keys())[0]))
    for lang in ("zh", "en", "ko"):
        seen.update(played(run(CallerFacts(suggested_language=lang), keys("7", "1"))[0]))
    assert seen <= PROMPT_NAMES
    assert seen == PROMPT_NAMES


_ANY_REPLY = st.sampled_from(
    [
        "200 result=0",
        "200 result=-1",
        "200 result=-1 endpos=0",
        "200 result=49",
        "200 result=50 endpos=4000",
        "200 result=51",
        "200 result=55",
        "200 result=57",
        "200 result=35",
        "200 result=1",
        "HANGUP",
        "510 Invalid or unknown command",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    facts=st.sampled_from(
        [CallerFacts(), CallerFacts(suggested_language="ko"), CallerFacts(("R1",), "en")]
    ),
    replies=st.lists(_ANY_REPLY, min_size=40, max_size=40),
)
def test_any_replies_end_the_menu_within_a_bound_with_only_valid_settings(
    facts: CallerFacts, replies: list[str]
) -> None:
    menu = LanguageMenu(facts)
    step = menu.start()
    sent: list[str] = []
    for line in replies:
        if not isinstance(step, Command):
            break
        sent.append(step.text)
        step = menu.send(_reply(line))
    assert isinstance(step, Finished), sent  # 4 rounds of 5 prompts and a wait, then 6 SETs
    assert len(sent) <= 4 * 6 + 6
    values = variables(sent)
    assert set(values) <= {
        "LANGSEL",
        "QUEUE",
        "QUEUE_PRIO",
        "RESIDENT_ID",
        "EMERGENCY",
        "CHANNEL(language)",
    }
    assert values.get("LANGSEL", "zh") in ("zh", "en", "ko")
    assert values.get("QUEUE", "q-zh") in ("q-zh", "q-en", "q-ko", DUTY_QUEUE)
