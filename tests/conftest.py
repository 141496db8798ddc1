"""Fixtures shared by every tier: where the real Asterisk recordings and the registry live."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami import shared_dir

REPO = Path(__file__).resolve().parent.parent
# The recordings and the archive sample live beside the checkout (../shared); CTI_SHARED_DIR
# points elsewhere when a clone sits somewhere else.
SHARED = shared_dir()
TRACES = SHARED / "asterisk-traces"
REGISTRY_SAMPLE = SHARED / "registry" / "sample-residents.csv"


@pytest.fixture(scope="session")
def traces_dir() -> Path:
    """The directory of real Asterisk 22 recordings (`*.ami`, `*.agi`)."""
    if not TRACES.is_dir():
        pytest.fail(f"recordings not found at {TRACES}")
    return TRACES


@pytest.fixture(scope="session")
def registry_sample() -> Path:
    """The archive's sample CSV (real column layout)."""
    return REGISTRY_SAMPLE


# the `private_redis` and `prefix` (a key prefix of the test's own) fixtures
pytest_plugins = ["tests.support.private_redis", "tests.support.redis"]
