"""The sans-IO AGI parser against the real sessions 07, 11, 12: whole, 1-byte, random chunks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.protocol import (
    AGIParser,
    Closed,
    Environment,
    Hangup,
    LocalProtocolError,
    RemoteProtocolError,
    Reply,
    quote,
    set_variable,
    split_command,
    stream_file,
    wait_for_digit,
)
from tests.conftest import TRACES
from tests.support.agi import load_agi_trace, parse_chunks

SESSIONS = ("07-fastagi-language-menu", "11-fastagi-hangup", "12-fastagi-timeout")


def _bytes(name: str) -> bytes:
    return load_agi_trace(TRACES / f"{name}.agi").server_bytes


def _replies(name: str) -> list[Reply | Hangup]:
    return [e for e in parse_chunks(_bytes(name)) if isinstance(e, Reply | Hangup)]


@pytest.mark.parametrize("name", SESSIONS)
def test_every_session_gives_the_same_events_whole_and_in_1_byte_reads(name: str) -> None:
    data = _bytes(name)
    assert parse_chunks(data, step=1) == parse_chunks(data)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(SESSIONS),
    sizes=st.lists(st.integers(min_value=1, max_value=97), min_size=1, max_size=20),
)
def test_every_session_gives_the_same_events_in_random_chunks(name: str, sizes: list[int]) -> None:
    data = _bytes(name)
    assert parse_chunks(data, sizes=sizes) == parse_chunks(data)


def test_one_reply_per_command_and_the_hangup_line_between_them(traces_dir: Path) -> None:
    for name in SESSIONS:
        trace = load_agi_trace(traces_dir / f"{name}.agi")
        replies = [e for e in _replies(name) if isinstance(e, Reply)]
        assert len(replies) == len(trace.commands), name
    events = _replies("11-fastagi-hangup")
    # SET VARIABLE LANGSEL zh: the HANGUP line came first, its reply after it.
    assert events[2:4] == [Hangup(), Reply(code=200, text="result=1", result="1")]


def test_environment_block_is_typed_and_keeps_the_raw_pairs() -> None:
    env = parse_chunks(_bytes("07-fastagi-language-menu"))[0]
    assert isinstance(env, Environment)
    assert env.script == "language-menu"
    assert env.uniqueid == "1795361860.17"
    assert env.channel == "Local/89000@ivr-00000008;2"
    assert env.caller_number == "13805356789"
    assert env.caller_name is None  # Asterisk wrote `unknown`
    assert env.get("agi_accountcode") == ""
    assert env.get("agi_no_such_key") is None
    with pytest.raises(KeyError):
        env["agi_no_such_key"]
    assert env.headers[0] == ("agi_network", "yes")
    assert len(env.headers) == 22


def test_digit_3_is_result_51_and_timeout_is_result_0() -> None:
    wait_3 = _replies("07-fastagi-language-menu")[3]
    assert isinstance(wait_3, Reply)
    assert (wait_3.result, wait_3.digit) == ("51", "3")
    timeout = _replies("12-fastagi-timeout")[1]
    assert isinstance(timeout, Reply)
    assert (timeout.result, timeout.digit, timeout.failed) == ("0", None, False)


def test_minus_one_is_a_failure_with_its_extras() -> None:
    replies = _replies("12-fastagi-timeout")
    get_data, stream = replies[2], replies[3]
    assert isinstance(get_data, Reply) and get_data.failed
    assert isinstance(stream, Reply) and stream.failed
    assert stream.extras == (("endpos", "0"),)
    assert stream.digit is None


def test_quoted_value_with_an_apostrophe_comes_back_as_data() -> None:
    replies = _replies("12-fastagi-timeout")
    assert isinstance(replies[5], Reply)
    assert replies[5].data == "O'Brien & Sons"
    assert isinstance(replies[-1], Reply)
    assert replies[-1].data == "Margaret Brown"


def test_510_and_the_multi_line_520_usage_reply() -> None:
    replies = _replies("12-fastagi-timeout")
    unknown, usage = replies[8], replies[9]
    assert isinstance(unknown, Reply) and isinstance(usage, Reply)
    assert (unknown.code, unknown.text, unknown.ok) == (510, "Invalid or unknown command", False)
    assert usage.code == 520
    assert usage.text == "Invalid command syntax.  Proper usage follows:"
    assert usage.usage == ("Sets a variable to the current channel.", "End of proper usage.")


def test_close_after_a_whole_line_is_closed_and_mid_line_is_an_error() -> None:
    assert parse_chunks(_bytes("11-fastagi-hangup"))[-1] == Closed()
    parser = AGIParser()
    parser.feed(_bytes("11-fastagi-hangup")[:-5])
    parser.feed_eof()
    with pytest.raises(RemoteProtocolError, match="mid-line"):
        list(parser.events())


def test_close_inside_the_environment_is_an_error() -> None:
    parser = AGIParser()
    parser.feed(b"agi_network: yes\n")
    parser.feed_eof()
    with pytest.raises(RemoteProtocolError, match="environment"):
        list(parser.events())


def test_caller_name_split_across_reads_survives_and_bad_bytes_cost_only_the_value() -> None:
    env = b"agi_callerid: 05356683318\nagi_calleridname: \xe5\xbc\xa0\xe5\x85\x88\xe7\x94\x9f\n\n"
    events = parse_chunks(env, step=1)
    assert isinstance(events[0], Environment)
    assert events[0].caller_name == "张先生"
    gbk = b"agi_calleridname: " + "张先生".encode("gbk") + b"\nagi_callerid: 1\n\n"
    (parsed, _closed) = parse_chunks(gbk)
    assert isinstance(parsed, Environment)
    assert parsed.caller_number == "1"
    assert parsed.caller_name is not None and "\ufffd" in parsed.caller_name


def test_a_line_over_the_cap_is_a_typed_error_and_stays_one() -> None:
    parser = AGIParser(max_buffer_bytes=64)
    parser.feed(b"agi_network: yes\n\n")
    assert isinstance(parser.next_event(), Environment)
    with pytest.raises(RemoteProtocolError, match="64 bytes"):
        parser.feed(b"200 result=1 (" + b"x" * 100)
    with pytest.raises(RemoteProtocolError):
        parser.next_event()


def test_many_whole_lines_fed_at_once_are_not_over_the_cap() -> None:
    parser = AGIParser(max_buffer_bytes=64)
    parser.feed(b"agi_network: yes\n\n" + b"200 result=1\n" * 100)
    assert len(list(parser.events())) == 101


@pytest.mark.parametrize("line", [b"garbage\n", b"20 result=1\n", b"200\n"])
def test_a_line_that_is_no_reply_is_a_remote_error(line: bytes) -> None:
    parser = AGIParser()
    parser.feed(b"agi_network: yes\n\n" + line)
    assert isinstance(parser.next_event(), Environment)
    with pytest.raises(RemoteProtocolError):
        parser.next_event()


@given(st.binary(max_size=300))
def test_any_bytes_give_events_or_a_remote_error_never_anything_else(data: bytes) -> None:
    parser = AGIParser(max_buffer_bytes=128)
    try:
        parser.feed(data)
        parser.feed_eof()
        list(parser.events())
    except RemoteProtocolError:
        pass


def test_commands_are_encoded_as_the_recordings_show(traces_dir: Path) -> None:
    sent = load_agi_trace(traces_dir / "07-fastagi-language-menu.agi").commands
    assert set_variable("LANGSEL", "ko").text in sent
    assert set_variable("QUEUE_PRIO", "10").text in sent
    assert set_variable("CHANNEL(language)", "ko").text in sent
    assert wait_for_digit(5000).text in sent
    assert stream_file("no-such-prompt").text == 'STREAM FILE no-such-prompt ""'
    assert set_variable("LANGSEL", "ko").encode() == b'SET VARIABLE LANGSEL "ko"\n'


@pytest.mark.parametrize("bad", ["ko\n", "ko\r", "k\x00o", 'k"o', "k\\o"])
def test_values_with_cr_lf_nul_or_quotes_are_refused(bad: str) -> None:
    with pytest.raises(LocalProtocolError):
        set_variable("LANGSEL", bad)
    with pytest.raises(LocalProtocolError):
        quote(bad)


@pytest.mark.parametrize("name", ["LANG SEL", "X\nHANGUP", "", "1ABC", "A(b c)"])
def test_bad_variable_and_prompt_names_are_refused(name: str) -> None:
    with pytest.raises(LocalProtocolError):
        set_variable(name, "x")
    with pytest.raises(LocalProtocolError):
        stream_file(name + " 1")


def test_split_command_groups_quotes_as_asterisk_does() -> None:
    assert split_command('SET VARIABLE CALLER_NOTE "O\'Brien & Sons"') == (
        "SET",
        "VARIABLE",
        "CALLER_NOTE",
        "O'Brien & Sons",
    )
    assert split_command('STREAM FILE no-such-prompt ""')[-1] == ""
