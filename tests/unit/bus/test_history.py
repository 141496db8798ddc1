"""Which held messages follow a seq, and when the caller must be told history is gone."""

from __future__ import annotations

from cti.bus.base import history_after


def held(*seqs: int) -> list[dict[str, int]]:
    return [{"seq": s} for s in seqs]


def test_nothing_missed_is_not_truncated() -> None:
    result = history_after(held(3, 4, 5), 5, 5)
    assert list(result) == [] and not result.truncated


def test_seq_older_than_oldest_held_is_truncated() -> None:
    result = history_after(held(3, 4, 5), 1, 5)
    assert result.truncated and [m["seq"] for m in result] == [3, 4, 5]


def test_seq_just_before_oldest_held_is_complete() -> None:
    result = history_after(held(3, 4, 5), 2, 5)
    assert not result.truncated and result.oldest_seq == 3


def test_everything_gone_but_messages_were_sent_is_truncated() -> None:
    assert history_after([], 0, 7).truncated
