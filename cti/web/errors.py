"""Typed HTTP errors with a stable error id, turned into JSON in one middleware."""

from __future__ import annotations

import logging
import math
from typing import Any, ClassVar

from aiohttp import web
from aiohttp.typedefs import Handler
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from cti import cluster

log = logging.getLogger(__name__)


class APIError(Exception):
    """An error a client may act on: an HTTP status and a stable `error` id."""

    status: ClassVar[int] = 500
    error_id: ClassVar[str] = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        """The JSON body: `{"error": id, "message": text, "details": {...}}`."""
        return {"error": self.error_id, "message": self.message, "details": self.details}

    def headers(self) -> dict[str, str]:
        """Extra response headers (none by default)."""
        return {}


class BadRequest(APIError):
    """The request body or a parameter is malformed."""

    status = 400
    error_id = "bad_request"


class InvalidCredentials(APIError):
    """Unknown agent or wrong password (deliberately not told apart)."""

    status = 401
    error_id = "invalid_credentials"


class InvalidToken(APIError):
    """The session token is missing, unknown, expired or was ended by a newer login."""

    status = 401
    error_id = "invalid_token"


class UnknownCall(APIError):
    """The call does not exist or was not this agent's."""

    status = 404
    error_id = "unknown_call"


class AccountEnded(APIError):
    """The password matched, but the account's last day is over (a guest expert's end date)."""

    status = 403
    error_id = "account_ended"


class WrapupRejected(APIError):
    """The state service refused the wrap-up (e.g. the call is not completed yet)."""

    status = 409
    error_id = "wrapup_rejected"


class NotOnDuty(APIError):
    """The agent has no seat in the duty service (logged out, or displaced)."""

    status = 409
    error_id = "not_on_duty"


class _RetryLater(APIError):
    """An error that says when to try again (`Retry-After`, whole seconds)."""

    def __init__(self, message: str, retry_after_s: float, **details: Any) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(message, retry_after_s=self.retry_after_s, **details)

    def headers(self) -> dict[str, str]:
        """`Retry-After` in whole seconds."""
        return {"Retry-After": str(self.retry_after_s)}


class StoreUnavailable(_RetryLater):
    """Redis or the database did not answer this request: retry after `Retry-After`."""

    status = 503
    error_id = "store_unavailable"


class NoActingNode(_RetryLater):
    """No CTI node drives the agents' duty now (a failover, about 3 s): retry after
    `Retry-After`; nothing of the request was carried out."""

    status = 503
    error_id = "no_acting_node"


class TooManyAttempts(_RetryLater):
    """Too many failed logins for this agent or from this address: wait `Retry-After`."""

    status = 429
    error_id = "too_many_attempts"


class TooManySockets(_RetryLater):
    """The agent already holds as many sockets as one agent may."""

    status = 429
    error_id = "too_many_sockets"


class LoginBusy(_RetryLater):
    """So many password checks are waiting that this one would wait too long."""

    status = 503
    error_id = "login_busy"


class ServiceUnavailable(APIError):
    """A collaborator the request needs is not running."""

    status = 503
    error_id = "service_unavailable"


def _http_error_id(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        status, f"http_{status}"
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON with a stable id; nothing unexpected leaks a traceback."""
    try:
        return await handler(request)
    except APIError as exc:
        return web.json_response(exc.body(), status=exc.status, headers=exc.headers())
    except cluster.NoActingNode as exc:
        log.warning("no acting node on %s %s: %s", request.method, request.path, exc)
        failover = NoActingNode(str(exc), exc.retry_after_s)
        return web.json_response(
            failover.body(), status=failover.status, headers=failover.headers()
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"error": _http_error_id(exc.status), "message": exc.reason, "details": {}}
        return web.json_response(body, status=exc.status, headers=_kept_headers(exc))
    except (RedisError, SQLAlchemyError, OSError) as exc:
        # A store the request needs is down (Redis restarting, the database gone): say so
        # and when to retry; it is not a bug of this request.
        log.warning(
            "store unavailable on %s %s: %s", request.method, request.path, type(exc).__name__
        )
        unavailable = StoreUnavailable("a store the server needs is unreachable; retry", 2)
        return web.json_response(
            unavailable.body(), status=unavailable.status, headers=unavailable.headers()
        )
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response(APIError("internal error").body(), status=500)


def _kept_headers(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}
