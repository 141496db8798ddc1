"""The live feed's RESP2 parser: the same events whole, byte by byte and in random chunks;
this node's messages passed over unread; anything that is not pub/sub is an error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti.bus.redis_feed import (
    FeedEvent,
    FeedParser,
    FeedProtocolError,
    Published,
    Reply,
    Subscribed,
)

MARK = b"0123456789abcdef\n"


def message(payload: bytes, channel: bytes = b"cti:live") -> bytes:
    return b"*3\r\n$7\r\nmessage\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (
        len(channel),
        channel,
        len(payload),
        payload,
    )


OWN = MARK + b'a1\n7\n{"type":"pop"}'
# Another node's pop, with a CRLF and non-ASCII in it: bytes in, the same bytes out.
OTHER = b'fedcba9876543210\na1\n8\n{"type":"pop","caller":{"name":"\xe5\xbc\xa0\\r\\n"}}\r\n'
SESSION = b"".join(
    [
        b"+OK\r\n",
        b"*3\r\n$9\r\nsubscribe\r\n$8\r\ncti:live\r\n:1\r\n",
        message(OWN),
        message(OTHER),
        message(OWN),
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n",
        message(b""),
        b"-ERR something\r\n",
    ]
)
EXPECTED: list[FeedEvent] = [
    Reply("OK"),
    Subscribed(b"cti:live"),
    Published(OTHER),
    Reply("pong"),
    Published(b""),
    Reply("ERR something", error=True),
]


def feed(parser: FeedParser, data: bytes, sizes: list[int]) -> list[FeedEvent]:
    events: list[FeedEvent] = []
    pos = 0
    for size in sizes:
        events += parser.receive(data[pos : pos + size])
        pos += size
    events += parser.receive(data[pos:])
    return events


def test_a_session_whole_gives_other_nodes_messages_and_skips_its_own() -> None:
    parser = FeedParser(MARK)
    assert parser.receive(SESSION) == EXPECTED
    assert parser.skipped == 2


def test_a_session_one_byte_at_a_time_gives_the_same_events() -> None:
    parser = FeedParser(MARK)
    assert feed(parser, SESSION, [1] * len(SESSION)) == EXPECTED
    assert parser.skipped == 2


@given(st.lists(st.integers(min_value=1, max_value=61), min_size=1, max_size=30))
def test_a_session_in_random_chunks_gives_the_same_events(sizes: list[int]) -> None:
    parser = FeedParser(MARK)
    assert feed(parser, SESSION, sizes) == EXPECTED
    assert parser.skipped == 2


def test_a_payload_that_only_starts_like_the_mark_is_not_skipped() -> None:
    parser = FeedParser(MARK)
    near = MARK[:-1] + b"x\na1\n1\n{}"
    assert parser.receive(message(near)) == [Published(near)]
    assert parser.skipped == 0


@pytest.mark.parametrize(
    "data",
    [
        b":1\r\n",  # not what a subscribed connection gets
        b"*3\r\n$7\r\nmessage\r\n$x\r\n",  # a length that is not a number
        b"*1\r\n$3\r\nabcdef\r\n",  # a bulk string longer than its length
        b"*2\r\n$11\r\nunsubscribe\r\n:0\r\n",  # we never unsubscribe
        b"*0\r\n",
    ],
)
def test_what_is_not_pub_sub_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(FeedProtocolError):
        FeedParser(MARK).receive(data)


def test_a_frame_growing_past_the_cap_is_an_error_not_a_memory_leak() -> None:
    parser = FeedParser(MARK, max_pending=1000)
    head = message(OTHER + b"x" * 2000)[:600]
    assert parser.receive(head) == []
    with pytest.raises(FeedProtocolError, match="over 1000 bytes"):
        parser.receive(b"x" * 500)
