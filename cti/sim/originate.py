"""`Originate` as Asterisk 22 answered the callbacks of `17-originate-callback.ami`.

Only the shape 17 shows is simulated: a Local channel to an agent's seat first
(`Local/seat07@agents-callback/n`; `@agents-noanswer` never answers, as in 17), `Async: true`,
then the dialplan context `callback` dialling the number. The number behaves as the
recording-config's `[residents]`: 13800000000 is busy, 13912345678 never answers, any other
number answers and hangs up after a short talk. Anything else (an Application, another
context, an unknown channel context) gets 17's synchronous `Response: Error` / `Originate
failed`. Events keep the recorded field names and order; the caller ID is the Originate's.
"""

from __future__ import annotations

import re
from typing import Final

from cti.ami import Action, Header
from cti.sim.channels import (
    PRIV_CALL,
    RING,
    UP,
    Channel,
    Headers,
    chan_event,
    dial_event,
    event,
    newexten,
    newstate,
    varset,
)
from cti.sim.pbx import Pbx

CONTEXTS: Final = ("callback",)  # the dialplan contexts an Originate may run (never an app)
_AGENT_CONTEXTS: Final = ("agents-callback", "agents-noanswer")
_LOCAL = re.compile(r"^Local/(?P<exten>[^@/]+)@(?P<context>[^/]+)/n$")
_CID = re.compile(r'^"(?P<name>[^"]*)"\s*<(?P<num>[^>]*)>$')
# recording-config/extensions.conf [residents]
NUMBERS: Final = {"13800000000": "busy", "13912345678": "no_answer"}
AGENT_ANSWER_S: Final = 1.0  # the agent's phone rings this long before it is answered
NUMBER_DIAL_S: Final = 6.0  # Dial(Local/${EXTEN}@residents/n,6)
TALK_S: Final = 3.0  # [residents] Answer(), Wait(3), Hangup()
_CAUSE_TEXT: Final = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
}


def _hangup(ch: Channel, cause: int) -> Headers:
    return chan_event(
        "Hangup", PRIV_CALL, ch, ("Cause", str(cause)), ("Cause-txt", _CAUSE_TEXT[cause])
    )


def _reply(action: Action, status: str, message: str) -> Headers:
    headers: list[Header] = [("Response", status)]
    if action.action_id is not None:
        headers.append(("ActionID", action.action_id))
    headers.append(("Message", message))
    return tuple(headers)


def _originate_response(
    action: Action,
    status: str,
    channel: str,
    exten: str,
    reason: int,
    uniqueid: str,
    cid: tuple[str, str],
) -> Headers:
    head: list[Header] = []
    if action.action_id is not None:
        head.append(("ActionID", action.action_id))
    return event(
        "OriginateResponse",
        PRIV_CALL,
        head,
        [
            ("Response", status),
            ("Channel", channel),
            ("Context", action.get("Context") or ""),
            ("Exten", exten),
            ("Reason", str(reason)),
            ("Uniqueid", uniqueid),
            ("CallerIDNum", cid[0]),
            ("CallerIDName", cid[1]),
        ],
    )


