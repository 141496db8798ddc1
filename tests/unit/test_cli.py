"""The `cti` console script as a shell user meets it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_replay_piped_into_head_ends_quietly(traces_dir: Path) -> None:
    trace = traces_dir / "08-burst-60-calls.ami"
    cmd = f"{sys.executable} -m cti.cli ami replay {trace} | head -n 1"
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout)["type"] == "greeting"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
