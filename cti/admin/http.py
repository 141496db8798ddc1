"""The admin API under /api/admin and its OpenAPI document at /api/openapi.json.

Every route is declared once with its request and response schemas (`cti.admin.models`):
the handler validates with them and `openapi.document()` is generated from the same
declarations. Roles: no or unknown token → 401 `invalid_token`; a valid agent or
supervisor token → 403 `administrator_required`; invalid input → 422 `invalid_input` naming
the field; a change edited from an old version → 409 `version_conflict`.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import ClassVar, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from cti.admin.keys import ADMIN
from cti.admin.models import (
    AdminLogin,
    AdminToken,
    ApplyResult,
    ChangePlan,
    ChangeRequest,
    ConfigView,
    RollbackRequest,
    ShiftView,
    VersionList,
)
from cti.admin.openapi import Endpoint, Param, document
from cti.admin.service import AdminService, UnknownVersion, VersionConflict
from cti.web.errors import APIError, InvalidCredentials, InvalidToken
from cti.web.keys import ACCOUNTS, AMI, DUTY, LOGIN_GUARD, SESSIONS, SETTINGS
from cti.web.requests import MAX_BODY
from cti.web.throttle import authenticate
from seats.shifts import CHINA, on_duty

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


class AdministratorRequired(APIError):
    """A valid token, but not an administrator's."""

    status: ClassVar[int] = 403
    error_id: ClassVar[str] = "administrator_required"


class InvalidInput(APIError):
    """The body or a parameter does not match its schema; `details.field` names it."""

    status: ClassVar[int] = 422
    error_id: ClassVar[str] = "invalid_input"


class VersionConflictError(APIError):
    """Someone applied another change since this one was edited."""

    status: ClassVar[int] = 409
    error_id: ClassVar[str] = "version_conflict"


class NoSuchVersion(APIError):
    """Rollback to a version that does not exist."""

    status: ClassVar[int] = 404
    error_id: ClassVar[str] = "unknown_version"


class AdminSessions:
    """Administrator tokens of this node; one shift long (13 h)."""

    def __init__(self, ttl_s: float = 13 * 3600, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, tuple[str, float]] = {}

    def issue(self, admin: str) -> str:
        """A new token for `admin`."""
        now = self._clock()
        self._sessions = {t: s for t, s in self._sessions.items() if s[1] > now}
        token = secrets.token_urlsafe(32)
        self._sessions[token] = (admin, now + self._ttl_s)
        return token

    def resolve(self, token: str | None) -> str | None:
        """The administrator of a live token, or None."""
        entry = self._sessions.get(token or "")
        return entry[0] if entry and entry[1] > self._clock() else None


ADMIN_SESSIONS = web.AppKey("admin_sessions", AdminSessions)
M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ENDPOINTS: list[Endpoint] = []
routes = web.RouteTableDef()


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


async def administrator(request: web.Request) -> str:
    """The administrator making the request; 401 without a valid token, 403 for an agent's
    or a supervisor's."""
    token = _token(request)
    admin = request.app[ADMIN_SESSIONS].resolve(token)
    if admin is not None:
        return admin
    if token and await request.app[SESSIONS].validate(token) is not None:
        raise AdministratorRequired("this account may not change the configuration")
    from cti.wallboard.http import SUPERVISORS  # a supervisor's wallboard token

    if token and SUPERVISORS in request.app and await request.app[SUPERVISORS].resolve(token):
        raise AdministratorRequired("this account may not change the configuration")
    raise InvalidToken("log in again")


def _invalid(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "body"
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    return InvalidInput(f"{field}: {first['msg']}", field=field, errors=errors[:20])


async def _body(request: web.Request, model: type[M]) -> M:
    raw = await request.content.read(MAX_BODY * 4 + 1)
    if len(raw) > MAX_BODY * 4:
        raise InvalidInput("body too large", field="body")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            raise InvalidInput("body is not JSON", field="body") from None
        raise _invalid(exc) from None


def _service(request: web.Request) -> AdminService:
    return request.app[ADMIN]


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        text=model.model_dump_json(), status=status, content_type="application/json"
    )


def endpoint(
    method: str,
    path: str,
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    response: type[BaseModel],
    errors: tuple[int, ...] = (),
    params: tuple[Param, ...] = (),
    auth: bool = True,
    status: int = 200,
) -> Callable[[Handler], Handler]:
    """Declare a route once: aiohttp's table and the OpenAPI document both read it."""

    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(
            Endpoint(
                method,
                path,
                summary,
                handler.__name__,
                body,
                response,
                errors,
                params,
                auth,
                status,
            )
        )
        routes.route(method, path)(handler)
        return handler

    return register


@endpoint(
    "POST",
    "/api/admin/login",
    "Log in as an administrator",
    body=AdminLogin,
    response=AdminToken,
    errors=(401, 403, 422, 429, 503),
    auth=False,
)
async def admin_login(request: web.Request) -> web.Response:
    """Check the password; only an administrator's account gets a token."""
    login = await _body(request, AdminLogin)
    app = request.app  # the agents' throttle: one budget of guesses per account and address
    profile = await authenticate(
        request, app[LOGIN_GUARD], app[ACCOUNTS], login.agent, login.password
    )
    if profile is None:
        raise InvalidCredentials("unknown agent or wrong password")
    if not profile.is_administrator:
        raise AdministratorRequired("this account may not change the configuration")
    log.info("admin login: %s", profile.id)
    token = request.app[ADMIN_SESSIONS].issue(profile.id)
    return _json(AdminToken(token=token, administrator=profile.id))