def originate(pbx: Pbx, action: Action) -> tuple[list[Headers], list[Headers]]:
    """The reply and the events at once; what follows is scheduled on `pbx`'s clock."""
    target = _LOCAL.match(action.get("Channel") or "")
    exten = action.get("Exten") or ""
    if (
        action.get("Application") is not None
        or action.get("Context") not in CONTEXTS
        or target is None
        or target["context"] not in _AGENT_CONTEXTS
        or not exten
    ):
        return [_reply(action, "Error", "Originate failed")], []
    cid_match = _CID.match(action.get("CallerID") or "")
    cid = (cid_match["num"], cid_match["name"]) if cid_match else ("<unknown>", "<unknown>")
    now = pbx.now
    agent_id = action.get("ChannelId") or pbx.ids.uniqueid(now)
    other_id = action.get("OtherChannelId") or pbx.ids.uniqueid(now)
    name = f"Local/{target['exten']}@{target['context']}-{pbx.ids.channel_suffix()}"
    one = Channel(f"{name};1", agent_id, agent_id, target["context"], target["exten"])
    two = Channel(f"{name};2", other_id, agent_id, target["context"], target["exten"], state=RING)
    events: list[Headers] = [chan_event("Newchannel", PRIV_CALL, ch) for ch in (one, two)]
    for variable in action.get_all("Variable"):
        key, _, value = variable.partition("=")
        events += [varset(one, key, value), varset(two, key, value)]
    for ch in (one, two):
        ch.cid_num, ch.cid_name = cid
        ch.conn_num, ch.conn_name = cid
    events.append(
        event(
            "DialBegin",
            PRIV_CALL,
            one.snapshot("Dest"),
            [("DialString", f"{target['exten']}@{target['context']}/n")],
        )
    )
    timeout_s = int(action.get("Timeout") or "30000") / 1000
    variables = dict(v.partition("=")[::2] for v in action.get_all("Variable"))
    if target["context"].endswith("noanswer") or timeout_s <= AGENT_ANSWER_S:

        def never() -> list[Headers]:
            return [
                _hangup(two, 19),
                _hangup(one, 19),
                _originate_response(
                    action, "Failure", action.get("Channel") or "", exten, 3, agent_id, cid
                ),
            ]

        pbx.at(now + timeout_s, never)
    else:
        pbx.at(
            now + AGENT_ANSWER_S,
            lambda: _agent_answers(pbx, action, one, two, exten, variables, cid),
        )
    return [_reply(action, "Success", "Originate successfully queued")], events


def _agent_answers(
    pbx: Pbx,
    action: Action,
    one: Channel,
    two: Channel,
    exten: str,
    variable: dict[str, str],
    cid: tuple[str, str],
) -> list[Headers]:
    out = [newstate(two, UP), newstate(one, UP)]
    out.append(event("DialEnd", PRIV_CALL, one.snapshot("Dest"), [("DialStatus", "ANSWER")]))
    one.context, one.exten = "callback", exten
    callback_id = variable.get("CALLBACK_ID", "")
    out.append(newexten(one, 1, "NoOp", f"callback {callback_id} to {exten}"))
    out.append(_originate_response(action, "Success", one.name, exten, 4, one.uniqueid, cid))
    out.append(newexten(one, 2, "Dial", f"Local/{exten}@residents/n,6"))
    now = pbx.now
    name = f"Local/{exten}@residents-{pbx.ids.channel_suffix()}"
    number = Channel(f"{name};1", pbx.ids.uniqueid(now), one.linkedid, "residents", "")
    number.cid_num, number.cid_name = exten, cid[1]
    out.append(
        dial_event("DialBegin", PRIV_CALL, one, number, ("DialString", f"{exten}@residents/n"))
    )
    behaviour = NUMBERS.get(exten, "answer")

    def ended(status: str, causes: tuple[int, int]) -> list[Headers]:
        result = [
            dial_event("DialEnd", PRIV_CALL, one, number, ("DialStatus", status)),
            _hangup(number, causes[0]),
            varset(one, "DIALSTATUS", status),
            newexten(one, 3, "NoOp", f"DIALSTATUS={status}"),
            _hangup(two, 16),
            _hangup(one, 16),
        ]
        return result

    if behaviour == "busy":
        out += ended("BUSY", (0, 17))
    elif behaviour == "no_answer":
        pbx.at(now + NUMBER_DIAL_S, lambda: ended("NOANSWER", (0, 0)))
    else:

        def answered() -> list[Headers]:
            number.state = UP
            talk = [dial_event("DialEnd", PRIV_CALL, one, number, ("DialStatus", "ANSWER"))]
            pbx.at(
                pbx.now + TALK_S, lambda: [_hangup(number, 16), _hangup(two, 16), _hangup(one, 16)]
            )
            return talk

        pbx.at(now + AGENT_ANSWER_S, answered)
    return out
