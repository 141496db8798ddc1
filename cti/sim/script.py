"""The call script: a call's life turned into ordered event header lists, sans-IO.

The shapes and orders come from the recordings: `03-call-answered.ami` (answer),
`05-ring-no-answer.ami` (AgentRingNoAnswer), `09-abandon-while-ringing.ami` (abandon) for Local
channels (callers `Local/89000@inbound`, members `Local/seatNN@agents/n`), and
`13-pjsip-seat-call.ami` for SIP (caller `PJSIP/trunk-…`, member `PJSIP/seatNN`). Where the
model (queues, members) must speak in the middle of a phase, the phase takes those events as
an argument so the order stays the recording's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cti.sim.channels import (
    PRIV_AGENT,
    PRIV_CALL,
    RING,
    RINGING,
    UP,
    Bridge,
    Channel,
    Headers,
    chan_event,
    device_state,
    dial_event,
    event,
    hangup,
    hangup_request,
    local_bridge,
    new_callerid,
    new_connected_line,
    newexten,
    newstate,
    varset,
)
from cti.sim.queues import Member

ENTRY = "89000"
QUEUE_TIMEOUT = 120
_QUEUE_VARS = ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS")


@dataclass(slots=True)
class Ids:
    """Channel name suffixes and uniqueids, counting up like Asterisk's."""

    next_channel: int = 0
    next_unique: int = 0

    def channel_suffix(self) -> str:
        """`00000001`: eight hex digits, one per channel (pair)."""
        value = self.next_channel
        self.next_channel += 1
        return f"{value:08x}"

    def uniqueid(self, now: float) -> str:
        """`1795361778.0`: creation second and a running sequence."""
        value = self.next_unique
        self.next_unique += 1
        return f"{int(now)}.{value}"


@dataclass(slots=True)
class AgentLeg:
    """The channel(s) a queue dials for one ring attempt."""

    member: Member
    dialed: Channel  # the `Dest` channel: Local `;1` or the PJSIP seat channel
    inner: Channel | None  # Local `;2` (runs the agent's dialplan); None for PJSIP
    rang_at: float


@dataclass(slots=True, eq=False)
class CallScript:
    """One caller's channels and the events of each phase of its life."""

    queue: str
    number: str
    name: str
    language: str
    inner: Channel  # the channel that sits in the queue: Local `;2` or `PJSIP/trunk-…`
    outer: Channel | None  # Local `;1` (the caller's own side); None for PJSIP
    arrived_at: float
    variables: tuple[tuple[str, str], ...] = ()
    talk: float = 60.0  # how long the agent talks once answered
    ready_at: float = 0.0  # not offered to a member before this (retry after no answer)
    joined_at: float = 0.0
    answered_at: float | None = None
    leg: AgentLeg | None = None
    bridge: Bridge | None = None
    pending: list[Headers] = field(default_factory=list)

    @property
    def pjsip(self) -> bool:
        """True when the caller came in over the SIP trunk (production shape)."""
        return self.outer is None

    @property
    def channels(self) -> list[Channel]:
        """Every live channel of the call, for CoreShowChannels."""
        found = [self.inner] + ([self.outer] if self.outer else [])
        if self.leg is not None:
            found.append(self.leg.dialed)
            if self.leg.inner is not None:
                found.append(self.leg.inner)
        return found

    def _queue_header(self) -> list[tuple[str, str]]:
        return [("Queue", self.queue)]

    def caller_fields(self, position: int, count: int) -> Headers:
        """`QueueCallerJoin` (the model sets `Queue:<q>` RINGING just before)."""
        return chan_event(
            "QueueCallerJoin",
            PRIV_AGENT,
            self.inner,
            ("Queue", self.queue),
            ("Position", str(position)),
            ("Count", str(count)),
        )

    def leave(self, position: int, count: int) -> Headers:
        """`QueueCallerLeave`."""
        return chan_event(
            "QueueCallerLeave",
            PRIV_AGENT,
            self.inner,
            ("Queue", self.queue),
            ("Position", str(position)),
            ("Count", str(count)),
        )


def caller_arrives(
    ids: Ids,
    now: float,
    *,
    queue: str,
    number: str,
    name: str,
    language: str,
    local: bool,
    variables: Sequence[tuple[str, str]] = (),
) -> tuple[CallScript, list[Headers]]:
    """A caller reaches the entry number and runs the dialplan up to `Queue()`.

    Returns the call and its events up to (not including) the queue join.
    """
    if local:
        return _local_arrives(ids, now, queue, number, name, language, tuple(variables))
    return _trunk_arrives(ids, now, queue, number, name, language, tuple(variables))


