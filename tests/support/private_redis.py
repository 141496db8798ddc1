"""A redis-server of a test's own on a free port, no persistence, to stop and start: a
restart forgets everything. The shared Redis on 6379 is never stopped."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

HAVE_REDIS_SERVER = shutil.which("redis-server") is not None


class PrivateRedis:
    """redis-server on a free port, no persistence: a restart forgets everything."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it takes connections."""
        self._proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    self._check_ours()
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def _check_ours(self) -> None:
        # The port was free while it was stopped: another test on this machine may have
        # taken it, and our server then exited. Say so instead of testing someone else's.
        info = redis.Redis(port=self.port, socket_timeout=2).info("server")
        assert self._proc is not None
        if self._proc.poll() is not None or info["process_id"] != self._proc.pid:
            raise RuntimeError(f"port {self.port} was taken by another redis-server")

    def stop(self) -> None:
        """Stop it (everything it held is gone)."""
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A started PrivateRedis, stopped after the test."""
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
