"""A call's last phases, sans-IO: answered and completed, not answered, or abandoned.

Shapes and orders from `03-call-answered.ami`, `05-ring-no-answer.ami`,
`09-abandon-while-ringing.ami` (Local) and `13-pjsip-seat-call.ami` (SIP). Where the model
(queues, members) must speak in the middle of a phase, the phase takes those events as an
argument so the order stays the recording's.
"""

from __future__ import annotations

from cti.sim.call import ENTRY, AgentLeg, CallScript, leg_of, member_fields
from cti.sim.channels import (
    PRIV_AGENT,
    PRIV_CALL,
    UP,
    Bridge,
    Headers,
    chan_event,
    device_state,
    dial_event,
    hangup,
    hangup_request,
    new_connected_line,
    newexten,
    newstate,
    varset,
)


def answer(
    call: CallScript,
    now: float,
    bridge_id: str,
    member_in_use: list[Headers],
    queue_leave: list[Headers],
) -> list[Headers]:
    """The agent answers: DialEnd ANSWER, the caller leaves the queue, AgentConnect, bridge.

    `member_in_use` is QueueMemberStatus (2) and the avail device change; `queue_leave` is the
    `Queue:<q>` device change and QueueCallerLeave.
    """
    leg = leg_of(call)
    dialed, inner = leg.dialed, leg.inner
    device = leg.member.interface.device
    hold = str(round(now - call.joined_at))
    ring_time = str(round(now - leg.rang_at))
    call.answered_at = now
    out: list[Headers] = []
    if inner is not None:
        out.append(newexten(inner, 2, "Answer", ""))
        out.append(newstate(inner, UP))
        out.append(device_state(device, "INUSE"))
        out.append(newstate(dialed, UP))
        dialed.exten = ENTRY
        out.append(newexten(dialed, 1, "AppQueue", "(Outgoing Line)"))
        dialed.conn_num, dialed.conn_name = call.number, call.name
        out.append(new_connected_line(dialed))
        out.extend(member_in_use)
        out.append(device_state(device, "INUSE"))
        out.append(dial_event("DialEnd", PRIV_CALL, call.inner, dialed, ("DialStatus", "ANSWER")))
        out.extend(queue_leave)
        out.append(varset(call.inner, "QUEUEPOSITION", "1"))
    else:
        out.append(newstate(dialed, UP))
        out.append(dial_event("DialEnd", PRIV_CALL, call.inner, dialed, ("DialStatus", "ANSWER")))
        out.extend(queue_leave)
        out.append(varset(call.inner, "QUEUEPOSITION", "1"))
        out.extend(member_in_use[:1])
    out.append(varset(call.inner, "QUEUEWAIT", hold))
    out.append(varset(call.inner, "QUEUEWAIT_MS", str(round((now - call.joined_at) * 1000))))
    if inner is None:
        out.append(device_state(device, "INUSE"))
    who = member_fields(call, leg)
    out.append(
        dial_event(
            "AgentConnect",
            PRIV_AGENT,
            call.inner,
            dialed,
            *who,
            ("HoldTime", hold),
            ("RingTime", ring_time),
        )
    )
    bridge = Bridge(bridge_id)
    call.bridge = bridge
    out += [bridge.create(), bridge.enter(dialed), bridge.enter(call.inner)]
    if inner is not None:
        out.append(varset(dialed, "BRIDGEPEER", call.inner.name))
        out.append(varset(call.inner, "BRIDGEPEER", dialed.name))
        out.append(newexten(inner, 3, "Wait", "2"))
    else:
        out.append(varset(call.inner, "BRIDGEPEER", dialed.name))
        out.append(varset(dialed, "BRIDGEPEER", call.inner.name))
    return out


