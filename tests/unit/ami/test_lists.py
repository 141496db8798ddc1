"""List actions: `EventList: start`, the items, and the `...Complete` event with ListItems."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami.lists import ListCollector, ListCountMismatch, ListResult
from cti.ami.protocol import AMIParser, Event, RemoteProtocolError, Response
from cti.ami.trace import server_bytes


def collect(data: bytes, action_id: str) -> ListResult:
    parser = AMIParser()
    parser.feed(data)
    collector: ListCollector | None = None
    for message in parser.messages():
        if isinstance(message, Response) and message.action_id == action_id:
            assert message.starts_list
            collector = ListCollector(message)
        elif isinstance(message, Event) and message.action_id == action_id:
            assert collector is not None
            result = collector.add(message)
            if result is not None:
                return result
    raise AssertionError("list never completed")


def test_queue_status_with_a_member_is_collected(traces_dir: Path) -> None:
    data = server_bytes((traces_dir / "10a-restart-before.ami").read_bytes())
    result = collect(data, "qs-1")
    assert result.response.message == "Queue status will follow"
    assert len(result.events) == 6
    assert result.complete is not None and result.complete.name == "QueueStatusComplete"
    assert [e["Queue"] for e in result.named("QueueParams")] == ["q-zh", "q-en", "q-ko"]
    (entry,) = result.named("QueueEntry")
    assert entry["CallerIDNum"] == "+821012345678"


def test_empty_channel_list_is_collected(traces_dir: Path) -> None:
    data = server_bytes((traces_dir / "01-status.ami").read_bytes())
    result = collect(data, "ch-1")
    assert result.events == ()
    assert result.complete is not None and result.complete["ListItems"] == "0"


def test_queue_summary_is_collected(traces_dir: Path) -> None:
    data = server_bytes((traces_dir / "01-status.ami").read_bytes())
    result = collect(data, "qsum-1")
    assert [e["Queue"] for e in result.events] == ["q-zh", "q-en", "q-ko"]


def _response() -> Response:
    return Response(
        headers=(("Response", "Success"), ("ActionID", "a"), ("EventList", "start")),
        status="Success",
    )


def _event(name: str, *extra: tuple[str, str]) -> Event:
    return Event(headers=(("Event", name), ("ActionID", "a"), *extra), name=name)


def test_list_items_count_mismatch_is_a_protocol_error() -> None:
    collector = ListCollector(_response())
    assert collector.add(_event("QueueParams")) is None
    with pytest.raises(ListCountMismatch) as info:
        collector.add(_event("QueueStatusComplete", ("EventList", "Complete"), ("ListItems", "3")))
    assert isinstance(info.value, RemoteProtocolError)
    assert "3" in str(info.value)


def test_non_numeric_list_items_is_a_protocol_error() -> None:
    collector = ListCollector(_response())
    with pytest.raises(ListCountMismatch):
        collector.add(_event("QueueStatusComplete", ("EventList", "Complete"), ("ListItems", "x")))


def test_complete_without_list_items_is_accepted() -> None:
    collector = ListCollector(_response())
    collector.add(_event("QueueParams"))
    result = collector.add(_event("QueueStatusComplete", ("EventList", "Complete")))
    assert result is not None and len(result.events) == 1
