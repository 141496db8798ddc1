"""AMI actions answered as Asterisk 22 answers them in `01-status.ami` and `02-queue-admin.ami`.

`handle(pbx, action)` returns the reply for the asking session (a Response, and for list
actions the list events and the `...Complete` event) and the events every session sees.
Login/Logoff/Events belong to the session and live in the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cti.ami import Action, Header
from cti.sim.channels import Headers
from cti.sim.originate import originate
from cti.sim.pbx import NoSuchQueue, Pbx
from cti.sim.queues import Queue


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action produced: the asker's reply messages, and events for everyone."""

    reply: list[Headers]
    events: list[Headers] = field(default_factory=list)


def response(action: Action, status: str, *fields: Header) -> Headers:
    """A `Response:` with the action's ActionID (when it had one) then `fields`."""
    headers: list[Header] = [("Response", status)]
    if action.action_id is not None:
        headers.append(("ActionID", action.action_id))
    headers.extend(fields)
    return tuple(headers)


def _ok(action: Action, message: str) -> Headers:
    return response(action, "Success", ("Message", message))


def _error(action: Action, message: str) -> ActionResult:
    return ActionResult([response(action, "Error", ("Message", message))])


def _aid(action: Action) -> list[Header]:
    return [("ActionID", action.action_id)] if action.action_id is not None else []


def _list(action: Action, message: str, items: list[Headers], complete: str) -> ActionResult:
    start = response(action, "Success", ("EventList", "start"), ("Message", message))
    end = (
        ("Event", complete),
        *_aid(action),
        ("EventList", "Complete"),
        ("ListItems", str(len(items))),
    )
    return ActionResult([start, *items, end])


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def ping(pbx: Pbx, action: Action) -> ActionResult:
    """`Ping`: Pong with the PBX clock as Timestamp."""
    return ActionResult(
        [response(action, "Success", ("Ping", "Pong"), ("Timestamp", f"{pbx.now:.6f}"))]
    )


def queue_add(pbx: Pbx, action: Action) -> ActionResult:
    """`QueueAdd`: added, `Already there`, or `No such queue` (02)."""
    queue, iface = action.get("Queue") or "", action.get("Interface") or ""
    try:
        _, events = pbx.add_member(
            queue,
            iface,
            action.get("MemberName"),
            int(action.get("Penalty") or 0),
            paused=_truthy(action.get("Paused")),
            reason=action.get("Reason") or "",
            state_interface=action.get("StateInterface"),
        )
    except NoSuchQueue:
        return _error(action, "Unable to add interface to queue: No such queue")
    except ValueError:
        return _error(action, "Unable to add interface: Already there")
    events.extend(pbx.offer(queue))
    return ActionResult([_ok(action, "Added interface to queue")], events)


def queue_remove(pbx: Pbx, action: Action) -> ActionResult:
    """`QueueRemove`: removed, or `Not there` (02)."""
    q = pbx.queues.get(action.get("Queue") or "")
    if q is None:
        return _error(action, "Unable to remove interface from queue: No such queue")
    member = q.member(action.get("Interface") or "")
    if member is None:
        return _error(action, "Unable to remove interface: Not there")
    q.members.remove(member)
    events = [member.event("QueueMemberRemoved")]
    if member.paused:
        member.paused = False
        events.extend(pbx.devices.pause(member))
    events.extend(pbx.devices.avail(q))
    return ActionResult([_ok(action, "Removed interface from queue")], events)


def queue_pause(pbx: Pbx, action: Action) -> ActionResult:
    """`QueuePause` in one queue or (no Queue) every queue the interface is in (02)."""
    iface = action.get("Interface") or ""
    paused = _truthy(action.get("Paused"))
    reason = action.get("Reason") or ""
    name = action.get("Queue")
    queues = [pbx.queues[name]] if name in pbx.queues else [] if name else list(pbx.queues.values())
    members = [m for q in queues if (m := q.member(iface)) is not None]
    if not members:
        # Not in the recordings: app_queue's own text for an unknown interface.
        return _error(action, "Interface not found")
    events: list[Headers] = []
    for m in members:
        changed = m.paused != paused
        m.paused = paused
        m.paused_reason = reason if paused else ""
        if changed:
            m.last_pause = int(pbx.now)
            events.extend(pbx.devices.pause(m))
            events.extend(pbx.devices.avail(pbx.queues[m.queue]))
        events.append(m.event("QueueMemberPause"))
    for m in members:
        events.extend(pbx.offer(m.queue))
    text = "Interface paused successfully" if paused else "Interface unpaused successfully"
    return ActionResult([_ok(action, text)], events)


def queue_penalty(pbx: Pbx, action: Action) -> ActionResult:
    """`QueuePenalty` (02)."""
    iface = action.get("Interface") or ""
    name = action.get("Queue")
    try:
        penalty = int(action.get("Penalty") or "")
    except ValueError:
        penalty = -1
    queues = [q for q in pbx.queues.values() if name in (None, q.name)]
    members = [m for q in queues if (m := q.member(iface)) is not None]
    if not members or penalty < 0:
        # Not in the recordings: app_queue's own text.
        return _error(action, "Invalid interface, queuename or penalty")
    for m in members:
        m.penalty = penalty
    events = [m.event("QueueMemberPenalty") for m in members]
    for m in members:
        events.extend(pbx.offer(m.queue))
    return ActionResult([_ok(action, "Interface penalty set successfully")], events)


