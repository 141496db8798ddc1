"""The admin API on a real aiohttp server: roles (401/403), invalid input (422 naming the
field), two administrators (409), change-sets with dry-run/apply/rollback, a failed AMI
action reported per action, and the OpenAPI document validated by a library."""

from __future__ import annotations

import asyncio
import copy
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from cti.admin.keys import ADMIN
from cti.admin.service import AdminService
from cti.ami import AMIError, Response
from cti.bus import InProcessBus
from cti.settings import AsteriskConfSettings, Settings
from cti.web import WebServices, create_app
from queues import registry
from queues.membership.models import SeatDuty, Wanted
from seats import MemoryAgentAccounts, SeatDirectory
from tests.component.web.conftest import RecordedWrapups
from tests.support.duty import FakeDuty

PASSWORD = "correct horse 7"


@dataclass
class RecordedAMI:
    """Answers QueueReload as Asterisk 22 did in 19, or refuses it."""

    sent: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    refuse: str | None = None

    async def send(self, name: str, fields: Mapping[str, str]) -> Response:
        self.sent.append((name, dict(fields)))
        if self.refuse:
            raise AMIError(self.refuse)
        return Response(
            headers=(("Response", "Success"), ("Message", "Queue reloaded successfully")),
            status="Success",
            message="Queue reloaded successfully",
            output=(),
        )


@dataclass
class Admin:
    client: TestClient[Any, Any]
    duty: FakeDuty
    ami: RecordedAMI
    confdir: Path

    async def token(self, agent: str = "boss") -> str:
        resp = await self.client.post(
            "/api/admin/login", json={"agent": agent, "password": PASSWORD}
        )
        assert resp.status == 200, await resp.text()
        token: str = (await resp.json())["token"]
        return token

    async def call(self, method: str, path: str, token: str | None, **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = await self.client.request(method, path, headers=headers, **kw)
        return resp.status, await resp.json()


@pytest.fixture
async def admin(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Admin]:
    accounts = MemoryAgentAccounts()
    accounts.add("boss", "管理员", "zh", PASSWORD, role="administrator")
    accounts.add("boss2", "管理员二", "zh", PASSWORD, role="administrator")
    accounts.add("a07", "李娜", "zh,en", PASSWORD, home_seat="seat07")
    accounts.add("sup", "组长", "zh", PASSWORD, role="supervisor")
    settings = Settings(conf=AsteriskConfSettings(asterisk_dir=tmp_path / "etc"))
    services = WebServices(
        accounts=accounts, bus=InProcessBus(), wrapups=RecordedWrapups(), seats=SeatDirectory()
    )
    app = create_app(settings, services)
    duty = FakeDuty({"a07": SeatDuty("seat07", "a07", (Wanted("q-zh", 0), Wanted("q-en", 1)))})
    ami = RecordedAMI()
    app[ADMIN] = AdminService(settings, accounts, duty=duty, sender=ami)
    client = await aiohttp_client(app)
    yield Admin(client, duty, ami, tmp_path / "etc")
    registry.install(AdminService(Settings(), accounts).current.config.queues)


async def _current(admin: Admin, token: str) -> tuple[int, dict[str, Any]]:
    status, body = await admin.call("GET", "/api/admin/config", token)
    assert status == 200
    return body["version"], body["config"]


async def test_no_token_is_401_and_an_agents_or_supervisors_token_is_403(admin: Admin) -> None:
    assert (await admin.call("GET", "/api/admin/config", None))[0] == 401
    assert (await admin.call("GET", "/api/admin/config", "forged"))[0] == 401
    resp = await admin.client.post(
        "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat07"}
    )
    agent_token = (await resp.json())["token"]
    status, body = await admin.call("GET", "/api/admin/config", agent_token)
    assert (status, body["error"]) == (403, "administrator_required")
    status, body = await admin.call(
        "POST", "/api/admin/login", None, json={"agent": "a07", "password": PASSWORD}
    )
    assert (status, body["error"]) == (403, "administrator_required")
    resp = await admin.client.post(
        "/api/supervisor/login", json={"agent": "sup", "password": PASSWORD}
    )
    sup_token = (await resp.json())["token"]
    assert (await admin.call("GET", "/api/admin/versions", sup_token))[0] == 403
    status, body = await admin.call(
        "POST", "/api/admin/login", None, json={"agent": "boss", "password": "wrong"}
    )
    assert (status, body["error"]) == (401, "invalid_credentials")


