"""The one typed settings object, read once at start and passed down.

Sources, highest priority first: keyword arguments, environment (`CTI_` prefix, nested
delimiter `__`, e.g. `CTI_AMI__HOST`), the TOML file given with `--config`, defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cti.db.engine import async_url


class AMISettings(BaseModel):
    """Where the Asterisk Manager Interface is and how to log in."""

    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = "cti"
    secret: str = "ctisecret"
    # A Ping a second, and silence for ping_timeout_s after it, is a dead connection: the
    # agents are told "telephone system unreachable" within about 2 s of a half-open link.
    ping_interval_s: float = Field(default=1.0, gt=0)
    ping_timeout_s: float = Field(default=1.0, gt=0)
    # Reconnect: a refused connection is retried every 0.1-0.25 s (it costs nothing, and
    # the server is back within a second of Asterisk); other failures back off from
    # backoff_min_s to backoff_max_s with jitter; a refused login or a denied action (a
    # configuration fault a person must fix) is retried every refused_retry_s.
    backoff_min_s: float = Field(default=0.1, gt=0)
    backoff_max_s: float = Field(default=1.0, gt=0)
    refused_retry_s: float = Field(default=10.0, gt=0)
    action_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("host", "username", "secret")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # A CR, LF or NUL would end the Login header early: refuse it at start, by name.
        if any(c in value for c in "\r\n\0"):
            raise ValueError("must not contain CR, LF or NUL")
        return value


class MembersSettings(BaseModel):
    """How seats become queue members, and after-call work.

    `interface` / `state_interface` are templates with `{seat}`: `PJSIP/{seat}` for SIP
    phones (production), `Local/{seat}@agents/n` for the recordings' test bed. An empty
    `state_interface` sends no StateInterface (Asterisk then watches the interface itself).
    """

    interface: str = Field(default="PJSIP/{seat}", pattern=r"^[A-Za-z]+/[^\s]*\{seat\}[^\s]*$")
    state_interface: str = Field(default="", pattern=r"^([A-Za-z]+/[^\s]*\{seat\}[^\s]*)?$")
    acw_timeout_s: float = Field(default=60.0, ge=0)  # 0: no after-call work
    retry_s: float = Field(default=5.0, gt=0)  # a refused member action is tried again


class CallbacksSettings(BaseModel):
    """Calling back abandoned callers (`cti.callbacks`).

    `agent_channel` is the Originate's first leg, the agent's own seat (`{seat}`):
    `PJSIP/{seat}` for SIP phones, `Local/{seat}@agents-callback/n` in the recordings' test
    bed; once the agent answers, Asterisk runs `context` (`callback`) with the number as the
    extension. A registered elderly or emergency caller is promised a call within
    `promise_s` (10 minutes); anyone else within `other_deadline_s` (2 hours).
    """

    agent_channel: str = Field(default="PJSIP/{seat}", pattern=r"^[A-Za-z]+/[^\s]*\{seat\}[^\s]*$")
    context: str = Field(default="callback", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    caller_id: str = Field(default='"89000回拨" <89000>', max_length=80)
    agent_ring_s: float = Field(default=15.0, gt=0)  # Originate Timeout: the agent's ring
    promise_s: float = Field(default=600.0, gt=0)
    other_deadline_s: float = Field(default=7200.0, gt=0)
    # An attempt with no result after this long (events lost) is marked lost, never re-sent.
    result_timeout_s: float = Field(default=120.0, gt=0)

    @field_validator("caller_id")
    @classmethod
    def _one_line_cid(cls, value: str) -> str:
        if any(c in value for c in "\r\n\0"):
            raise ValueError("must not contain CR, LF or NUL")
        return value


class HTTPSettings(BaseModel):
    """The agent/admin web server."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class IVRSettings(BaseModel):
    """The FastAGI language menu: `agi://HOST:PORT/language-menu` in the dialplan."""

    host: str = "127.0.0.1"
    port: int = Field(default=4573, ge=0, le=65535)  # 0: any free port (tests)