def complete(call: CallScript, now: float, member_free: list[Headers]) -> list[Headers]:
    """The agent hangs up after talking: AgentComplete, the bridge goes, every channel ends.

    `member_free` is QueueMemberStatus (1) and the avail device change.
    """
    leg, bridge = leg_of(call), call.bridge
    if bridge is None or call.answered_at is None:
        raise RuntimeError(f"call {call.inner.name} was never answered")
    dialed, inner = leg.dialed, leg.inner
    device = leg.member.interface.device
    who = member_fields(call, leg)
    times = [
        ("HoldTime", str(round(call.answered_at - call.joined_at))),
        ("TalkTime", str(round(now - call.answered_at))),
        ("Reason", "agent"),
    ]
    out: list[Headers] = []
    if inner is not None:
        out.append(newexten(inner, 4, "Hangup", ""))
        out.append(hangup_request("SoftHangupRequest", inner, 16))
        out.append(hangup_request("HangupRequest", dialed, 16))
        out.append(hangup(inner, 16))
        out.append(dial_event("AgentComplete", PRIV_AGENT, call.inner, dialed, *who, *times))
        out.append(device_state(device, "NOT_INUSE"))
        out.extend(member_free)
        out.append(varset(dialed, "BRIDGEPEER", ""))
        out.append(varset(call.inner, "BRIDGEPEER", ""))
        out.append(bridge.leave(dialed))
        out.append(hangup(dialed, 16))
        out.append(bridge.leave(call.inner))
        out.append(device_state(device, "NOT_INUSE"))
        out.append(bridge.destroy())
    else:
        out.append(chan_event("HangupRequest", PRIV_CALL, dialed))
        out.append(dial_event("AgentComplete", PRIV_AGENT, call.inner, dialed, *who, *times))
        out.append(varset(dialed, "BRIDGEPEER", ""))
        out.append(varset(call.inner, "BRIDGEPEER", ""))
        out.append(bridge.leave(dialed))
        out.append(bridge.leave(call.inner))
        out.append(hangup(dialed, 16))
        out.append(bridge.destroy())
    talk = now - call.answered_at
    dialled = now - call.joined_at
    out.append(varset(call.inner, "ANSWEREDTIME", str(round(talk))))
    out.append(varset(call.inner, "ANSWEREDTIME_MS", str(round(talk * 1000))))
    out.append(varset(call.inner, "DIALEDTIME", str(round(dialled))))
    out.append(varset(call.inner, "DIALEDTIME_MS", str(round(dialled * 1000))))
    out.append(hangup_request("SoftHangupRequest", call.inner, 16))
    if call.outer is not None:
        out.append(hangup_request("HangupRequest", call.outer, 16))
        out.append(hangup(call.inner, 16))
        out.append(hangup_request("SoftHangupRequest", call.outer, 16))
        out.append(hangup(call.outer, 16))
        out.append(device_state(f"Local/{ENTRY}@inbound", "NOT_INUSE"))
        out.append(device_state(f"Local/{ENTRY}@inbound", "NOT_INUSE"))
    else:
        out.extend(member_free)
        out.append(device_state(device, "NOT_INUSE"))
        out.append(hangup(call.inner, 16))
        out.append(device_state("PJSIP/trunk", "NOT_INUSE"))
    call.leg = None
    return out


def ring_no_answer(call: CallScript, now: float, member_free: list[Headers]) -> list[Headers]:
    """The member did not answer within the ring timeout (05): AgentRingNoAnswer, the agent
    leg is torn down; the call stays in the queue for the next member."""
    leg = leg_of(call)
    dialed = leg.dialed
    who = member_fields(call, leg)
    out = [
        dial_event(
            "AgentRingNoAnswer",
            PRIV_AGENT,
            call.inner,
            dialed,
            *who,
            ("RingTime", str(round((now - leg.rang_at) * 1000))),
        )
    ]
    out.append(dial_event("DialEnd", PRIV_CALL, call.inner, dialed, ("DialStatus", "NOANSWER")))
    out.append(dial_event("DialEnd", PRIV_CALL, call.inner, dialed, ("DialStatus", "CANCEL")))
    out.extend(_drop_agent_leg(leg, after_hangup=[new_connected_line(dialed)]))
    out.extend(member_free)
    call.leg = None
    return out


