"""A real Asterisk 22.10.1 for tests, the demo and benchmarks: the recording configuration on
free ports, started and stopped with `shared/asterisk/run-asterisk`.

The configuration is `shared/asterisk-traces/recording-config/` (the one that made the
recordings) with only what a test run must change: the AMI, SIP and FastAGI ports (never
5038/5060/4573, so two runs or a developer's own Asterisk do not collide), the SIP seat and
trunk contact ports, a `[seats]` context added for Local seats (see SEATS_CONTEXT), and an
explicit module list (`autoload = no`) plus the few core config files Asterisk complains
about, so `log/messages` carries no noise and a real error shows.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cti.ami import shared_dir

ASTERISK_DIR = shared_dir() / "asterisk"
RUN_ASTERISK = ASTERISK_DIR / "run-asterisk"
SIPP_DIR = ASTERISK_DIR / "sipp"
RECORDING_CONFIG = shared_dir() / "asterisk-traces" / "recording-config"
VERSION = "22.10.1"

# Unpacked once per machine and reused by every run (the tarball is 4.4 MB packed).
DEFAULT_HOME = (
    Path(os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")))
    / f"hotline-cti/asterisk-{VERSION}"
)

# What the recording dialplan and queues need, and nothing that logs "Unable to load config".
MODULES = """\
[modules]
autoload = no
load => res_sorcery_config.so
load => res_sorcery_memory.so
load => res_sorcery_astdb.so
load => res_timing_timerfd.so
load => res_rtp_asterisk.so
load => res_pjproject.so
load => res_pjsip.so
load => res_pjsip_session.so
load => res_pjsip_pubsub.so
load => res_pjsip_endpoint_identifier_ip.so
load => res_pjsip_endpoint_identifier_user.so
load => res_pjsip_caller_id.so
load => res_pjsip_sdp_rtp.so
load => res_pjsip_dtmf_info.so
load => res_pjsip_rfc3326.so
load => res_pjsip_diversion.so
load => res_pjsip_header_funcs.so
load => chan_pjsip.so
load => codec_ulaw.so
load => codec_alaw.so
load => codec_a_mu.so
load => format_pcm.so
load => format_wav.so
load => bridge_simple.so
load => bridge_native_rtp.so
load => bridge_builtin_features.so
load => pbx_config.so
load => app_queue.so
load => app_dial.so
load => app_senddtmf.so
load => app_verbose.so
load => app_stack.so
load => res_speech.so
load => res_agi.so
load => func_logic.so
load => func_callerid.so
load => func_channel.so
load => func_strings.so
load => func_global.so
"""

# Core subsystems read these at boot and log an ERROR/WARNING when they are missing.
QUIET_CORE_CONFIGS = {
    "cdr.conf": "[general]\nenable = no\n",
    "cel.conf": "[general]\nenable = no\n",
    "ccss.conf": "[general]\n",
    "features.conf": "[general]\n",
    "udptl.conf": "[general]\n",
    "acl.conf": "",
    "pjproject.conf": "",
    "indications.conf": "[general]\ncountry = cn\n\n[cn]\ndescription = China\n"
    "ringcadence = 1000,4000\ndial = 450\nbusy = 450/350,0/350\nring = 450/1000,0/4000\n"
    "congestion = 450/700,0/700\ncallwaiting = 450/400,0/4000\ndialrecall = 450/100,0/100\n"
    "record = 950/400,0/10000\ninfo = 450/100,0/100,450/100,0/100,450/100,0/100,450/400\n",
}

# The test bed's seat context: the server makes every seat a member as one interface template
# (`Local/{seat}@seats/n`); a test turns one seat into a phone that rings and is never
# answered by setting the global NOANSWER_<seat> = 1. Otherwise it is the recording's
# `agents` (answer, talk ${TALK} s) or `agents-noanswer` context, unchanged.
SEATS_CONTEXT = """
[seats]
exten => _seat.,1,Set(PHONE=${IF($["${GLOBAL(NOANSWER_${EXTEN})}" = "1"]?agents-noanswer:agents)})
 same => n,Goto(${PHONE},${EXTEN},1)
