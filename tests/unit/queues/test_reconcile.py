"""Planning member actions: only the difference, idempotent, never a member off a call."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cti.state import Member, Membership
from queues import SeatDuty, Wanted
from queues.membership.reconcile import MemberInterfaces, expect, plan

LOCAL = MemberInterfaces("Local/{seat}@agents/n")
PJSIP = MemberInterfaces("PJSIP/{seat}", "PJSIP/{seat}")


def duty(seat: str = "seat07", **kw: object) -> SeatDuty:
    base: dict[str, object] = {
        "seat": seat,
        "agent": "a07",
        "queues": (Wanted("q-zh", 0), Wanted("q-en", 1)),
    }
    return SeatDuty(**{**base, **kw})  # type: ignore[arg-type]


def member(queue: str, seat: str = "seat07", **kw: object) -> Member:
    base: dict[str, object] = {
        "queue": queue,
        "seat": seat,
        "interface": f"Local/{seat}@agents/n",
        "status": 1,
        "paused": False,
        "paused_reason": "",
        "penalty": 0,
    }
    return Member(**{**base, **kw})  # type: ignore[arg-type]


def test_login_adds_each_queue_with_penalty_membername_and_pause_in_one_action() -> None:
    d = duty(status="paused", reason="meal")
    actions = plan({d.seat: d}, [], LOCAL)
    assert [(a.name, dict(a.fields)) for a in actions] == [
        (
            "QueueAdd",
            {
                "Queue": "q-zh",
                "Interface": "Local/seat07@agents/n",
                "MemberName": "seat07",
                "Penalty": "0",
                "Paused": "true",
                "Reason": "meal",
            },
        ),
        (
            "QueueAdd",
            {
                "Queue": "q-en",
                "Interface": "Local/seat07@agents/n",
                "MemberName": "seat07",
                "Penalty": "1",
                "Paused": "true",
                "Reason": "meal",
            },
        ),
    ]


def test_state_interface_is_sent_when_configured() -> None:
    d = duty(queues=(Wanted("q-zh", 0),))
    (action,) = plan({d.seat: d}, [], PJSIP)
    assert dict(action.fields)["Interface"] == "PJSIP/seat07"
    assert dict(action.fields)["StateInterface"] == "PJSIP/seat07"
    (local,) = plan({d.seat: d}, [], LOCAL)
    assert "StateInterface" not in dict(local.fields)


def test_nothing_to_do_when_asterisk_already_matches() -> None:
    d = duty()
    assert plan({d.seat: d}, [member("q-zh"), member("q-en", penalty=1)], LOCAL) == []


def test_only_the_difference_is_sent() -> None:
    d = duty(status="paused", reason="break")
    actual = [
        member("q-zh", paused=True, paused_reason="meal"),  # wrong reason
        member("q-en", penalty=2, paused=True, paused_reason="break"),  # wrong penalty
        member("q-ko"),  # not wanted
    ]
    actions = plan({d.seat: d}, actual, LOCAL)
    got = [(a.name, a.queue, dict(a.fields).get("Reason")) for a in actions]
    assert got == [
        ("QueuePause", "q-zh", "break"),
        ("QueuePenalty", "q-en", None),
        ("QueueRemove", "q-ko", None),
    ]


def test_on_call_and_after_call_work_pause_with_after_call_work() -> None:
    for status in ("on_call", "after_call_work"):
        d = duty(status=status, queues=(Wanted("q-zh", 0),))
        (action,) = plan({d.seat: d}, [member("q-zh")], LOCAL)
        assert action.name == "QueuePause"
        assert dict(action.fields) == {
            "Queue": "q-zh",
            "Interface": "Local/seat07@agents/n",
            "Paused": "true",
            "Reason": "after-call-work",
        }


def test_a_member_on_a_call_or_ringing_is_not_removed_until_it_is_free() -> None:
    for busy in ({"in_call": True, "status": 2}, {"status": 6}, {"status": 2}):
        assert plan({}, [member("q-zh", **busy)], LOCAL) == []
    (action,) = plan({}, [member("q-zh")], LOCAL)
    assert (action.name, dict(action.fields)) == (
        "QueueRemove",
        {"Queue": "q-zh", "Interface": "Local/seat07@agents/n"},
    )


def test_static_members_are_left_to_queues_conf() -> None:
    assert plan({}, [member("q-zh", dynamic=False)], LOCAL) == []


def test_unknown_seats_are_kept_when_told_so() -> None:
    assert plan({}, [member("q-zh")], LOCAL, remove_unknown=False) == []


def test_a_member_with_another_interface_is_replaced() -> None:
    d = duty(queues=(Wanted("q-zh", 0),))
    actions = plan({d.seat: d}, [member("q-zh", interface="PJSIP/seat07")], LOCAL)
    assert [(a.name, dict(a.fields)["Interface"]) for a in actions] == [
        ("QueueRemove", "PJSIP/seat07"),
        ("QueueAdd", "Local/seat07@agents/n"),
    ]


STATUSES = st.sampled_from(["ready", "paused", "on_call", "after_call_work"])
SEATS = st.sampled_from(["seat01", "seat02", "seat03"])
QUEUES = st.sampled_from(["q-zh", "q-en", "q-ko"])


@st.composite
def duties(draw: st.DrawFn) -> dict[str, SeatDuty]:
    out = {}
    for seat in draw(st.sets(SEATS)):
        queues = draw(st.lists(QUEUES, unique=True, max_size=3))
        status = draw(STATUSES)
        reason = draw(st.sampled_from(["break", "meal"])) if status == "paused" else None
        wanted = tuple(Wanted(q, draw(st.integers(0, 2))) for q in queues)
        out[seat] = SeatDuty(seat, "a-" + seat, wanted, status, reason)
    return out


@st.composite
def members(draw: st.DrawFn) -> list[Member]:
    found = {}
    for seat, queue in draw(st.lists(st.tuples(SEATS, QUEUES), max_size=8)):
        paused = draw(st.booleans())
        found[(queue, seat)] = member(
            queue,
            seat,
            paused=paused,
            paused_reason=draw(st.sampled_from(["", "meal", "after-call-work"])) if paused else "",
            penalty=draw(st.integers(0, 2)),
            interface=draw(st.sampled_from([f"Local/{seat}@agents/n", f"PJSIP/{seat}"])),
        )
    return list(found.values())


@given(duties(), members())
def test_planning_again_after_the_actions_succeed_gives_nothing(
    wanted: dict[str, SeatDuty], actual: list[Member]
) -> None:
    view = Membership()
    for m in actual:
        view.put(m)
    for action in plan(wanted, view.all(), LOCAL):
        expect(action, view, 1.0)
    assert plan(wanted, view.all(), LOCAL) == []
    # And Asterisk now holds exactly what the seats want.
    held = {(m.queue, m.seat, m.penalty) for m in view.all()}
    assert held == {(w.queue, d.seat, w.penalty) for d in wanted.values() for w in d.queues}


async def test_requeue_changes_the_plan_to_exactly_the_new_queues() -> None:
    from queues import MembershipService, MemoryDutyStore
    from seats import parse_skills

    class Sender:
        connected = True

        async def send(self, name: str, fields: object = ()) -> object:
            raise AssertionError(name)

    class Nowhere:
        async def publish(self, agent_id: str, message: object) -> int:
            return 0

    service = MembershipService(Sender(), Nowhere(), MemoryDutyStore(), interfaces=LOCAL)
    service.login("a07", "seat07", parse_skills("zh"))
    for m in (member("q-zh"),):
        service.reconciler.actual.put(m)
    assert service.reconciler.pending() == []
    service.requeue("a07", (Wanted("q-zh", 1), Wanted("q-duty", 0)))
    got = [(a.name, a.queue) for a in service.reconciler.pending()]
    assert got == [("QueuePenalty", "q-zh"), ("QueueAdd", "q-duty")]
    assert service.requeue("nobody", ()) is None


async def test_a_hold_for_a_callback_keeps_an_agents_own_pause_and_ends_on_release() -> None:
    from queues import MembershipService, MemoryDutyStore
    from seats import parse_skills

    class Sender:
        connected = True

        async def send(self, name: str, fields: object = ()) -> object:
            raise AssertionError(name)

    class Nowhere:
        async def publish(self, agent_id: str, message: object) -> int:
            return 0

    service = MembershipService(Sender(), Nowhere(), MemoryDutyStore(), interfaces=LOCAL)
    service.login("a07", "seat07", parse_skills("zh"))
    assert service.hold("a07", "callback")
    duty = service.duty_of("a07")
    assert duty is not None and (duty.status, duty.pbx_reason) == ("paused", "callback")
    service.release("a07", "callback")
    duty = service.duty_of("a07")
    assert duty is not None and duty.status == "ready"
    service.pause("a07", "meal")
    assert not service.hold("a07", "callback")  # the agent's own pause stays theirs
    service.release("a07", "callback")
    duty = service.duty_of("a07")
    assert duty is not None and (duty.status, duty.reason) == ("paused", "meal")


async def test_a_displaced_agents_time_in_state_is_logged_once() -> None:
    import asyncio

    from cti import stop_task
    from queues import MembershipService, MemoryDutyStore
    from seats import parse_skills

    class Accepting:
        connected = True

        async def send(self, name: str, fields: object = ()) -> object:
            return None

    class Nowhere:
        async def publish(self, agent_id: str, message: object) -> int:
            return 0

    store = MemoryDutyStore()
    clock = iter(float(t) for t in range(100, 200))
    service = MembershipService(
        Accepting(), Nowhere(), store, interfaces=LOCAL, clock=lambda: next(clock)
    )
    runner = asyncio.create_task(service.run())
    try:
        service.login("a07", "seat07", parse_skills("zh"))
        service.pause("a07", "meal")
        service.login("a08", "seat07", parse_skills("zh"))  # a08 takes the seat
        await service.drained(5.0)
    finally:
        await stop_task(runner)
    periods = [(d.agent, d.status, d.reason) for d, _ in store.logged]
    assert periods == [("a07", "ready", None), ("a07", "paused", "meal")]