class AsteriskConfSettings(BaseModel):
    """What `cti conf render` takes from the deployment, never from the committed model.

    `seat_secret_key` derives each seat's SIP password (HMAC-SHA256 of the seat name); without
    it the rendered files carry `CHANGE-ME` placeholders that `cti conf check` refuses.
    `asterisk_dir` is where the running Asterisk reads its configuration: an applied
    administrator's change writes queues.conf and queuerules.conf there, then QueueReload.
    """

    sip_bind: str = Field(default="0.0.0.0:5060", pattern=r"^[0-9.]+:\d+$")
    trunk_contact: str = Field(default="sip:127.0.0.1:5099", pattern=r"^sip:[^\s;]+$")
    trunk_match: str = Field(default="127.0.0.1", pattern=r"^[0-9./]+$")
    inbound_number: str = Field(default="89000", pattern=r"^\d{3,15}$")
    seat_secret_key: SecretStr | None = None
    asterisk_dir: Path | None = None


class LoginSettings(BaseModel):
    """Login throttling (`cti.web.throttle`): failed logins per agent and per address in
    `window_s`; at the limit the next try is 429 with `Retry-After`. At most `max_pending`
    password checks wait their turn (then 503 `login_busy`); `max_tracked` bounds memory."""

    window_s: float = Field(default=300.0, gt=0)
    agent_failures: int = Field(default=5, ge=1)
    # One address can be a whole room behind NAT: 52 agents mistyping at a shift change.
    address_failures: int = Field(default=30, ge=1)
    max_pending: int = Field(default=32, ge=1)
    max_tracked: int = Field(default=10_000, ge=1)


class SeatsSettings(BaseModel):
    """The seats agents may log in at: `seat01`…`seatNN` (until the seat model is edited
    by administrators; see `cti.web.login.seat_exists`)."""

    count: int = Field(default=52, ge=1, le=9999)


class LocatorSettings(BaseModel):
    """Caller-ID normalisation (home region and area code) and the index refresh interval."""

    region: str = "CN"
    home_area_code: str = Field(default="0535", pattern=r"^0\d{2,3}$")
    # How often the server checks whether another process changed the registry.
    refresh_interval_s: float = Field(default=5.0, gt=0)


class Settings(BaseSettings):
    """Everything the CTI server needs to start."""

    model_config = SettingsConfigDict(
        env_prefix="CTI_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    ami: AMISettings = AMISettings()
    http: HTTPSettings = HTTPSettings()
    ivr: IVRSettings = IVRSettings()
    locator: LocatorSettings = LocatorSettings()
    members: MembersSettings = MembersSettings()
    login: LoginSettings = LoginSettings()
    seats: SeatsSettings = SeatsSettings()
    callbacks: CallbacksSettings = CallbacksSettings()
    conf: AsteriskConfSettings = AsteriskConfSettings()
    database_url: str = "sqlite+aiosqlite:///var/cti.sqlite3"
    redis_url: str | None = None
    # Every key this cluster keeps in Redis starts with it: two clusters (or two tests) can
    # share one Redis.
    redis_prefix: str = Field(default="cti:", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    node_id: str = "cti-1"

    @field_validator("database_url")
    @classmethod
    def _async_database_url(cls, value: str) -> str:
        # `sqlite:///…` and `postgresql://…` get the async driver; anything else is named here
        # at start, not found out as a traceback from the engine.
        return async_url(value)

    _toml_file: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls._toml_file))
        return tuple(sources)


class SettingsError(Exception):
    """The settings are invalid; the message names each bad field."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment and an optional TOML file.

    Raises SettingsError naming every invalid field (e.g. `ami.port`), so a start with
    bad settings stops with a message a person can act on.
    """
    if config_file is not None and not config_file.is_file():
        raise SettingsError(f"config file not found: {config_file}")
    Settings._toml_file = config_file
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(settings)"
            hidden = "secret" in field or field.endswith("_url")  # a URL can hold a password
            got = "(hidden)" if hidden else repr(err.get("input"))
            lines.append(f"{field}: {err['msg']} (got {got})")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
    finally:
        Settings._toml_file = None
