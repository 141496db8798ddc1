"""The sans-IO AMI parser against the real Asterisk 22 recordings and against bad input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.ami.protocol import (
    AMIParser,
    Event,
    Greeting,
    LocalProtocolError,
    Message,
    RemoteProtocolError,
    Response,
    encode_action,
    encode_headers,
    parse_message,
)
from cti.ami.trace import server_bytes
from tests.conftest import TRACES as SHARED_TRACES
from tests.support.gbk import NAME, NAME_GBK, NAME_REPLACED, gbk_recording

TRACES = SHARED_TRACES
RECORDINGS = sorted(TRACES.glob("*.ami"))


def parse_in_chunks(data: bytes, sizes: list[int] | None = None, step: int = 0) -> list[Message]:
    """Feed `data` in pieces (fixed `step`, or the given sizes cycled) and collect messages."""
    parser = AMIParser()
    out: list[Message] = []
    pos = 0
    i = 0
    while pos < len(data):
        size = step if step else (sizes[i % len(sizes)] if sizes else len(data))
        parser.feed(data[pos : pos + size])
        out.extend(parser.messages())
        pos += size
        i += 1
    out.extend(parser.messages())
    return out


def test_recordings_are_found(traces_dir: Path) -> None:
    assert traces_dir == TRACES
    assert len(RECORDINGS) >= 15


@pytest.fixture(params=RECORDINGS, ids=lambda p: p.name)
def recording(request: pytest.FixtureRequest) -> bytes:
    path: Path = request.param
    return server_bytes(path.read_bytes())


def test_every_recording_parses_fully_with_nothing_left(recording: bytes) -> None:
    parser = AMIParser()
    parser.feed(recording)
    messages = list(parser.messages())
    assert isinstance(messages[0], Greeting)
    assert messages[0].version == "11.0.0"
    assert all(isinstance(m, Response | Event) for m in messages[1:])
    assert parser.buffered == 0
    # Every message in the file was framed: one per blank line.
    assert len(messages) - 1 == recording.count(b"\r\n\r\n")


def test_every_recording_gives_the_same_messages_in_one_byte_reads(recording: bytes) -> None:
    if len(recording) > 300_000:
        recording = recording[:300_000]
    assert parse_in_chunks(recording, step=1) == parse_in_chunks(recording)


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=40))
def test_every_recording_gives_the_same_messages_in_random_chunks(
    path: Path, sizes: list[int]
) -> None:
    data = server_bytes(path.read_bytes())[:300_000]
    assert parse_in_chunks(data, sizes=sizes) == parse_in_chunks(data)


def test_caller_name_survives_utf8_split_across_7_byte_reads(traces_dir: Path) -> None:
    data = server_bytes((traces_dir / "03-call-answered.ami").read_bytes())
    names = [m.get("CallerIDName") for m in parse_in_chunks(data, step=7) if isinstance(m, Event)]
    assert "张先生" in names
    join = next(
        m
        for m in parse_in_chunks(data, step=7)
        if isinstance(m, Event) and m.name == "QueueCallerJoin"
    )
    assert join["CallerIDName"] == "张先生"
    assert join["CallerIDNum"] == "05356683318"


def test_plain_panoramisk_loses_the_caller_name_in_the_same_7_byte_reads(
    traces_dir: Path,
) -> None:
    """Why we parse ourselves: panoramisk decodes each read on its own, errors ignored."""
    from panoramisk.ami_protocol import AMIProtocol

    class Factory:
        save_stream = None
        forgetable_actions = ()

        def __init__(self) -> None:
            self.events: list[dict[str, str]] = []
            self.awaiting_actions: list[object] = []

        def dispatch(self, message: dict[str, str]) -> None:
            self.events.append(dict(message))

    class Transport:
        def write(self, data: bytes) -> None:
            pass

        def close(self) -> None:
            pass

    data = server_bytes((traces_dir / "03-call-answered.ami").read_bytes())
    protocol = AMIProtocol()
    protocol.connection_made(Transport())
    factory = Factory()
    protocol.factory = factory
    protocol.encoding = "utf-8"  # the best panoramisk can be configured to do
    for i in range(0, len(data), 7):
        protocol.data_received(data[i : i + 7])
    # AgentCalled is the ring that triggers the screen-pop.
    (called,) = [e for e in factory.events if e.get("Event") == "AgentCalled"]
    assert called["CallerIDName"] != "张先生"
    names = [v for e in factory.events for k, v in e.items() if k.endswith("CallerIDName")]
    assert any(n != "张先生" and n in "张先生" for n in names)
    # Our parser on exactly the same reads keeps every one of them.
    ours = [m for m in parse_in_chunks(data, step=7) if isinstance(m, Event)]
    (our_called,) = [m for m in ours if m.name == "AgentCalled"]
    assert our_called["CallerIDName"] == "张先生"
    our_names = {v for m in ours for k, v in m.headers if k.endswith("CallerIDName")}
    assert our_names <= {"张先生", "<unknown>", "seat07", ""}


def test_repeated_keys_are_kept_in_wire_order() -> None:
    parser = AMIParser(expect_greeting=False)
    parser.feed(
        b"Event: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nchanvariable: C=3\r\n\r\n"
    )
    (event,) = parser.messages()
    assert isinstance(event, Event)
    assert event.get_all("ChanVariable") == ["A=1", "B=2", "C=3"]
    assert event["ChanVariable"] == "A=1"
    assert event.headers[1:] == (
        ("ChanVariable", "A=1"),
        ("ChanVariable", "B=2"),
        ("chanvariable", "C=3"),
    )


def test_missing_header_is_none_or_keyerror_never_empty_string() -> None:
    event = parse_message(b"Event: Hangup\r\nCause: 16\r\nCallerIDName: \r\n")
    assert event.get("Nope") is None
    assert event.get("CallerIDName") == ""
    with pytest.raises(KeyError):
        event["Nope"]
    assert not hasattr(event, "nope")


def test_response_error_carries_message_and_action_id() -> None:
    message = parse_message(
        b"Response: Error\r\nActionID: bad-1\r\nMessage: Invalid/unknown command: X.\r\n"
    )
    assert isinstance(message, Response)
    assert not message.ok
    assert message.message == "Invalid/unknown command: X."
    assert message.action_id == "bad-1"


def test_bare_lf_messages_frame_like_crlf() -> None:
    crlf = b"Event: A\r\nK: v\r\n\r\nEvent: B\r\nK: w\r\n\r\n"
    lf = crlf.replace(b"\r\n", b"\n")
    assert parse_in_chunks(b"Asterisk Call Manager/11.0.0\r\n" + lf) == parse_in_chunks(
        b"Asterisk Call Manager/11.0.0\r\n" + crlf
    )


def test_old_style_follows_output_is_one_message_despite_blank_lines() -> None:
    data = (
        b"Asterisk Call Manager/1.1\r\n"
        b"Response: Follows\r\nActionID: c1\r\nline one\r\n\r\nline two\r\n--END COMMAND--\r\n\r\n"
        b"Event: After\r\n\r\n"
    )
    for step in (0, 1, 5):
        messages = parse_in_chunks(data, step=step)
        response = messages[1]
        assert isinstance(response, Response)
        assert response.status == "Follows"
        assert response.output == ("line one", "line two")
        assert isinstance(messages[2], Event)


def test_buffer_cap_without_message_end_is_a_remote_protocol_error() -> None:
    parser = AMIParser(expect_greeting=False, max_message_bytes=1024)
    parser.feed(b"Event: Big\r\n")
    with pytest.raises(RemoteProtocolError, match="1024"):
        for _ in range(100):
            parser.feed(b"X: " + b"y" * 60 + b"\r\n")
            list(parser.messages())


def test_buffer_cap_counts_only_the_unfinished_message() -> None:
    parser = AMIParser(expect_greeting=False, max_message_bytes=1024)
    for _ in range(100):
        parser.feed(b"Event: Small\r\nX: " + b"y" * 60 + b"\r\n\r\n")
    assert len(list(parser.messages())) == 100


def test_error_is_sticky_after_messages_framed_before_it() -> None:
    parser = AMIParser(expect_greeting=False)
    parser.feed(b"Event: Good\r\n\r\nBogus line\r\n\r\nEvent: Later\r\n\r\n")
    first = parser.next_message()
    assert isinstance(first, Event) and first.name == "Good"
    with pytest.raises(RemoteProtocolError):
        parser.next_message()
    with pytest.raises(RemoteProtocolError):
        parser.next_message()


def test_not_a_greeting_is_a_remote_protocol_error() -> None:
    parser = AMIParser()
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(RemoteProtocolError):
        list(parser.messages())


def test_a_non_utf8_value_is_replaced_and_the_message_kept() -> None:
    parser = AMIParser(expect_greeting=False)
    bad = b"Event: X\r\nCallerIDName: \xff\xfe ok\r\nCallerIDNum: 05356683318\r\n\r\n"
    parser.feed(bad + b"Event: Y\r\n\r\n")
    first, second = list(parser.messages())
    assert isinstance(first, Event) and isinstance(second, Event)
    assert first["CallerIDName"] == "\ufffd\ufffd ok"
    assert first["CallerIDNum"] == "05356683318"
    assert second.name == "Y"


@settings(max_examples=300, deadline=None)
@given(value=st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b))
def test_any_bytes_in_a_value_cost_only_that_value(value: bytes) -> None:
    """Whatever the bytes, the value is what decoding it alone with replacement gives, and
    the headers around it are untouched."""
    parser = AMIParser(expect_greeting=False)
    parser.feed(b"Event: X\r\nCallerIDName: " + value + b"\r\nUniqueid: 1.2\r\n\r\n")
    (event,) = list(parser.messages())
    assert isinstance(event, Event)
    assert [k for k, _ in event.headers] == ["Event", "CallerIDName", "Uniqueid"]
    assert event["CallerIDName"] == value.decode("utf-8", "replace")
    assert (event.name, event["Uniqueid"]) == ("X", "1.2")


def test_a_non_utf8_value_is_replaced_on_the_bare_lf_path_too() -> None:
    parser = AMIParser(expect_greeting=False)
    parser.feed(b"Event: X\nCallerIDName: " + NAME_GBK + b"\nUniqueid: 1.2\n\n")
    (event,) = list(parser.messages())
    assert isinstance(event, Event)
    assert event["CallerIDName"] == NAME_REPLACED
    assert event["Uniqueid"] == "1.2"


def test_gbk_caller_name_costs_only_that_value(traces_dir: Path) -> None:
    original = parse_in_chunks(server_bytes((traces_dir / "03-call-answered.ami").read_bytes()))
    gbk = parse_in_chunks(server_bytes(gbk_recording(traces_dir)))
    assert len(gbk) == len(original)
    changed = 0
    for before, after in zip(original, gbk, strict=True):
        if isinstance(before, Greeting):
            assert after == before
            continue
        assert isinstance(before, Response | Event) and isinstance(after, Response | Event)
        for (k0, v0), (k1, v1) in zip(before.headers, after.headers, strict=True):
            assert k1 == k0
            if v0 != v1:
                changed += 1
                assert v1 == v0.replace(NAME, NAME_REPLACED)
                assert "\ufffd" in v1
    assert changed > 0
    join = next(m for m in gbk if isinstance(m, Event) and m.name == "QueueCallerJoin")
    assert join["CallerIDName"] == NAME_REPLACED
    assert join["CallerIDNum"] == "05356683318"


def test_gbk_recording_gives_the_same_messages_in_one_byte_reads(traces_dir: Path) -> None:
    data = server_bytes(gbk_recording(traces_dir))
    assert parse_in_chunks(data, step=1) == parse_in_chunks(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=40))
def test_gbk_recording_gives_the_same_messages_in_random_chunks(sizes: list[int]) -> None:
    data = server_bytes(gbk_recording(SHARED_TRACES))
    assert parse_in_chunks(data, sizes=sizes) == parse_in_chunks(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), greeting=st.booleans(), cut=st.integers(0, 400))
def test_garbage_input_raises_only_typed_errors(data: bytes, greeting: bool, cut: int) -> None:
    parser = AMIParser(expect_greeting=greeting, max_message_bytes=256)
    try:
        parser.feed(data[:cut])
        list(parser.messages())
        parser.feed(data[cut:])
        list(parser.messages())
    except RemoteProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.text(
                st.characters(blacklist_characters=":\r\n \x00", blacklist_categories=("Cs",)),
                min_size=1,
                max_size=8,
            ),
            st.text(
                st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
                max_size=12,
            ),
        ),
        min_size=1,
        max_size=6,
    ),
    seed=st.integers(0, 2**16),
)
def test_any_valid_message_parses_the_same_in_any_chunking(
    lines: list[tuple[str, str]], seed: int
) -> None:
    body = encode_headers([("Event", "Test"), *lines]) * 3
    data = b"Asterisk Call Manager/11.0.0\r\n" + body
    rng = random.Random(seed)
    sizes = [rng.randint(1, 9) for _ in range(20)]
    whole = parse_in_chunks(data)
    assert parse_in_chunks(data, sizes=sizes) == whole
    event = whole[1]
    assert isinstance(event, Event)
    assert event.headers[1:] == tuple(lines)


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\x00b", "x\r\nAction: Originate"])
def test_cr_lf_nul_in_a_value_is_refused(bad: str) -> None:
    with pytest.raises(LocalProtocolError):
        encode_action("QueuePause", [("Reason", bad)], action_id="p-1")


@pytest.mark.parametrize("bad", ["Re\rason", "Re\nason", "Re\x00ason", "", "Re:ason"])
def test_invalid_key_is_refused(bad: str) -> None:
    with pytest.raises(LocalProtocolError):
        encode_action("QueuePause", [(bad, "meal")], action_id="p-1")


def test_unencodable_value_is_a_local_protocol_error() -> None:
    with pytest.raises(LocalProtocolError):
        encode_action("QueuePause", [("Reason", "\ud800")], action_id="p-1")


def test_cr_in_action_id_or_name_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        encode_action("Ping", (), action_id="x\r\nAction: Originate")
    with pytest.raises(LocalProtocolError):
        encode_action("Ping\r\nAction: Originate", ())


def test_encoded_action_round_trips_through_the_server_side_parser() -> None:
    wire = encode_action(
        "Originate",
        [("Channel", "Local/89000@inbound/n"), ("Variable", "A=1"), ("Variable", "B=张")],
        action_id="orig-1",
    )
    parser = AMIParser(expect_greeting=False)
    parser.feed(wire)
    (action,) = parser.messages()
    assert action.headers == (  # type: ignore[union-attr]
        ("Action", "Originate"),
        ("ActionID", "orig-1"),
        ("Channel", "Local/89000@inbound/n"),
        ("Variable", "A=1"),
        ("Variable", "B=张"),
    )


@settings(max_examples=200, deadline=None)
@given(
    endings=st.lists(st.sampled_from([b"\r\n", b"\n"]), min_size=12, max_size=12),
    follows=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_mixed_line_endings_and_follows_frame_the_same_in_any_chunking(
    endings: list[bytes], follows: bool, seed: int
) -> None:
    e = endings
    body = b"Event: A" + e[0] + b"K: v" + e[1] + e[2]
    if follows:
        body += (
            b"Response: Follows" + e[3] + b"out" + e[4] + e[5] + b"--END COMMAND--" + e[6] + e[7]
        )
    body += b"Event: B" + e[8] + b"ChanVariable: x=1" + e[9] + e[10]
    body += b"Event: C" + e[11] + b"\r\n"
    data = b"Asterisk Call Manager/11.0.0\r\n" + body
    rng = random.Random(seed)
    sizes = [rng.randint(1, 11) for _ in range(30)]
    whole = parse_in_chunks(data)
    assert parse_in_chunks(data, sizes=sizes) == whole
    assert parse_in_chunks(data, step=1) == whole
    names = [m.name for m in whole if isinstance(m, Event)]
    assert names == ["A", "B", "C"]