"""
LOCAL_SEAT_INTERFACE = "Local/{seat}@seats/n"

RECORDED_AMI_PORT = 5038
RECORDED_SIP_PORT = 5060
RECORDED_TRUNK_PORT = 5099
RECORDED_AGI_PORT = 4573


class AsteriskError(RuntimeError):
    """run-asterisk failed; the message carries its output and the log's tail."""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 nobody listens on right now (TCP by default, or UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_udp_and_tcp_port() -> int:
    """A port free for both UDP and TCP (SIP over UDP, and nothing else may take it)."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise OSError("no free port for UDP and TCP")


@dataclass(frozen=True)
class Ports:
    """Where this test Asterisk listens, and where it finds its SIP phones and trunk."""

    ami: int
    sip: int
    agi: int
    trunk: int
    seats: dict[str, int] = field(default_factory=dict)  # "seat07" -> sipp's UDP port

    @classmethod
    def allocate(cls, seats: list[str]) -> Ports:
        """Free ports for everything (never the recording's 5038/5060/4573/51NN)."""
        return cls(
            ami=free_port(),
            sip=free_udp_and_tcp_port(),
            agi=free_port(),
            trunk=free_udp_and_tcp_port(),
            seats={seat: free_udp_and_tcp_port() for seat in seats},
        )


def pjsip_seats(config: Path = RECORDING_CONFIG) -> list[str]:
    """The PJSIP seat endpoints of a configuration (`seat01`, `seat07`...)."""
    text = (config / "pjsip.conf").read_text()
    return sorted(set(re.findall(r"contact\s*=\s*sip:(seat\d+)@", text)))


def write_config(
    target: Path,
    ports: Ports,
    source: Path = RECORDING_CONFIG,
    *,
    static_members: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Copy `source` into `target` with the test's ports and a quiet module list.

    `static_members` (queue -> seats) adds `member => Local/<seat>@agents/n` lines to
    queues.conf: members the CTI server leaves alone (benchmarks use them).
    """
    target.mkdir(parents=True, exist_ok=True)
    for conf in source.glob("*.conf"):
        shutil.copy(conf, target / conf.name)

    manager = (target / "manager.conf").read_text()
    manager, n = re.subn(
        rf"(?m)^(port\s*=\s*){RECORDED_AMI_PORT}\s*$", rf"\g<1>{ports.ami}", manager
    )
    _rewritten(n, "manager.conf port")
    (target / "manager.conf").write_text(manager)

    pjsip = (target / "pjsip.conf").read_text()
    pjsip, n = re.subn(rf"bind\s*=\s*127\.0\.0\.1:{RECORDED_SIP_PORT}\b", "", pjsip)
    _rewritten(n, "pjsip.conf transport bind")
    pjsip = pjsip.replace("[transport-udp]", f"[transport-udp]\nbind = 127.0.0.1:{ports.sip}", 1)
    pjsip, n = re.subn(
        rf"contact\s*=\s*sip:127\.0\.0\.1:{RECORDED_TRUNK_PORT}\b",
        f"contact = sip:127.0.0.1:{ports.trunk}",
        pjsip,
    )
    _rewritten(n, "pjsip.conf trunk contact")
    for seat, port in ports.seats.items():
        pjsip, n = re.subn(
            rf"contact\s*=\s*sip:{seat}@127\.0\.0\.1:\d+",
            f"contact = sip:{seat}@127.0.0.1:{port}",
            pjsip,
        )
        _rewritten(n, f"pjsip.conf {seat} contact")
    (target / "pjsip.conf").write_text(pjsip)

    extensions = (target / "extensions.conf").read_text()
    extensions, n = re.subn(
        rf"agi://127\.0\.0\.1:{RECORDED_AGI_PORT}/", f"agi://127.0.0.1:{ports.agi}/", extensions
    )
    _rewritten(n, "extensions.conf AGI URL")
    (target / "extensions.conf").write_text(extensions + SEATS_CONTEXT)

    if static_members:
        queues = (target / "queues.conf").read_text()
        for queue, seats in static_members.items():
            lines = "".join(f"member => Local/{s}@agents/n,0,{s}\n" for s in seats)
            queues, n = re.subn(rf"(?m)^\[{re.escape(queue)}\]\n", f"[{queue}]\n{lines}", queues)
            _rewritten(n, f"queues.conf [{queue}]")
        (target / "queues.conf").write_text(queues)

    (target / "modules.conf").write_text(MODULES)
    for name, text in QUIET_CORE_CONFIGS.items():
        if not (source / name).exists():
            (target / name).write_text(text)
    return target


def _rewritten(count: int, what: str) -> None:
    if count == 0:
        raise AsteriskError(f"the recording config changed: {what} not found to rewrite")


class Asterisk:
    """One Asterisk process in `rundir`, driven through run-asterisk (start/cli/stop)."""

    def __init__(self, rundir: Path, confdir: Path, ports: Ports, home: Path = DEFAULT_HOME):
        self.rundir = rundir
        self.confdir = confdir
        self.ports = ports
        self.home = home

    @property
    def log_file(self) -> Path:
        """Asterisk's own log (notice, warning, error, verbose)."""
        return self.rundir / "log" / "messages"

    def _run(self, *args: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ASTERISK_HOME": str(self.home)}
        return subprocess.run(
            [str(RUN_ASTERISK), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def start(self) -> None:
        """Start and wait until fully booted with AMI answering; AsteriskError says why not."""
        if not RUN_ASTERISK.exists():
            raise AsteriskError(f"{RUN_ASTERISK} not found (set CTI_SHARED_DIR)")
        self.home.parent.mkdir(parents=True, exist_ok=True)
        # The first start unpacks the build into `home`: two sessions must not both do it.
        with _locked(self.home.parent / f".asterisk-{VERSION}.lock"):
            done = self._run("start", str(self.rundir), str(self.confdir))
        if done.returncode != 0:
            raise AsteriskError(
                f"run-asterisk start failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                f"\n--- {self.log_file} ---\n{self.log_tail()}"
            )

    def stop(self) -> None:
        """`core stop now` and wait for the process to be gone (a no-op when not running)."""
        self._run("stop", str(self.rundir), timeout_s=30)

    def cli(self, command: str) -> str:
        """One CLI command (`asterisk -rx`); its output."""
        done = self._run("cli", str(self.rundir), command, timeout_s=30)
        if done.returncode != 0:
            raise AsteriskError(f"cli {command!r} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def pid(self) -> int | None:
        """The process id while run-asterisk considers it running."""
        try:
            pid = int((self.rundir / "asterisk.pid").read_text())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    def wait_fully_booted(self, within_s: float = 30.0) -> None:
        """After `core restart now`: wait until the CLI answers and boot has finished."""
        deadline = time.monotonic() + within_s
        while True:
            done = self._run("cli", str(self.rundir), "core waitfullybooted", timeout_s=within_s)
            if done.returncode == 0 and "fully booted" in done.stdout.lower():
                return
            if time.monotonic() > deadline:
                raise AsteriskError(f"not fully booted in {within_s} s: {done.stdout}{done.stderr}")
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        """The end of log/messages (or of console.log when there is none yet)."""
        for path in (self.log_file, self.rundir / "console.log"):
            if path.exists():
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def log_problems(self) -> list[str]:
        """Lines of log/messages at ERROR or WARNING level."""
        if not self.log_file.exists():
            return []
        text = self.log_file.read_text(errors="replace")
        return [line for line in text.splitlines() if re.search(r"\] (ERROR|WARNING)\[", line)]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
