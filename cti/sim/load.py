"""The load generator: callers arriving at a rate, drawn from a list of caller IDs, sans-IO.

Arrivals are timers on the PBX clock, so a test advances them like everything else. Caller
IDs are plain strings (registered residents' numbers, households, unknown numbers,
`<unknown>`, foreign `+82…`/`+1…`): the simulator does not need the locator.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from cti.sim.channels import UNKNOWN, Headers
from cti.sim.pbx import CallerSpec, Pbx

DEFAULT_CALLER_IDS: tuple[str, ...] = (
    "05356683318",
    "13905351234",
    "13805356789",
    "+821012345678",
    "+15551234567",
    "05356120000",
    "15866661234",
    UNKNOWN,
)


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """How callers arrive and behave. Rates are calls per hour; times are seconds."""

    rate_per_hour: float = 60.0
    caller_ids: tuple[str, ...] = DEFAULT_CALLER_IDS
    abandon_ratio: float = 0.1
    patience: tuple[float, float] = (5.0, 40.0)
    talk: tuple[float, float] = (20.0, 120.0)
    longest_wait: float = 600.0
    seed: int = 7


def language_of(number: str, rng: random.Random) -> str:
    """The queue language a caller picks: Korean for +82, English for other foreign numbers,
    mostly Chinese otherwise (a few locals choose English or Korean in the IVR)."""
    if number.startswith("+82"):
        return "ko"
    if number.startswith("+") and not number.startswith("+86"):
        return "en"
    roll = rng.random()
    return "en" if roll < 0.03 else "ko" if roll < 0.05 else "zh"


class Arrivals:
    """Places calls on a PBX at exponentially distributed intervals (a Poisson stream)."""

    def __init__(self, pbx: Pbx, config: LoadConfig, queues: Sequence[str] | None = None):
        if config.rate_per_hour <= 0:
            raise ValueError("rate_per_hour must be positive")
        self.pbx = pbx
        self.config = config
        self.rng = random.Random(config.seed)
        self.queues = set(queues or pbx.queues)
        self.placed = 0
        self.stopped = False

    def start(self) -> None:
        """Schedule the first arrival."""
        self._schedule()

    def stop(self) -> None:
        """No more arrivals (calls already placed go on)."""
        self.stopped = True

    def _schedule(self) -> None:
        gap = self.rng.expovariate(self.config.rate_per_hour / 3600.0)
        self.pbx.at(self.pbx.now + gap, self._arrive)

    def next_caller(self) -> CallerSpec:
        """Draw the next caller: number, language/queue, patience and talk time."""
        cfg, rng = self.config, self.rng
        number = rng.choice(cfg.caller_ids) if cfg.caller_ids else UNKNOWN
        language = language_of(number, rng)
        queue = f"q-{language}" if f"q-{language}" in self.queues else sorted(self.queues)[0]
        # Everyone hangs up at last: the patient ones after `cfg.longest_wait`, so an
        # overloaded centre's queues stay bounded as real ones do.
        if rng.random() < cfg.abandon_ratio:
            patience = rng.uniform(*cfg.patience)
        else:
            patience = cfg.longest_wait
        return CallerSpec(queue, number, UNKNOWN, language, patience, rng.uniform(*cfg.talk))

    def _arrive(self) -> list[Headers]:
        if self.stopped:
            return []
        self._schedule()
        self.placed += 1
        return self.pbx.place_call(self.next_caller())
