"""The real Asterisk test bed: Asterisk 22.10.1 from `shared/asterisk/` with the recordings'
configuration on free ports (`Asterisk`), and callers placed into it over AMI (`CallerLoad`).
Used by the `tests/asterisk` tier, `cti demo --pbx asterisk` and `scripts/bench-pop --pbx
asterisk`."""

from cti.testbed.asterisk import (
    DEFAULT_HOME,
    LOCAL_SEAT_INTERFACE,
    RECORDING_CONFIG,
    SEATS_CONTEXT,
    SIPP_DIR,
    Asterisk,
    AsteriskError,
    Ports,
    free_port,
    free_udp_and_tcp_port,
    pjsip_seats,
    write_config,
)
from cti.testbed.calls import CallerLoad, originate_caller
from cti.testbed.running import RunningAsterisk

__all__ = [
    "DEFAULT_HOME",
    "LOCAL_SEAT_INTERFACE",
    "RECORDING_CONFIG",
    "SEATS_CONTEXT",
    "SIPP_DIR",
    "Asterisk",
    "AsteriskError",
    "CallerLoad",
    "Ports",
    "RunningAsterisk",
    "free_port",
    "free_udp_and_tcp_port",
    "originate_caller",
    "pjsip_seats",
    "write_config",
]