@endpoint(
    "GET", "/api/admin/config", "The configuration in force", response=ConfigView, errors=(401, 403)
)
async def get_config(request: web.Request) -> web.Response:
    """The current version's configuration."""
    await administrator(request)
    current = _service(request).current
    return _json(
        ConfigView(version=current.summary.version, config=current.config, applied=current.summary)
    )


@endpoint(
    "POST",
    "/api/admin/changes/dry-run",
    "What a change would do (nothing is sent)",
    body=ChangeRequest,
    response=ChangePlan,
    errors=(401, 403, 409, 422),
)
async def dry_run(request: web.Request) -> web.Response:
    """The configuration lines, AMI actions and requeues of a change."""
    await administrator(request)
    change = await _body(request, ChangeRequest)
    try:
        return _json(await _service(request).plan(change.base_version, change.config))
    except VersionConflict as exc:
        raise VersionConflictError(str(exc), current=exc.current) from None


@endpoint(
    "POST",
    "/api/admin/changes",
    "Apply a change as the next version",
    body=ChangeRequest,
    response=ApplyResult,
    errors=(401, 403, 409, 422),
    status=201,
)
async def apply_change(request: web.Request) -> web.Response:
    """Apply: files and QueueReload, agents requeued; the version records each outcome."""
    admin = await administrator(request)
    change = await _body(request, ChangeRequest)
    try:
        summary, plan = await _service(request).apply(
            change.base_version, change.config, admin, change.comment
        )
    except VersionConflict as exc:
        raise VersionConflictError(str(exc), current=exc.current) from None
    return _json(ApplyResult(version=summary, plan=plan), status=201)


@endpoint(
    "GET",
    "/api/admin/versions",
    "Every version, newest first",
    response=VersionList,
    errors=(401, 403),
)
async def versions(request: web.Request) -> web.Response:
    """Who changed what, when, and what Asterisk answered."""
    await administrator(request)
    return _json(VersionList(versions=_service(request).history()))


@endpoint(
    "POST",
    "/api/admin/versions/{version}/rollback",
    "Return to an earlier version (as a new version)",
    body=RollbackRequest,
    response=ApplyResult,
    errors=(401, 403, 404, 409, 422),
    params=(Param("version", "path", "integer"),),
    status=201,
)
async def rollback(request: web.Request) -> web.Response:
    """Apply an earlier version's configuration again."""
    admin = await administrator(request)
    raw = request.match_info["version"]
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput("version must be a non-negative integer", field="version")
    body = await _body(request, RollbackRequest)
    try:
        summary, plan = await _service(request).rollback(
            int(raw), body.base_version, admin, body.comment
        )
    except UnknownVersion:
        raise NoSuchVersion(f"no version {raw}", version=int(raw)) from None
    except VersionConflict as exc:
        raise VersionConflictError(str(exc), current=exc.current) from None
    return _json(ApplyResult(version=summary, plan=plan), status=201)


@endpoint(
    "GET",
    "/api/admin/shifts",
    "Who is on duty at a moment (China time)",
    response=ShiftView,
    errors=(401, 403, 422),
    params=(Param("date", "query", "string", "date"), Param("at", "query", "string", "time")),
)
async def shifts(request: web.Request) -> web.Response:
    """The groups working on `date` at `at` (HH:MM), with their members."""
    await administrator(request)
    try:
        day = date.fromisoformat(request.query.get("date", ""))
    except ValueError:
        raise InvalidInput("date must be YYYY-MM-DD", field="date") from None
    if not 2000 <= day.year <= 2100:  # found by the fuzzer: year 1 or 9999 overflowed
        raise InvalidInput("date must be between 2000 and 2100", field="date")
    try:
        at = dtime.fromisoformat(request.query.get("at", "12:00"))
    except ValueError:
        raise InvalidInput("at must be HH:MM", field="at") from None
    moment = datetime.combine(day, at, tzinfo=CHINA)
    plan = _service(request).current.config.shifts
    groups: list[dict[str, object]] = [
        {
            "group": s.group,
            "duty": s.duty,
            "starts": s.starts.isoformat(),
            "ends": s.ends.isoformat(),
            "members": list(s.members),
        }
        for s in on_duty(plan, moment)
    ]
    return _json(ShiftView(at=moment, groups=groups))


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of the admin API, generated from the route declarations."""
    return web.json_response(document(ENDPOINTS), dumps=lambda d: json.dumps(d, ensure_ascii=False))


@routes.get("/admin")
async def admin_page(request: web.Request) -> web.FileResponse:
    """The administrators' page."""
    return web.FileResponse(STATIC_DIR / "admin.html")


async def _start_service(app: web.Application) -> None:
    # After the cleanup contexts: the duty service and the AMI client exist when the server
    # owns them; a test may have put its own AdminService first.
    if ADMIN not in app:
        app[ADMIN] = AdminService(
            app[SETTINGS],
            app[ACCOUNTS],
            duty=app.get(DUTY),
            sender=app.get(AMI),
        )


def setup(app: web.Application) -> None:
    """Add the admin API, its OpenAPI document and page to the web app."""
    app[ADMIN_SESSIONS] = AdminSessions()
    app.add_routes(routes)
    if STATIC_DIR.is_dir():
        app.router.add_static("/admin/static/", STATIC_DIR, append_version=False)
    app.on_startup.append(_start_service)