async def test_invalid_input_is_422_naming_the_field(admin: Admin) -> None:
    token = await admin.token()
    version, config = await _current(admin, token)
    bad = copy.deepcopy(config)
    bad["queues"][0]["ring_timeout_s"] = 1
    status, body = await admin.call(
        "POST", "/api/admin/changes/dry-run", token, json={"base_version": version, "config": bad}
    )
    assert status == 422 and body["error"] == "invalid_input"
    assert body["details"]["field"] == "config.queues.0.ring_timeout_s"
    status, body = await admin.call("POST", "/api/admin/changes", token, data=b"{nope")
    assert (status, body["details"]["field"]) == (422, "body")
    bad = copy.deepcopy(config)
    bad["shifts"]["groups"][1]["members"] = ["a07"]
    bad["shifts"]["groups"][2]["members"] = ["a07"]
    status, body = await admin.call(
        "POST", "/api/admin/changes", token, json={"base_version": version, "config": bad}
    )
    assert status == 422 and "a07 is in groups B and C" in body["message"]
    status, body = await admin.call("GET", "/api/admin/shifts?date=2026-13-01", token)
    assert (status, body["details"]["field"]) == (422, "date")


async def test_dry_run_shows_lines_and_actions_and_sends_nothing(admin: Admin) -> None:
    token = await admin.token()
    version, config = await _current(admin, token)
    config["queues"][0]["service_level_s"] = 20
    config["agents"] = [{"agent": "a07", "queues": [{"queue": "q-duty", "penalty": 0}]}]
    status, plan = await admin.call(
        "POST",
        "/api/admin/changes/dry-run",
        token,
        json={"base_version": version, "config": config},
    )
    assert status == 200, plan
    assert plan["changes"] == [
        "queue q-zh: service_level_s 15 → 20",
        "agent a07: queue override changed",
    ]
    assert "+servicelevel = 20" in plan["files"]["queues.conf"]
    assert "-servicelevel = 15" in plan["files"]["queues.conf"]
    actions = [(a["action"], a["fields"].get("Queue"), a["sender"]) for a in plan["actions"]]
    assert actions == [
        ("QueueReload", None, "apply"),
        ("QueueAdd", "q-duty", "reconciler"),
        ("QueueRemove", "q-zh", "reconciler"),
        ("QueueRemove", "q-en", "reconciler"),
    ]
    assert plan["requeues"] == [
        {"agent": "a07", "seat": "seat07", "before": ["q-zh:0", "q-en:1"], "after": ["q-duty:0"]}
    ]
    assert admin.ami.sent == [] and admin.duty.requeued == []
    assert not admin.confdir.exists()


async def test_apply_writes_reloads_requeues_records_and_rollback_returns(admin: Admin) -> None:
    token = await admin.token()
    version, config = await _current(admin, token)
    config["queues"][0]["service_level_s"] = 20
    config["agents"] = [{"agent": "a07", "queues": [{"queue": "q-en", "penalty": 0}]}]
    status, result = await admin.call(
        "POST",
        "/api/admin/changes",
        token,
        json={"base_version": version, "config": config, "comment": "SL 20"},
    )
    assert status == 201, result
    applied = result["version"]
    assert (applied["version"], applied["author"], applied["comment"]) == (1, "boss", "SL 20")
    assert [(r["action"], r["ok"]) for r in applied["results"]] == [
        ("write", True),
        ("QueueReload", True),
        ("requeue a07", True),
    ]
    assert applied["asterisk_applied"] is True
    assert admin.ami.sent == [
        ("QueueReload", {"Parameters": "yes", "Members": "no", "Rules": "yes"})
    ]
    assert "servicelevel = 20" in (admin.confdir / "queues.conf").read_text()
    assert admin.duty.requeued == [("a07", (Wanted("q-en", 0),))]

    status, result = await admin.call(
        "POST", "/api/admin/versions/0/rollback", token, json={"base_version": 1}
    )
    assert status == 201, result
    assert result["version"]["rollback_of"] == 0 and result["version"]["version"] == 2
    assert "servicelevel = 20" not in (admin.confdir / "queues.conf").read_text()
    assert admin.duty.seats["a07"].queues == (Wanted("q-zh", 0), Wanted("q-en", 1))
    status, history = await admin.call("GET", "/api/admin/versions", token)
    assert [v["version"] for v in history["versions"]] == [2, 1, 0]
    assert (
        await admin.call("POST", "/api/admin/versions/9/rollback", token, json={"base_version": 2})
    )[0] == 404


async def test_the_second_administrator_editing_the_same_version_gets_409(admin: Admin) -> None:
    first, second = await admin.token("boss"), await admin.token("boss2")
    version, config = await _current(admin, first)
    mine, theirs = copy.deepcopy(config), copy.deepcopy(config)
    mine["queues"][1]["weight"] = 3
    theirs["queues"][1]["weight"] = 7
    body = {"base_version": version, "config": mine}
    assert (await admin.call("POST", "/api/admin/changes", first, json=body))[0] == 201
    status, error = await admin.call(
        "POST", "/api/admin/changes", second, json={"base_version": version, "config": theirs}
    )
    assert (status, error["error"], error["details"]["current"]) == (409, "version_conflict", 1)
    _, now = await _current(admin, second)
    assert now["queues"][1]["weight"] == 3  # nothing overwritten


