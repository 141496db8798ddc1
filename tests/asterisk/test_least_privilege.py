"""The server logged in as `ctiro` (recording-config/manager.conf: `read = call,agent`,
`write = agent`): Asterisk accepts the login but answers `Permission denied` to
CoreShowChannels (20-least-privilege.ami). The server must say so, not loop silently:
`/health` answers 503 naming the refused action."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cti.testbed import Asterisk
from cti.web import create_app
from tests.asterisk.conftest import Cti, server_settings
from tests.support.waiting import eventually

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def cti_ro(asterisk: Asterisk, database: Path, aiohttp_client: Any) -> AsyncIterator[Cti]:
    """The server with the least-privileged AMI user."""
    settings = server_settings(asterisk, database, username="ctiro", secret="ctirosecret")
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    yield Cti(client, settings)


async def test_health_names_the_denied_action_for_a_least_privileged_ami_user(
    cti_ro: Cti,
) -> None:
    async def denied() -> dict[str, Any] | None:
        status, body = await cti_ro.health()
        return body if status == 503 and "permission denied" in str(body).lower() else None

    body = await eventually(denied, within_s=10, what="/health 503 naming the denied action")
    print(f"\n[ctiro] /health: {body}")
    reasons = " ".join(body["reasons"])
    assert "CoreShowChannels" in reasons  # the action Asterisk refused (20-least-privilege)
