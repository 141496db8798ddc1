"""Placing a callback, sans-IO: the Originate's fields, and its result read from AMI events.

As 17-originate-callback.ami shows: `Originate` of the agent's own seat first
(`Channel: Local/seat07@agents-callback/n` in the test bed, `PJSIP/seat07` on SIP phones),
`Context: callback`, `Exten:` the number, `Async: true`, our own `ChannelId` /
`OtherChannelId` (`cb{attempt}-agent` / `cb{attempt}-other`, so every later event names the
attempt) and `Variable: CALLBACK_ID=cb-{attempt}`. Then:

- the agent does not answer: `Hangup` Cause 19, then `OriginateResponse` `Response: Failure`
  `Reason: 3` (`Uniqueid` our ChannelId);
- the agent answers: `OriginateResponse` `Response: Success` `Reason: 4`; the `callback`
  context dials the number and `DialEnd` on our channel (`Uniqueid` our ChannelId) gives
  `DialStatus` ANSWER, BUSY or NOANSWER;
- Asterisk refuses at once: `Response: Error` `Message: Originate failed` (the client raises
  AMIError; the service records `failed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from cti.ami import Event, Header

_AGENT_ID = re.compile(r"^cb(\d+)-agent$")
_DIAL_RESULT: Final = {"ANSWER": "answered", "BUSY": "busy", "NOANSWER": "no_answer"}
# A number Asterisk's `callback` context (`_X.`) can dial: digits only, a national or
# international (00…) form; nothing that could reach another context or application.
DIALABLE: Final = re.compile(r"^\d{3,24}$")


def channel_ids(attempt_id: int) -> tuple[str, str]:
    """The agent leg's and the other half's channel ids for an attempt."""
    return f"cb{attempt_id}-agent", f"cb{attempt_id}-other"


def originate_fields(
    attempt_id: int,
    seat: str,
    number: str,
    *,
    agent_channel: str,
    context: str,
    caller_id: str,
    agent_ring_s: float,
) -> list[Header]:
    """The Originate's fields, in 17's order. Raises ValueError for an undialable number."""
    if not DIALABLE.match(number):
        raise ValueError("not a dialable number")
    agent_id, other_id = channel_ids(attempt_id)
    return [
        ("Channel", agent_channel.format(seat=seat)),
        ("Context", context),
        ("Exten", number),
        ("Priority", "1"),
        ("CallerID", caller_id),
        ("Timeout", str(int(agent_ring_s * 1000))),
        ("Async", "true"),
        ("ChannelId", agent_id),
        ("OtherChannelId", other_id),
        ("Variable", f"CALLBACK_ID=cb-{attempt_id}"),
    ]


@dataclass(frozen=True, slots=True)
class Finished:
    """An attempt's result is known (`ended`: its channel is gone as well)."""

    attempt_id: int
    result: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Ended:
    """The agent's leg of an attempt hung up (the callback call is over)."""

    attempt_id: int


@dataclass(slots=True)
class AttemptWatch:
    """Follows the attempts being placed; `handle(event)` says what an event decided.

    Only attempts given to `watch()` are followed, so the recordings' and other nodes'
    Originates (another ChannelId) are ignored.
    """

    _answered: set[int] = field(default_factory=set)  # the agent picked up
    _open: set[int] = field(default_factory=set)
    _decided: set[int] = field(default_factory=set)

    def watch(self, attempt_id: int) -> None:
        """Follow this attempt (call it before sending the Originate)."""
        self._open.add(attempt_id)

    def forget(self, attempt_id: int) -> None:
        """Stop following an attempt (lost or refused)."""
        self._open.discard(attempt_id)
        self._answered.discard(attempt_id)
        self._decided.discard(attempt_id)

    @property
    def open(self) -> frozenset[int]:
        """The attempts followed now."""
        return frozenset(self._open)

    def handle(self, event: Event) -> Finished | Ended | None:
        """What `event` decided about a followed attempt, if anything."""
        name = event.name
        if name not in ("OriginateResponse", "DialEnd", "Hangup"):
            return None
        attempt = _attempt_of(event.get("Uniqueid"))
        if attempt is None or attempt not in self._open:
            return None
        if name == "OriginateResponse":
            if event.get("Response") == "Success":
                self._answered.add(attempt)
                return None
            reason = event.get("Reason") or ""
            return self._decide(
                attempt, "agent_no_answer" if reason == "3" else "failed", f"Reason {reason}"
            )
        if name == "DialEnd":
            status = event.get("DialStatus") or ""
            return self._decide(attempt, _DIAL_RESULT.get(status, "failed"), status or None)
        # Hangup of the agent's leg: the callback call is over. Before any result (the agent
        # hung up while the number rang), the attempt failed; Reason 3 comes after Hangup.
        if attempt in self._decided:
            self.forget(attempt)
            return Ended(attempt)
        if attempt in self._answered:
            self.forget(attempt)
            return Finished(attempt, "failed", "agent hung up")
        return None

    def _decide(self, attempt: int, result: str, detail: str | None) -> Finished | None:
        if attempt in self._decided:
            return None
        self._decided.add(attempt)
        if result != "answered":
            # Nothing more to wait for: agent_no_answer comes after its Hangup, and a busy
            # or unanswered number ends the call.
            self.forget(attempt)
        return Finished(attempt, result, detail)


def _attempt_of(uniqueid: str | None) -> int | None:
    match = _AGENT_ID.match(uniqueid or "")
    return int(match.group(1)) if match else None
