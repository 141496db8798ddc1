"""`cti serve` processes for tests of several CTI nodes, as an operator runs them: each on its
own HTTP port with an environment of the test's (database, Redis prefix, AMI), its output in
a log file; stopped normally (SIGTERM) or killed (SIGKILL), and asked `/health`."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServeProcess:
    """One `cti serve` process (node `name`) listening on `http_port`."""

    name: str
    http_port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        """The node's URL of `path` (`/health`, `/api/login`…)."""
        return f"http://127.0.0.1:{self.http_port}{path}"

    def ws_url(self, path: str) -> str:
        """The node's `ws://` URL of `path`."""
        return f"ws://127.0.0.1:{self.http_port}{path}"

    def kill(self) -> None:
        """SIGKILL: no goodbye, the lease is not given up; waits until the process is gone."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(5)

    def output(self) -> str:
        """What the node logged so far."""
        return self.log.read_text(errors="replace")


def spawn_serve(name: str, env: Mapping[str, str], workdir: Path) -> ServeProcess:
    """Start `cti serve` as node `name` on a free HTTP port; `env` is the whole environment
    but CTI_NODE_ID and CTI_HTTP__PORT. Its output goes to `workdir/<name>.log`, and it runs
    in `workdir` (so no `cti.toml` of the checkout is read)."""
    http_port = free_port()
    log = workdir / f"{name}.log"
    command = [str(Path(sys.executable).parent / "cti"), "serve"]
    full_env = {**env, "CTI_NODE_ID": name, "CTI_HTTP__PORT": str(http_port)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=workdir, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    return ServeProcess(name, http_port, process, log)


def stop_all(nodes: Sequence[ServeProcess], *, within_s: float = 15.0) -> None:
    """SIGTERM (a normal stop) to every node still running, then SIGKILL whatever is still up
    after `within_s`."""
    for node in nodes:
        if node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
    for node in nodes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            node.process.wait(within_s)
        if node.process.poll() is None:
            node.process.kill()
            node.process.wait(5)


async def health(http: aiohttp.ClientSession, node: ServeProcess) -> dict[str, Any] | None:
    """The node's `/health` body while it answers 200; None when it is down or unhealthy."""
    try:
        async with http.get(node.url("/health")) as resp:
            body: dict[str, Any] = await resp.json()
            return body if resp.status == 200 else None
    except (aiohttp.ClientError, OSError):
        return None


async def acting(http: aiohttp.ClientSession, nodes: Sequence[ServeProcess]) -> ServeProcess | None:
    """The node whose `/health` says `acting` (None when none does); asserts at most one does,
    and that it names itself as `acting_node`."""
    found = []
    for node in nodes:
        body = await health(http, node)
        if body is not None and body.get("acting"):
            assert body.get("acting_node") == node.name, body
            found.append(node)
    assert len(found) <= 1, f"two nodes act at once: {[n.name for n in found]}"
    return found[0] if found else None
