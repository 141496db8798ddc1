"""The simulator's accelerated clock: `--time-scale`, and a clock that runs N times as fast."""

from __future__ import annotations

import argparse

import pytest

from cti.sim.cli import config_from_args, register
from cti.sim.server import scaled


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["sim", *argv])


def test_a_scaled_clock_starts_at_the_real_time_and_runs_n_times_as_fast() -> None:
    real = [1000.0]
    clock = scaled(lambda: real[0], 30.0)
    assert clock() == 1000.0
    real[0] += 2.0
    assert clock() == 1060.0  # two real seconds are a simulated minute


def test_time_scale_option_reaches_the_config_and_must_be_positive() -> None:
    assert config_from_args(_parse("--time-scale", "20")).time_scale == 20.0
    assert config_from_args(_parse()).time_scale == 1.0
    with pytest.raises(SystemExit):
        _parse("--time-scale", "0")
