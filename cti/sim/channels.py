"""Channel snapshots and event building, in the field names and order Asterisk 22 writes.

Every channel-carrying event in the recordings repeats the same 14-field snapshot, bare
(`Channel`...), with a `Dest` prefix (the dialled side) or `LocalOne`/`LocalTwo` (the two
halves of a Local channel). Building them here keeps the call script free of field lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from cti.ami import Header

Headers: TypeAlias = tuple[Header, ...]

UNKNOWN: Final = "<unknown>"
DOWN, RING, RINGING, UP = 0, 4, 5, 6
_STATE_DESC: Final = {DOWN: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up"}

PRIV_CALL: Final = "call,all"
PRIV_DIALPLAN: Final = "dialplan,all"
PRIV_AGENT: Final = "agent,all"


@dataclass(slots=True, eq=False)
class Channel:
    """A live channel as Asterisk snapshots it in events (mutable: dialplan moves it on)."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    state: int = DOWN
    priority: int = 1
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    language: str = "en"
    application: str = ""
    app_data: str = ""
    created: float = 0.0

    def snapshot(self, prefix: str = "") -> list[Header]:
        """The 14 snapshot fields, each key prefixed (`Dest`, `LocalOne`...)."""
        keys = _SNAPSHOT_KEYS.get(prefix)
        if keys is None:
            keys = _SNAPSHOT_KEYS[prefix] = tuple(prefix + k for k in _SNAPSHOT_KEYS[""])
        values = (
            self.name,
            str(self.state),
            _STATE_DESC.get(self.state, "Unknown"),
            self.cid_num,
            self.cid_name,
            self.conn_num,
            self.conn_name,
            self.language,
            "",
            self.context,
            self.exten,
            str(self.priority),
            self.uniqueid,
            self.linkedid,
        )
        return list(zip(keys, values, strict=True))


_SNAPSHOT_KEYS: dict[str, tuple[str, ...]] = {
    "": (
        "Channel",
        "ChannelState",
        "ChannelStateDesc",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Language",
        "AccountCode",
        "Context",
        "Exten",
        "Priority",
        "Uniqueid",
        "Linkedid",
    )
}


def event(name: str, privilege: str, *parts: list[Header]) -> Headers:
    """One event: `Event`, `Privilege`, then the parts in order."""
    headers: list[Header] = [("Event", name), ("Privilege", privilege)]
    for part in parts:
        headers.extend(part)
    return tuple(headers)


def chan_event(name: str, privilege: str, ch: Channel, *extra: Header) -> Headers:
    """An event about one channel: its snapshot then `extra` fields."""
    return event(name, privilege, ch.snapshot(), list(extra))


def dial_event(name: str, privilege: str, ch: Channel, dest: Channel, *extra: Header) -> Headers:
    """An event about a caller channel and the channel it dials (`Dest...`)."""
    return event(name, privilege, ch.snapshot(), dest.snapshot("Dest"), list(extra))


def device_state(device: str, state: str) -> Headers:
    """`DeviceStateChange` for a device (`Queue:q-zh_avail`, `Local/seat07@agents`...)."""
    return event("DeviceStateChange", PRIV_CALL, [("Device", device), ("State", state)])


def newexten(ch: Channel, priority: int, app: str, data: str, exten: str | None = None) -> Headers:
    """Move `ch` to `priority` running `app(data)` and describe it as `Newexten` does."""
    ch.priority = priority
    if exten is not None:
        ch.exten = exten
    ch.application, ch.app_data = app, data
    return chan_event(
        "Newexten",
        PRIV_DIALPLAN,
        ch,
        ("Extension", ch.exten),
        ("Application", app),
        ("AppData", data),
    )


def varset(ch: Channel, variable: str, value: str) -> Headers:
    """`VarSet` of a channel variable."""
    return chan_event("VarSet", PRIV_DIALPLAN, ch, ("Variable", variable), ("Value", value))


def newstate(ch: Channel, state: int) -> Headers:
    """Change the channel state and report it (`Newstate`)."""
    ch.state = state
    return chan_event("Newstate", PRIV_CALL, ch)


def new_callerid(ch: Channel) -> Headers:
    """`NewCallerid` with the presentation Asterisk reports for an allowed number."""
    return chan_event(
        "NewCallerid", PRIV_CALL, ch, ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")
    )


def new_connected_line(ch: Channel) -> Headers:
    """`NewConnectedLine` (no extra fields)."""
    return chan_event("NewConnectedLine", PRIV_CALL, ch)


def hangup(ch: Channel, cause: int) -> Headers:
    """`Hangup` with the cause text Asterisk gives for the causes the recordings show."""
    text = {16: "Normal Clearing", 0: "Unknown"}.get(cause, "Unknown")
    return chan_event("Hangup", PRIV_CALL, ch, ("Cause", str(cause)), ("Cause-txt", text))


def hangup_request(name: str, ch: Channel, cause: int) -> Headers:
    """`HangupRequest` / `SoftHangupRequest` with a cause."""
    return chan_event(name, PRIV_CALL, ch, ("Cause", str(cause)))


def local_bridge(one: Channel, two: Channel) -> Headers:
    """`LocalBridge`: the two halves of a Local channel are connected."""
    return event(
        "LocalBridge",
        PRIV_CALL,
        one.snapshot("LocalOne"),
        two.snapshot("LocalTwo"),
        [("Context", one.context), ("Exten", one.exten), ("LocalOptimization", "No")],
    )


@dataclass(slots=True)
class Bridge:
    """A basic two-party bridge as `Bridge*` events describe it."""

    uniqueid: str
    technology: str = "simple_bridge"
    channels: int = 0

    def fields(self) -> list[Header]:
        """The bridge snapshot fields."""
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", self.technology),
            ("BridgeCreator", UNKNOWN),
            ("BridgeName", UNKNOWN),
            ("BridgeNumChannels", str(self.channels)),
            ("BridgeVideoSourceMode", "none"),
        ]

    def create(self) -> Headers:
        """`BridgeCreate`."""
        return event("BridgeCreate", PRIV_CALL, self.fields())

    def enter(self, ch: Channel) -> Headers:
        """`BridgeEnter` of a channel."""
        self.channels += 1
        return event("BridgeEnter", PRIV_CALL, self.fields(), ch.snapshot())

    def leave(self, ch: Channel) -> Headers:
        """`BridgeLeave` of a channel."""
        self.channels -= 1
        return event("BridgeLeave", PRIV_CALL, self.fields(), ch.snapshot())

    def destroy(self) -> Headers:
        """`BridgeDestroy`."""
        return event("BridgeDestroy", PRIV_CALL, self.fields())
