"""Callers into the test bed's hotline number, over AMI, as the recordings' scripts place
them: `Originate` of `Local/89000@inbound/n` (the `inbound` context answers and queues the
call in q-<LANGSEL>), the caller's own side parked in `caller` (waits 30 s) or `caller-short`
(hangs up after 4 s); Local seats answer and talk `${TALK}` s (set as `__TALK` to be
inherited by the agent leg)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence

from cti.ami import AMIClient, AMIConnectionLost, AMIError, AMITimeout, Response
from cti.sim.load import language_of

log = logging.getLogger(__name__)


async def originate_caller(
    ami: AMIClient,
    caller_id: str | None,
    *,
    lang: str | None = None,
    talk_s: float | None = None,
    caller_context: str = "caller",
) -> None:
    """Place one caller. `caller_id` like `"张先生" <05356683318>` or a bare number (None: no
    caller ID, Asterisk reports `<unknown>`); `lang` picks the queue q-<lang> (default zh).

    Raises AMIError when Asterisk refuses the Originate; never re-sent on a lost connection.
    """
    fields: list[tuple[str, str]] = [
        ("Channel", "Local/89000@inbound/n"),
        ("Context", caller_context),
        ("Exten", "wait"),
        ("Priority", "1"),
        ("Async", "true"),
    ]
    if caller_id is not None:
        fields.append(("CallerID", caller_id))
    if lang is not None:
        fields.append(("Variable", f"LANGSEL={lang}"))
    if talk_s is not None:
        fields.append(("Variable", f"__TALK={talk_s:g}"))
    response = await ami.send("Originate", fields, idempotent=False)
    if not isinstance(response, Response) or not response.ok:
        raise AMIError(f"Originate not accepted: {response!r}")


class CallerLoad:
    """Callers arriving at `rate_per_hour` (a Poisson stream), drawn from `caller_ids`; each
    waits up to 30 s in its queue (or 4 s for `abandon_ratio` of them) and talks `talk` s."""

    def __init__(
        self,
        ami: AMIClient,
        caller_ids: Sequence[str],
        *,
        rate_per_hour: float,
        talk: tuple[float, float] = (15.0, 45.0),
        abandon_ratio: float = 0.1,
        seed: int = 1,
    ) -> None:
        if rate_per_hour <= 0:
            raise ValueError("rate_per_hour must be positive")
        self.ami = ami
        self.caller_ids = tuple(caller_ids) or ("<unknown>",)
        self.rate_per_hour = rate_per_hour
        self.talk = talk
        self.abandon_ratio = abandon_ratio
        self.rng = random.Random(seed)
        self.placed = 0

    async def run(self) -> None:
        """Place callers until cancelled; a refused or lost Originate is logged and skipped."""
        while True:
            await asyncio.sleep(self.rng.expovariate(self.rate_per_hour / 3600.0))
            number = self.rng.choice(self.caller_ids)
            short = self.rng.random() < self.abandon_ratio
            try:
                await originate_caller(
                    self.ami,
                    None if number == "<unknown>" else number,
                    lang=language_of(number, self.rng),
                    talk_s=round(self.rng.uniform(*self.talk)),
                    caller_context="caller-short" if short else "caller",
                )
                self.placed += 1
            except (AMIError, AMIConnectionLost, AMITimeout) as exc:
                log.warning("test bed: a caller was not placed: %s", exc)
