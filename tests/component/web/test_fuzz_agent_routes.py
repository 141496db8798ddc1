"""The agent-facing routes fuzzed with schemathesis: no 5xx for any body, parameter or
header it can think of. The admin API has its own document (/api/openapi.json, fuzzed in
tests/component/admin); these routes are described here, from docs/protocol.md."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from cti.bus import InProcessBus
from cti.settings import LoginSettings, Settings
from cti.web import WebServices, create_app
from seats import MemoryAgentAccounts, SeatDirectory
from tests.component.web.conftest import PASSWORD, RecordedWrapups

_TEXT = {"type": "string"}
_CALL = {"name": "call_id", "in": "path", "required": True, "schema": _TEXT}


def _op(body: dict[str, Any] | None = None, params: list[Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"responses": {"default": {"description": "JSON"}}}
    if body is not None:
        props = {name: _TEXT for name in body["fields"]}
        schema = {"type": "object", "properties": props, "required": body.get("required", [])}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if params:
        op["parameters"] = params
    return op


def agent_routes() -> dict[str, Any]:
    """OpenAPI 3.0 for the routes the agent page and the wallboard call."""
    query = [{"name": "q", "in": "query", "required": False, "schema": _TEXT}]
    ws = [
        {"name": "token", "in": "query", "required": False, "schema": _TEXT},
        {"name": "last_seq", "in": "query", "required": False, "schema": _TEXT},
        {"name": "ticket", "in": "query", "required": False, "schema": _TEXT},
    ]
    resident = {"name": "resident_id", "in": "path", "required": True, "schema": _TEXT}
    login = {"fields": ["agent", "password", "seat"], "required": ["agent", "password"]}
    paths = {
        "/api/login": {"post": _op(login)},
        "/api/agent/ticket": {"post": _op()},
        "/ws/agent": {"get": _op(params=ws)},
        "/api/agent/duty": {"get": _op()},
        "/api/agent/pause": {"post": _op({"fields": ["reason"], "required": ["reason"]})},
        "/api/agent/ready": {"post": _op()},
        "/api/calls/{call_id}/wrapup": {
            "post": _op({"fields": ["outcome", "note", "caller_resident", "caller_other"]}, [_CALL])
        },
        "/api/calls/{call_id}/residents": {"get": _op(params=[_CALL, *query])},
        "/api/calls/{call_id}/resident": {"post": _op({"fields": ["resident_id"]}, [_CALL])},
        "/api/calls/{call_id}/residents/{resident_id}/contacts": {
            "get": _op(params=[_CALL, resident])
        },
        "/api/supervisor/login": {"post": _op(login)},
        "/api/wallboard": {"get": _op()},
        "/api/logout": {"post": _op()},
    }
    return {"openapi": "3.0.3", "info": {"title": "agent routes", "version": "1"}, "paths": paths}


@pytest.mark.parametrize("who", ["agent", "nobody"])
async def test_every_agent_route_fuzzed_never_answers_500(
    aiohttp_client: Any, tmp_path: Path, who: str
) -> None:
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", PASSWORD)
    services = WebServices(accounts, InProcessBus(), RecordedWrapups(), SeatDirectory())
    # throttling would answer 429 before the fuzzer reaches the rest of the login
    settings = Settings(login=LoginSettings(agent_failures=10**6, address_failures=10**6))
    client = await aiohttp_client(create_app(settings, services))
    schema = tmp_path / "agent-routes.json"
    schema.write_text(json.dumps(agent_routes()))
    args = ["--exclude-path", "/api/logout"]  # it would end the session the run uses
    if who == "agent":
        resp = await client.post(
            "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat07"}
        )
        args += ["-H", f"Authorization: Bearer {(await resp.json())['token']}"]
    else:
        args = []
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "st"), "run", str(schema),
        "--url", str(client.make_url("/")).rstrip("/"),
        "--checks", "not_a_server_error",
        "--max-examples", os.environ.get("CTI_FUZZ_EXAMPLES", "30"),
        "--seed", os.environ.get("CTI_FUZZ_SEED", "13"),
        "--report-dir", str(tmp_path), "--no-color", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert ("Tested: 12" if who == "agent" else "Tested: 13") in text, text[-3000:]
