"""Collecting a list action's answer, sans-IO.

`QueueStatus`, `CoreShowChannels`, `QueueSummary`... answer `Response: Success` with
`EventList: start`, then one event per item, then a `...Complete` event whose `ListItems`
says how many items there were. Every one of them carries the action's ActionID.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cti.ami.protocol import Event, RemoteProtocolError, Response


class ListCountMismatch(RemoteProtocolError):
    """The `...Complete` event's `ListItems` differs from the items received."""


@dataclass(frozen=True, slots=True)
class ListResult:
    """A list action's answer: the opening response and the item events, in wire order.

    `complete` is the closing `...Complete` event (None only when built by hand).
    """

    response: Response
    events: tuple[Event, ...]
    complete: Event | None = None

    def named(self, name: str) -> list[Event]:
        """The items of one event type (`QueueMember`, `QueueEntry`...)."""
        return [e for e in self.events if e.name == name]


@dataclass(slots=True)
class ListCollector:
    """Gathers the events of one list action until its `...Complete` event."""

    response: Response
    _events: list[Event] = field(default_factory=list)

    def add(self, event: Event) -> ListResult | None:
        """Take one event of this action; the result once the list is complete.

        Raises ListCountMismatch when `ListItems` disagrees with the items received.
        """
        if not event.completes_list:
            self._events.append(event)
            return None
        items = event.get("ListItems")
        if items is not None and (not items.isdigit() or int(items) != len(self._events)):
            raise ListCountMismatch(
                f"{event.name}: ListItems {items} but {len(self._events)} items received"
            )
        return ListResult(self.response, tuple(self._events), event)
