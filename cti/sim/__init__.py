"""The PBX simulator: an AMI server with the event shapes of the real Asterisk recordings.

Sans-IO model (`Pbx`, the call script, the action replies) plus a thin asyncio server
(`SimServer`) and a load generator (`Arrivals`). Drives the demo, end-to-end tests and
benchmarks without an Asterisk.
"""

from cti.sim.actions import ActionResult, handle
from cti.sim.load import DEFAULT_CALLER_IDS, Arrivals, LoadConfig
from cti.sim.pbx import CallerSpec, NoSuchQueue, Pbx, PbxConfig
from cti.sim.queues import QueueCounts
from cti.sim.seats import SeatPlan, seat_plan
from cti.sim.server import SimConfig, SimServer
from cti.sim.thread import SimThread

__all__ = [
    "DEFAULT_CALLER_IDS",
    "ActionResult",
    "Arrivals",
    "CallerSpec",
    "LoadConfig",
    "NoSuchQueue",
    "Pbx",
    "PbxConfig",
    "QueueCounts",
    "SeatPlan",
    "SimConfig",
    "SimServer",
    "SimThread",
    "handle",
    "seat_plan",
]
