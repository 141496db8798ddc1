"""The recordings and registry sample are found beside the checkout or where CTI_SHARED_DIR says."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami import shared_dir


def test_shared_dir_follows_cti_shared_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CTI_SHARED_DIR", str(tmp_path))
    assert shared_dir() == tmp_path


def test_shared_dir_defaults_to_shared_beside_the_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import cti.ami.trace as trace

    monkeypatch.delenv("CTI_SHARED_DIR", raising=False)
    (tmp_path / "shared").mkdir()
    monkeypatch.setattr(trace, "__file__", str(tmp_path / "clone" / "cti" / "ami" / "trace.py"))
    assert shared_dir() == tmp_path / "shared"


def test_shared_dir_falls_back_to_the_workplace_copy_when_none_is_beside(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import cti.ami.trace as trace

    monkeypatch.delenv("CTI_SHARED_DIR", raising=False)
    workplace = tmp_path / "workplace-shared"
    workplace.mkdir()
    monkeypatch.setattr(trace, "_WORKPLACE_SHARED", workplace)
    monkeypatch.setattr(trace, "__file__", str(tmp_path / "clone" / "cti" / "ami" / "trace.py"))
    assert shared_dir() == workplace
