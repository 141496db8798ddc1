"""Callers who go through the IVR first, as on the hotline's number: the simulator plays
Asterisk's side of FastAGI (`cti.sim.agi`) against the CTI server's language menu, then puts
the caller in the queue the menu set.

Each caller's channels get their Uniqueids when they dial in (the AGI runs on the channel
that will sit in the queue, as in 07, where both are `1795361860.17`), and keep them when the
menu is over: so the pop finds what the menu learnt. Keys are drawn per caller: mostly the
digit of the number's language, some emergencies (9), some who press nothing (the menu twice,
then Chinese), some wrong keys, a few who hang up in the menu (they never reach a queue).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import replace

from cti.sim.agi import HANGUP, AgiCall, call_menu
from cti.sim.channels import UNKNOWN, Headers
from cti.sim.load import Arrivals, LoadConfig, language_of
from cti.sim.pbx import CallerSpec, Pbx

log = logging.getLogger(__name__)

_DIGIT = {"zh": "1", "en": "2", "ko": "3"}


def draw_presses(language: str, rng: random.Random) -> tuple[str | None, ...]:
    """A caller's keys at the menu's digit waits (None: presses nothing in the 5 s)."""
    roll = rng.random()
    digit = _DIGIT.get(language, "1")
    if roll < 0.04:
        return ("9",)  # water, heating, power or gas
    if roll < 0.10:
        return (None, None)  # the menu twice, then Chinese
    if roll < 0.14:
        return (None, digit)
    if roll < 0.18:
        return ("7", digit)  # a wrong key, the menu again
    if roll < 0.20:
        return (HANGUP,)
    return (digit,)


class IvrArrivals(Arrivals):
    """`Arrivals` whose callers first walk the menu at `agi://host:port/language-menu`."""

    def __init__(
        self,
        pbx: Pbx,
        config: LoadConfig,
        ivr: tuple[str, int],
        wake: Callable[[], None],
    ) -> None:
        super().__init__(pbx, config)
        self.ivr = ivr
        self._wake = wake
        self._sessions: set[asyncio.Task[None]] = set()

    def _arrive(self) -> list[Headers]:
        if self.stopped:
            return []
        self._schedule()
        spec = self.next_caller()
        pairs = 1 if not self.pbx.config.local_callers else 2
        uniqueids = tuple(self.pbx.ids.uniqueid(self.pbx.now) for _ in range(pairs))
        presses = draw_presses(language_of(spec.number, self.rng), self.rng)
        task = asyncio.get_running_loop().create_task(self._walk(spec, uniqueids, presses))
        self._sessions.add(task)
        task.add_done_callback(self._sessions.discard)
        return []

    async def _walk(
        self, spec: CallerSpec, uniqueids: tuple[str, ...], presses: tuple[str | None, ...]
    ) -> None:
        number = None if spec.number == UNKNOWN else spec.number
        call = AgiCall(number, uniqueids[-1], presses)
        try:
            transcript = await call_menu(*self.ivr, call)
        except (OSError, TimeoutError) as exc:
            # The CTI server's menu is down: Asterisk's dialplan falls back to Chinese.
            log.warning("sim: IVR at %s:%d unreachable (%s): caller to q-zh", *self.ivr, exc)
            transcript = None
        variables = transcript.variables if transcript is not None else {"LANGSEL": "zh"}
        if transcript is not None and "QUEUE" not in variables:
            return  # hung up in the menu
        language = variables.get("LANGSEL", "zh")
        queue = variables.get("QUEUE", f"q-{language}")
        if queue not in self.pbx.queues:
            # No duty queue on the simulated PBX: the caller waits in their language's queue
            # (the pop still says emergency).
            queue = f"q-{language}" if f"q-{language}" in self.pbx.queues else spec.queue
        placed = replace(spec, queue=queue, language=language)
        self.pbx.at(self.pbx.now, lambda: self._place(placed, uniqueids))
        self._wake()

    def _place(self, spec: CallerSpec, uniqueids: tuple[str, ...]) -> list[Headers]:
        # The channels keep the ids they had in the menu (taken here, before anything else).
        self.pbx.ids.reserved.extend(uniqueids)
        self.placed += 1
        return self.pbx.place_call(spec)

    def stop(self) -> None:
        """No more arrivals; callers still in the menu hang up."""
        super().stop()
        for task in list(self._sessions):
            task.cancel()