def _params(pbx: Pbx, q: Queue, action: Action) -> Headers:
    return (
        ("Event", "QueueParams"),
        ("Queue", q.name),
        ("Max", "0"),
        ("Strategy", q.strategy),
        ("Calls", str(len(pbx.waiting[q.name]))),
        ("Holdtime", str(q.avg_hold())),
        ("TalkTime", str(q.avg_talk())),
        ("Completed", str(q.completed)),
        ("Abandoned", str(q.abandoned)),
        ("ServiceLevel", "0"),
        ("ServicelevelPerf", "0.0"),
        ("ServicelevelPerf2", "0.0"),
        ("Weight", "0"),
        *_aid(action),
    )


def queue_status(pbx: Pbx, action: Action) -> ActionResult:
    """`QueueStatus`: QueueParams, QueueMember and QueueEntry per queue (01, 02, 04)."""
    name = action.get("Queue")
    items: list[Headers] = []
    for q in pbx.queues.values():
        if name and name != q.name:
            continue
        items.append(_params(pbx, q, action))
        items.extend(
            (("Event", "QueueMember"), *m.status_entry(), *_aid(action)) for m in q.members
        )
        for pos, call in enumerate(pbx.waiting[q.name], start=1):
            ch = call.inner
            items.append(
                (
                    ("Event", "QueueEntry"),
                    ("Queue", q.name),
                    ("Position", str(pos)),
                    ("Channel", ch.name),
                    ("Uniqueid", ch.uniqueid),
                    ("CallerIDNum", ch.cid_num),
                    ("CallerIDName", ch.cid_name),
                    ("ConnectedLineNum", ch.conn_num),
                    ("ConnectedLineName", ch.conn_name),
                    ("Wait", str(int(pbx.now - call.joined_at))),
                    ("Priority", "0"),
                    *_aid(action),
                )
            )
    return _list(action, "Queue status will follow", items, "QueueStatusComplete")


def queue_summary(pbx: Pbx, action: Action) -> ActionResult:
    """`QueueSummary`: one QueueSummary event per queue (01)."""
    name = action.get("Queue")
    items: list[Headers] = []
    for q in pbx.queues.values():
        if name and name != q.name:
            continue
        line = pbx.waiting[q.name]
        longest = max((pbx.now - c.joined_at for c in line), default=0.0)
        items.append(
            (
                ("Event", "QueueSummary"),
                ("Queue", q.name),
                ("LoggedIn", str(len(q.members))),
                ("Available", str(sum(1 for m in q.members if m.available))),
                ("Callers", str(len(line))),
                ("HoldTime", str(q.avg_hold())),
                ("TalkTime", str(q.avg_talk())),
                ("LongestHoldTime", str(int(longest))),
                *_aid(action),
            )
        )
    return _list(action, "Queue summary will follow", items, "QueueSummaryComplete")


def core_show_channels(pbx: Pbx, action: Action) -> ActionResult:
    """`CoreShowChannels`: one CoreShowChannel per live channel (01, 04)."""
    items: list[Headers] = []
    for ch in pbx.live_channels():
        secs = int(pbx.now - ch.created)
        duration = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        items.append(
            (
                ("Event", "CoreShowChannel"),
                *_aid(action),
                *ch.snapshot(),
                ("Application", ch.application),
                ("ApplicationData", ch.app_data),
                ("Duration", duration),
                ("BridgeId", ""),
            )
        )
    return _list(action, "Channels will follow", items, "CoreShowChannelsComplete")


def core_settings(pbx: Pbx, action: Action) -> ActionResult:
    """`CoreSettings` as 01 shows it."""
    return ActionResult(
        [
            response(
                action,
                "Success",
                ("AMIversion", "11.0.0"),
                ("AsteriskVersion", "22.10.1"),
                ("SystemName", ""),
                ("CoreMaxCalls", "0"),
                ("CoreMaxLoadAvg", "0.000000"),
                ("CoreRunUser", ""),
                ("CoreRunGroup", ""),
                ("CoreMaxFilehandles", "0"),
                ("CoreRealTimeEnabled", "No"),
                ("CoreCDRenabled", "Yes"),
                ("CoreHTTPenabled", "No"),
                ("SoundsSearchCustomDir", "No"),
            )
        ]
    )


def queue_reload(pbx: Pbx, action: Action) -> ActionResult:
    """QueueReload as 19 answers it; with `Parameters: yes` the queues of the rewritten
    queues.conf (`PbxConfig.conf_dir`) that the PBX lacks appear, dynamic members stay."""
    conf_dir = pbx.config.conf_dir
    if conf_dir is not None and _truthy(action.get("Parameters")):
        path = conf_dir / "queues.conf"
        text = path.read_text() if path.is_file() else ""  # nothing written: nothing new
        for line in text.splitlines():
            name = line.strip()
            if name.startswith("[") and "]" in name:
                name = name[1 : name.index("]")]
                if name != "general":
                    pbx.add_queue(name)
    return ActionResult([_ok(action, "Queue reloaded successfully")])


def _originate(pbx: Pbx, action: Action) -> ActionResult:
    reply, events = originate(pbx, action)
    return ActionResult(reply, events)


HANDLERS: dict[str, Callable[[Pbx, Action], ActionResult]] = {
    "ping": ping,
    "queueadd": queue_add,
    "queueremove": queue_remove,
    "queuepause": queue_pause,
    "queuepenalty": queue_penalty,
    "queuestatus": queue_status,
    "queuesummary": queue_summary,
    "queuereload": queue_reload,
    "coreshowchannels": core_show_channels,
    "coresettings": core_settings,
    "originate": _originate,
}


def handle(pbx: Pbx, action: Action) -> ActionResult:
    """Answer one action; an unknown one gets 01's `Invalid/unknown command` error."""
    handler = HANDLERS.get(action.name.lower())
    if handler is None:
        return _error(
            action,
            f"Invalid/unknown command: {action.name}. "
            "Use Action: ListCommands to show available commands.",
        )
    return handler(pbx, action)
