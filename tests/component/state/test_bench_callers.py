"""The pop bench's callers (`scripts/bench-pop --callers`): registered, every caller of the
recording is a resident with next of kin, so every pop it times carries a card, as for the
hotline's callers; unknown, none is."""

from __future__ import annotations

from pathlib import Path

from cti.state.bench import DEFAULT_TRACE, REGISTERED_RESIDENTS, bench_residents, trace_callers
from tests.support.bench_registry import bench_locator


async def test_registered_callers_are_residents_with_next_of_kin_among_ten_thousand(
    tmp_path: Path,
) -> None:
    callers = trace_callers(DEFAULT_TRACE)
    assert len(callers) == 60  # the 08 burst: 60 callers, mobiles, landlines and Korean mobiles
    assert len(bench_residents("registered", DEFAULT_TRACE)) == REGISTERED_RESIDENTS
    async with bench_locator(tmp_path, "registered") as (locator, _):
        for number in callers:
            match = locator.lookup(number)
            assert any(card.next_of_kin for card in match.residents), number


async def test_unknown_callers_match_nobody(tmp_path: Path) -> None:
    async with bench_locator(tmp_path, "unknown") as (locator, _):
        assert all(not locator.lookup(n).residents for n in trace_callers(DEFAULT_TRACE))
