"""The pop shows what the IVR learnt: 07's FastAGI session through our server, then 07's AMI
events (the same caller channel, `Uniqueid: 1795361860.17`, rings seat31) into the state
service: the pop says Korean, chosen in the menu."""

from __future__ import annotations

from pathlib import Path

from cti.bus import InProcessBus
from cti.state import CallTracker, StateService
from ivr import CallerFacts, IvrServer, Learnt
from seats import SeatDirectory
from tests.support.agi import asterisk, keys
from tests.support.recordings import recording_events


async def test_pop_of_07_says_korean_chosen_in_the_menu(traces_dir: Path) -> None:
    ivr = IvrServer(lambda _: CallerFacts(), port=0)
    await ivr.start()
    try:
        await asterisk(ivr.port, keys("3"))
    finally:
        await ivr.stop()
    seats = SeatDirectory()
    seats.login("agent31", "seat31")
    bus = InProcessBus()
    state = StateService(CallTracker(seats), bus, ivr=ivr.notes)
    for event in recording_events(traces_dir / "07-ivr-call.ami"):
        await state.on_event(event)
    pop = next(m for m in await bus.since("agent31", 0) if m["type"] == "pop")
    assert pop["call_id"] == "1795361860.17"
    assert pop["ivr"] == {
        "language": "ko",
        "how": "chosen",
        "emergency": False,
        "recognised": False,
    }


async def test_emergency_and_recognised_reach_the_pop() -> None:
    from cti.state import PopDue, pop_message

    due = PopDue("a1", "seat01", "c1", "q-duty", "05356683318", None, 1.0)
    emergency = Learnt("zh", "q-duty", 20, "emergency")
    assert pop_message(due, None, emergency)["ivr"]["emergency"] is True
    elderly = Learnt("zh", "q-zh", 10, "recognised", ("R1",))
    assert pop_message(due, None, elderly)["ivr"]["recognised"] is True
    assert pop_message(due, None)["ivr"] is None