def _local_arrives(
    ids: Ids,
    now: float,
    queue: str,
    number: str,
    name: str,
    language: str,
    variables: tuple[tuple[str, str], ...],
) -> tuple[CallScript, list[Headers]]:
    base = f"Local/{ENTRY}@inbound-{ids.channel_suffix()}"
    one_id = ids.uniqueid(now)
    one = Channel(f"{base};1", one_id, one_id, "inbound", ENTRY, created=now)
    two = Channel(f"{base};2", ids.uniqueid(now), one_id, "inbound", ENTRY, RING, created=now)
    call = CallScript(queue, number, name, language, two, one, now, variables)
    out: list[Headers] = [
        chan_event("Newchannel", PRIV_CALL, one),
        chan_event("Newchannel", PRIV_CALL, two),
    ]
    out.append(newexten(one, 1, "AppDial2", "(Outgoing Line)"))
    out.extend(varset(one, k, v) for k, v in variables)
    one.cid_num, one.cid_name = number, name
    out.append(new_callerid(one))
    one.conn_num, one.conn_name = number, name
    out.append(new_connected_line(one))
    out.extend(varset(two, k, v) for k, v in variables)
    two.cid_num, two.cid_name, two.conn_num, two.conn_name = number, name, number, name
    out.append(new_callerid(two))
    out.append(new_connected_line(two))
    out.append(local_bridge(one, two))
    out.append(
        event("DialBegin", PRIV_CALL, one.snapshot("Dest"), [("DialString", f"{ENTRY}@inbound/n")])
    )
    out.append(newexten(two, 1, "NoOp", f"call from {number}"))
    out.append(newexten(two, 2, "Answer", ""))
    out.append(newstate(two, UP))
    out.append(newstate(one, UP))
    out.append(event("DialEnd", PRIV_CALL, one.snapshot("Dest"), [("DialStatus", "ANSWER")]))
    out.append(device_state(f"Local/{ENTRY}@inbound", "INUSE"))
    one.context = "caller"
    out.append(newexten(one, 1, "Wait", str(QUEUE_TIMEOUT), exten="wait"))
    out.append(device_state(f"Local/{ENTRY}@inbound", "INUSE"))
    out.extend(_dialplan_to_queue(two, queue, language))
    return call, out


def _trunk_arrives(
    ids: Ids,
    now: float,
    queue: str,
    number: str,
    name: str,
    language: str,
    variables: tuple[tuple[str, str], ...],
) -> tuple[CallScript, list[Headers]]:
    uid = ids.uniqueid(now)
    trunk = Channel(
        f"PJSIP/trunk-{ids.channel_suffix()}",
        uid,
        uid,
        "inbound",
        ENTRY,
        RING,
        cid_num=number,
        cid_name=name,
        created=now,
    )
    call = CallScript(queue, number, name, language, trunk, None, now, variables)
    out = [chan_event("Newchannel", PRIV_CALL, trunk), varset(trunk, "SIPDOMAIN", "127.0.0.1")]
    out.extend(varset(trunk, k, v) for k, v in variables)
    out.append(newexten(trunk, 1, "NoOp", f"call from {number}"))
    out.append(newexten(trunk, 2, "Answer", ""))
    out.append(newstate(trunk, UP))
    out.append(device_state("PJSIP/trunk", "INUSE"))
    out.extend(_dialplan_to_queue(trunk, queue, language))
    return call, out


def _dialplan_to_queue(ch: Channel, queue: str, language: str) -> list[Headers]:
    out = [newexten(ch, 3, "Set", f"LANG={language}"), varset(ch, "LANG", language)]
    out.append(newexten(ch, 4, "Queue", f"{queue},,,,{QUEUE_TIMEOUT}"))
    out.extend(varset(ch, k, "") for k in (*_QUEUE_VARS, "QUEUEWAIT", "QUEUEWAIT_MS"))
    return out