async def test_a_refused_reload_is_reported_per_action_and_the_state_says_so(admin: Admin) -> None:
    admin.ami.refuse = "Permission denied"
    token = await admin.token()
    version, config = await _current(admin, token)
    config["queues"][2]["ring_timeout_s"] = 25
    status, result = await admin.call(
        "POST", "/api/admin/changes", token, json={"base_version": version, "config": config}
    )
    assert status == 201
    outcomes = {r["action"]: (r["ok"], r["message"]) for r in result["version"]["results"]}
    assert outcomes["QueueReload"] == (False, "Permission denied")
    assert result["version"]["asterisk_applied"] is False
    _, history = await admin.call("GET", "/api/admin/versions", token)
    assert history["versions"][0]["asterisk_applied"] is False


async def test_a_new_expert_queue_enters_the_registry(admin: Admin) -> None:
    token = await admin.token()
    version, config = await _current(admin, token)
    config["queues"].append(
        {"name": "q-law", "language": "zh", "kind": "expert", "ends_on": "2027-01-31"}
    )
    status, _ = await admin.call(
        "POST", "/api/admin/changes", token, json={"base_version": version, "config": config}
    )
    assert status == 201
    assert registry.language_of_queue("q-law") == "zh"
    assert registry.queue_for_language("zh") is not None
    assert registry.queue_for_language("zh").name == "q-zh"  # type: ignore[union-attr]


async def test_shifts_show_who_is_on_duty(admin: Admin) -> None:
    token = await admin.token()
    status, body = await admin.call("GET", "/api/admin/shifts?date=2026-12-01&at=03:00", token)
    assert status == 200
    assert [(g["group"], g["duty"]) for g in body["groups"]] == [("D", "night")]


async def test_the_openapi_document_is_valid_and_lists_every_admin_route(admin: Admin) -> None:
    resp = await admin.client.get("/api/openapi.json")
    doc = await resp.json()
    validate(doc)
    assert set(doc["paths"]) == {
        "/api/admin/login",
        "/api/admin/config",
        "/api/admin/changes/dry-run",
        "/api/admin/changes",
        "/api/admin/versions",
        "/api/admin/versions/{version}/rollback",
        "/api/admin/shifts",
    }
    change = doc["paths"]["/api/admin/changes"]["post"]
    assert set(change["responses"]) == {"201", "401", "403", "409", "422"}
    schemas = doc["components"]["schemas"]
    assert "QueueSpec" in schemas and "ShiftPlan" in schemas
    assert schemas["QueueSpec"]["properties"]["ring_timeout_s"]["minimum"] == 5


@pytest.mark.parametrize("who", ["administrator", "nobody"])
async def test_every_route_fuzzed_from_the_openapi_document_never_answers_500(
    admin: Admin, who: str, tmp_path: Path
) -> None:
    """schemathesis generates requests for every operation of /api/openapi.json (valid and
    invalid bodies, parameters, headers) against the live server: no 5xx, ever."""
    headers = ["-H", f"Authorization: Bearer {await admin.token()}"] if who != "nobody" else []
    url = str(admin.client.server.make_url("/api/openapi.json"))
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "st"),
        "run",
        url,
        "--checks",
        "not_a_server_error",
        "--max-examples",
        os.environ.get("CTI_FUZZ_EXAMPLES", "40"),  # more for a longer hunt
        "--seed",
        os.environ.get("CTI_FUZZ_SEED", "13"),
        "--report-dir",
        str(tmp_path),
        "--generation-database",
        "none",
        "--no-color",
        *headers,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,  # its .schemathesis/ cache stays out of the checkout
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert "7 selected" in text or "7 total" in text, text[-3000:]  # every operation


async def test_a_shift_time_with_an_offset_is_422_not_500(admin: Admin) -> None:
    """Found by the fuzzer: "08:00+08:00" beside a naive "20:00" could not be compared."""
    token = await admin.token()
    version, config = await _current(admin, token)
    config["shifts"]["day_start"] = "08:00:00+08:00"
    status, body = await admin.call(
        "POST",
        "/api/admin/changes/dry-run",
        token,
        json={"base_version": version, "config": config},
    )
    assert (status, body["error"]) == (422, "invalid_input")
    assert body["details"]["field"] == "config.shifts.day_start"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_shifts_on_a_date_at_the_calendars_ends_is_422_not_500(
    admin: Admin, day: str
) -> None:
    """Found by the fuzzer: the day before 0001-01-01 (or after 9999-12-31) overflowed."""
    status, body = await admin.call("GET", f"/api/admin/shifts?date={day}", await admin.token())
    assert (status, body["details"]["field"]) == (422, "date")
