"""Clocks for the state service in tests: each reading a little later than the last."""

from __future__ import annotations

# The recordings' own epoch (03-call-answered.ami's first Uniqueid).
RECORDING_EPOCH = 1_795_361_778.0


class SteppingClock:
    """`time.time` for a replay: starts at the recordings' epoch, 10 ms later at every call."""

    def __init__(self, start: float = RECORDING_EPOCH, step_s: float = 0.01) -> None:
        self.now = start
        self.step_s = step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now