def ring(
    ids: Ids, now: float, call: CallScript, member: Member, will_answer: bool = True
) -> list[Headers]:
    """The queue dials `member` for `call`: the agent leg appears, AgentCalled, DialBegin.

    A Local agent who will not answer runs `Wait(60)` instead of reaching `Answer` (05, 09).
    """
    iface = member.interface
    uid = ids.uniqueid(now)
    linked = call.inner.linkedid
    out: list[Headers] = []
    if iface.is_local:
        base = f"{iface.device}-{ids.channel_suffix()}"
        dialed = Channel(f"{base};1", uid, linked, iface.context, iface.exten, created=now)
        inner = Channel(
            f"{base};2", ids.uniqueid(now), linked, iface.context, iface.exten, RING, created=now
        )
        out += [
            chan_event("Newchannel", PRIV_CALL, dialed),
            chan_event("Newchannel", PRIV_CALL, inner),
        ]
        dialed.cid_num, dialed.cid_name = call.number, call.name
        out.append(newexten(dialed, 1, "AppQueue", "(Outgoing Line)"))
        out.append(new_callerid(dialed))
        out.append(varset(dialed, "DIALEDPEERNUMBER", iface.dialed_peer))
        out.append(varset(inner, "DIALEDPEERNUMBER", iface.dialed_peer))
        inner.cid_num, inner.cid_name = call.number, call.name
        inner.conn_num, inner.conn_name = call.number, call.name
        out.append(new_callerid(inner))
        out.append(new_connected_line(inner))
        out.append(local_bridge(dialed, inner))
    else:
        dialed = Channel(
            f"{iface.device}-{ids.channel_suffix()}", uid, linked, iface.context, "s", created=now
        )
        inner = None
        out.append(chan_event("Newchannel", PRIV_CALL, dialed))
        dialed.cid_num = ENTRY
        out.append(newexten(dialed, 1, "AppQueue", "(Outgoing Line)"))
        out.append(new_callerid(dialed))
        out.append(varset(dialed, "DIALEDPEERNUMBER", iface.dialed_peer))
    call.leg = AgentLeg(member, dialed, inner, now)
    who = [("Queue", call.queue), ("Interface", iface.raw), ("MemberName", member.name)]
    out.append(dial_event("AgentCalled", PRIV_AGENT, call.inner, dialed, *who))
    out.append(dial_event("DialBegin", PRIV_CALL, call.inner, dialed, ("DialString", iface.raw)))
    if inner is not None and will_answer:
        out.append(newexten(inner, 1, "NoOp", f"agent {member.name} rings"))
    elif inner is not None:
        out.append(newexten(inner, 1, "NoOp", f"agent {member.name} rings but never answers"))
        out.append(newexten(inner, 2, "Wait", "60"))
    return out


def pjsip_ringing(call: CallScript, member_ringing: list[Headers]) -> list[Headers]:
    """A SIP phone reports 180 Ringing (13): DialState RINGING, member status 6."""
    leg = _leg(call)
    dialed = leg.dialed
    call.inner.conn_num, call.inner.conn_name = ENTRY, "<unknown>"
    out = [new_connected_line(call.inner)]
    dialed.conn_num, dialed.conn_name = call.number, call.name
    out.append(newstate(dialed, RINGING))
    out.append(newexten(dialed, 1, "AppQueue", "(Outgoing Line)", exten=ENTRY))
    out.append(new_connected_line(dialed))
    out.append(dial_event("DialState", PRIV_CALL, call.inner, dialed, ("DialStatus", "RINGING")))
    out.extend(member_ringing)
    out.append(device_state(leg.member.interface.device, "RINGING"))
    return out


def _leg(call: CallScript) -> AgentLeg:
    if call.leg is None:
        raise RuntimeError(f"call {call.inner.name} has no agent leg")
    return call.leg


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
    leg = _leg(call)
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
    who = [
        ("Queue", call.queue),
        ("Interface", leg.member.interface.raw),
        ("MemberName", leg.member.name),
    ]
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
    leg, bridge = _leg(call), call.bridge
    if bridge is None or call.answered_at is None:
        raise RuntimeError(f"call {call.inner.name} was never answered")
    dialed, inner = leg.dialed, leg.inner
    device = leg.member.interface.device
    who = [
        ("Queue", call.queue),
        ("Interface", leg.member.interface.raw),
        ("MemberName", leg.member.name),
    ]
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
    leg = _leg(call)
    dialed = leg.dialed
    who = [
        ("Queue", call.queue),
        ("Interface", leg.member.interface.raw),
        ("MemberName", leg.member.name),
    ]
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
