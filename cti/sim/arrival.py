"""A call's first phases, sans-IO: the caller arrives and reaches `Queue()`, a member is rung.

Local shapes from `03-call-answered.ami`, `05-ring-no-answer.ami`, `09-abandon-while-ringing.ami`
(callers `Local/89000@inbound`, members `Local/seatNN@agents/n`); SIP shapes from
`13-pjsip-seat-call.ami` (caller `PJSIP/trunk-…`, member `PJSIP/seatNN`).
"""

from __future__ import annotations

from collections.abc import Sequence

from cti.sim.call import ENTRY, QUEUE_TIMEOUT, AgentLeg, CallScript, Ids, leg_of
from cti.sim.channels import (
    PRIV_AGENT,
    PRIV_CALL,
    RING,
    RINGING,
    UP,
    Channel,
    Headers,
    chan_event,
    device_state,
    dial_event,
    event,
    local_bridge,
    new_callerid,
    new_connected_line,
    newexten,
    newstate,
    varset,
)
from cti.sim.queues import Member

_QUEUE_VARS = ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS")


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
    leg = leg_of(call)
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
