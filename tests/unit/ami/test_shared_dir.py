"""The recordings and registry sample are found beside the checkout or where CTI_SHARED_DIR says."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami import shared_dir


def test_shared_dir_follows_cti_shared_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CTI_SHARED_DIR", str(tmp_path))
    assert shared_dir() == tmp_path


def test_shared_dir_defaults_to_shared_beside_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CTI_SHARED_DIR", raising=False)
    checkout = Path(__file__).resolve().parents[3]
    assert shared_dir() == checkout.parent / "shared"
