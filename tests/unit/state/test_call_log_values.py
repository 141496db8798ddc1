"""Call-log values made storable in one place, and the on-disk spool of unwritten rows."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cti.state.call_log import TRUNCATED, describe_error, row_at_fault, storable, storable_row
from cti.state.spool import CallLogSpool
from tests.support.calls import a_call


def test_a_caller_name_over_200_characters_is_cut_with_a_marker() -> None:
    row = storable_row(a_call(caller_name="张" * 300), ())
    assert len(row["caller_name"]) == 200
    assert row["caller_name"] == "张" * 199 + TRUNCATED


def test_a_number_over_64_characters_is_cut_with_a_marker() -> None:
    row = storable_row(a_call(caller_number="1" * 80), ())
    assert row["caller_number"] == "1" * 63 + TRUNCATED


def test_nul_is_replaced_visibly() -> None:
    row = storable_row(a_call(caller_name="张\x00先生"), ())
    assert row["caller_name"] == "张\ufffd先生"


def test_values_that_fit_are_untouched() -> None:
    row = storable_row(a_call(), ("LS0001", "LS0002"))
    assert (row["caller_name"], row["caller_number"], row["resident_ids"]) == (
        "张先生",
        "05356683318",
        "LS0001 LS0002",
    )
    assert storable("caller_name", None) is None


def test_resident_ids_are_cut_between_ids() -> None:
    ids = [f"LS{n:04d}" for n in range(200)]  # 1,399 characters joined
    kept = storable_row(a_call(), ids)["resident_ids"]
    assert len(kept) <= 500
    assert kept.endswith(" " + TRUNCATED)
    assert all(part in ids for part in kept.split()[:-1])


def test_error_descriptions_never_quote_the_message() -> None:
    exc = ValueError("invalid input for query argument $3: '05356683318'")
    assert describe_error(exc) == "ValueError"
    assert not row_at_fault(ConnectionRefusedError())


def rows(*call_ids: str) -> list[dict[str, object]]:
    return [storable_row(a_call(call_id), ("LS0001",)) for call_id in call_ids]


def test_spool_round_trips_rows_and_is_private(tmp_path: Path) -> None:
    spool = CallLogSpool(tmp_path / "spool.jsonl")
    assert spool.append(rows("1", "2")) == 2
    assert stat.S_IMODE((tmp_path / "spool.jsonl").stat().st_mode) == 0o600
    taken, _ = CallLogSpool(tmp_path / "spool.jsonl").take()
    assert [r["call_id"] for r in taken] == ["1", "2"]
    assert taken[0]["joined_at"] == datetime.fromtimestamp(1_795_361_778.0, UTC)
    assert CallLogSpool(tmp_path / "spool.jsonl").pending == 2  # counted again on start


def test_spool_settle_keeps_what_is_unwritten_and_what_came_since(tmp_path: Path) -> None:
    spool = CallLogSpool(tmp_path / "spool.jsonl")
    spool.append(rows("1", "2", "3"))
    taken, offset = spool.take()
    spool.append(rows("4"))  # arrives while the replay waits on the database
    spool.settle(taken[2:], offset)
    assert [r["call_id"] for r in spool.take()[0]] == ["3", "4"]
    assert spool.pending == 2
    taken, offset = spool.take()
    spool.settle([], offset)
    assert spool.pending == 0 and not (tmp_path / "spool.jsonl").exists()


def test_a_full_spool_keeps_what_fits_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    spool = CallLogSpool(tmp_path / "spool.jsonl", max_bytes=1000)
    kept = spool.append(rows(*[str(n) for n in range(20)]))
    assert 0 < kept < 20
    assert spool.lost == 20 - kept
    assert (tmp_path / "spool.jsonl").stat().st_size <= 1000
    assert "is full" in caplog.text and "05356683318" not in caplog.text


def test_a_line_cut_by_a_crash_is_skipped(tmp_path: Path) -> None:
    spool = CallLogSpool(tmp_path / "spool.jsonl")
    spool.append(rows("1"))
    with (tmp_path / "spool.jsonl").open("ab") as f:
        f.write(b'{"call_id": "2", "que')
    assert [r["call_id"] for r in spool.take()[0]] == ["1"]
