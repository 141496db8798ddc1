"""A test-bed Asterisk with callers arriving, as one async context (for `cti demo --pbx
asterisk` and benchmarks): the process, an AMI client of its own, and the caller load."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from cti.ami import AMIClient
from cti.settings import AMISettings
from cti.testbed.asterisk import Asterisk, Ports, pjsip_seats, write_config
from cti.testbed.calls import CallerLoad

log = logging.getLogger(__name__)


class RunningAsterisk:
    """Starts Asterisk in `workdir` (fresh configuration, free ports) and, with a rate, places
    callers into it; stops both on exit. `port` is its AMI port (user `cti`)."""

    def __init__(
        self,
        workdir: Path,
        *,
        caller_ids: Sequence[str] = (),
        rate_per_hour: float = 0.0,
        talk: tuple[float, float] = (15.0, 45.0),
        seed: int = 1,
        static_members: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.workdir = workdir
        self.static_members = static_members
        self.caller_ids = tuple(caller_ids)
        self.rate_per_hour = rate_per_hour
        self.talk = talk
        self.seed = seed
        self.asterisk: Asterisk | None = None
        self.ami: AMIClient | None = None
        self.load: CallerLoad | None = None
        self._load_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The AMI port."""
        assert self.asterisk is not None, "not started"
        return self.asterisk.ports.ami

    def ami_settings(self, **overrides: object) -> AMISettings:
        """Settings that reach this Asterisk's AMI as the recording config's `cti` user."""
        values: dict[str, object] = {"port": self.port, "username": "cti", "secret": "ctisecret"}
        return AMISettings.model_validate({**values, **overrides})

    async def __aenter__(self) -> RunningAsterisk:
        conf = self.workdir / "conf"
        shutil.rmtree(conf, ignore_errors=True)
        ports = Ports.allocate(pjsip_seats())
        confdir = write_config(conf, ports, static_members=self.static_members)
        asterisk = Asterisk(self.workdir / "run", confdir, ports)
        await asyncio.to_thread(asterisk.stop)  # one left over by a killed run
        await asyncio.to_thread(asterisk.start)
        self.asterisk = asterisk
        try:
            self.ami = AMIClient(self.ami_settings(backoff_min_s=0.1, backoff_max_s=1.0))
            await self.ami.start()
            await self.ami.wait_connected(15)
            if self.rate_per_hour > 0:
                self.load = CallerLoad(
                    self.ami,
                    self.caller_ids,
                    rate_per_hour=self.rate_per_hour,
                    talk=self.talk,
                    seed=self.seed,
                )
                self._load_task = asyncio.create_task(self.load.run(), name="testbed-callers")
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _stop(self) -> None:
        if self._load_task is not None:
            self._load_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._load_task
        if self.ami is not None:
            await self.ami.stop()
        if self.asterisk is not None:
            await asyncio.to_thread(self.asterisk.stop)

    async def placed(self) -> int:
        """How many callers were placed so far."""
        return self.load.placed if self.load is not None else 0

    async def restart(self) -> None:
        """`core restart now`: every AMI connection closes, members and calls are gone."""
        assert self.asterisk is not None, "not started"
        await asyncio.to_thread(self.asterisk.cli, "core restart now")