def _drop_agent_leg(leg: AgentLeg, after_hangup: list[Headers]) -> list[Headers]:
    dialed, inner = leg.dialed, leg.inner
    device = leg.member.interface.device
    if inner is None:
        return [hangup(dialed, 0), device_state(device, "NOT_INUSE")]
    return [
        hangup_request("HangupRequest", inner, 0),
        hangup(dialed, 0),
        *after_hangup,
        hangup_request("SoftHangupRequest", inner, 16),
        hangup(inner, 0),
        device_state(device, "NOT_INUSE"),
        device_state(device, "NOT_INUSE"),
    ]


def abandon(
    call: CallScript,
    now: float,
    position: int,
    original_position: int,
    member_free: list[Headers],
    queue_leave: list[Headers],
) -> list[Headers]:
    """The caller hangs up while waiting (09; 04 without a ringing member): DialEnd CANCEL for
    a ringing member, QueueCallerAbandon, QueueCallerLeave, the caller's channels end.

    `queue_leave` is the `Queue:<q>` device change and QueueCallerLeave.
    """
    out: list[Headers] = []
    waited = now - call.joined_at
    if call.outer is not None:
        out.append(newexten(call.outer, 1, "Hangup", ""))
        out.append(hangup_request("SoftHangupRequest", call.outer, 16))
        out.append(hangup_request("HangupRequest", call.inner, 16))
        out.append(hangup(call.outer, 16))
    leg = call.leg
    if leg is not None:
        cancel = ("DialStatus", "CANCEL")
        out.append(dial_event("DialEnd", PRIV_CALL, call.inner, leg.dialed, cancel))
        if leg.inner is not None:
            out.append(dial_event("DialEnd", PRIV_CALL, call.inner, leg.dialed, cancel))
            out += [
                hangup_request("HangupRequest", leg.inner, 0),
                hangup_request("SoftHangupRequest", leg.inner, 16),
                hangup(leg.inner, 0),
                hangup(leg.dialed, 0),
                new_connected_line(leg.dialed),
            ]
        else:
            out.extend(_drop_agent_leg(leg, []))
    out.append(varset(call.inner, "QUEUEWAIT", str(round(waited))))
    out.append(varset(call.inner, "QUEUEWAIT_MS", str(round(waited * 1000))))
    out.append(varset(call.inner, "DIALEDTIME", str(round(now - call.arrived_at))))
    out.append(varset(call.inner, "DIALEDTIME_MS", str(round((now - call.arrived_at) * 1000))))
    out.append(varset(call.inner, "ANSWEREDTIME", "0"))
    out.append(varset(call.inner, "ANSWEREDTIME_MS", "0"))
    if call.outer is not None:
        out.append(device_state(f"Local/{ENTRY}@inbound", "NOT_INUSE"))
    if leg is not None and leg.inner is not None:
        out.append(device_state(leg.member.interface.device, "NOT_INUSE"))
        out.append(device_state(leg.member.interface.device, "NOT_INUSE"))
    out.extend(member_free)
    out.append(varset(call.inner, "ABANDONED", "TRUE"))
    out.append(
        chan_event(
            "QueueCallerAbandon",
            PRIV_AGENT,
            call.inner,
            ("Queue", call.queue),
            ("Position", str(position)),
            ("OriginalPosition", str(original_position)),
            ("HoldTime", str(round(waited))),
        )
    )
    out.extend(queue_leave)
    out.append(varset(call.inner, "QUEUEPOSITION", str(position)))
    out.append(hangup_request("SoftHangupRequest", call.inner, 16))
    out.append(hangup(call.inner, 16))
    out.append(
        device_state(
            f"Local/{ENTRY}@inbound" if call.outer is not None else "PJSIP/trunk", "NOT_INUSE"
        )
    )
    call.leg = None
    return out
