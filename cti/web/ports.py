"""What the web side needs from cti.state that is not committed yet, as a Protocol.

The bus is `cti.bus.Bus` itself; switch `WrapupSink` to the state service's own type once it
lands (the method name and errors are agreed in docs/protocol.md).
"""

from __future__ import annotations

from typing import Protocol


class WrapupSink(Protocol):
    """Where a completed call's wrap-up goes (`cti.state`, into the call log)."""

    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        """Record the agent's outcome and note for the call.

        Raises LookupError when the call is unknown or was not this agent's, ValueError when
        it cannot take a wrap-up (e.g. not completed yet), ConnectionError when the call log
        cannot be written right now.
        """
        ...
