"""Reading a request: the JSON body, string fields, the session token."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from cti.web.errors import BadRequest, InvalidToken
from cti.web.keys import SESSIONS
from cti.web.sessions import AgentSession

MAX_BODY = 16 * 1024


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; BadRequest when it is not one (or is too large)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BadRequest("body too large", limit=MAX_BODY)
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise BadRequest("body too large", limit=MAX_BODY)
    try:
        body = json.loads(raw)
    except RecursionError:
        raise BadRequest("body is nested too deeply", field="body") from None
    except ValueError:  # not UTF-8, not JSON, or an integer over Python's 4,300 digits
        raise BadRequest("body is not JSON", field="body") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object", field="body")
    return body


def _storable(value: str, name: str) -> str:
    # JSON's \ud800 escapes decode to lone surrogates, which no database driver (nor the
    # log file) can encode; PostgreSQL text cannot hold NUL. Refused here, by name, not
    # found out as a 500 further in.
    if "\x00" in value:
        raise BadRequest(f"`{name}` must not contain NUL", field=name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"`{name}` is not valid Unicode (lone surrogate)", field=name) from None
    return value


def text_field(body: dict[str, Any], name: str, *, max_len: int, required: bool = True) -> str:
    """A string field, stripped; BadRequest naming the field when missing, too long, or
    holding NUL or a lone surrogate."""
    value = body.get(name, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f"`{name}` must be a non-empty string", field=name)
    if len(value) > max_len:
        raise BadRequest(f"`{name}` is longer than {max_len}", field=name)
    return _storable(value, name).strip()


def path_field(request: web.Request, name: str, *, max_len: int) -> str:
    """A URL path parameter; BadRequest naming it when too long or holding NUL (`%00`) or
    a lone surrogate."""
    value = request.match_info[name]
    if not value or len(value) > max_len:
        raise BadRequest(f"`{name}` must be 1 to {max_len} characters", field=name)
    return _storable(value, name)


async def session_of(request: web.Request) -> AgentSession:
    """The caller's session from `Authorization: Bearer …`, or `?token=` on a GET (a
    browser's WebSocket cannot send headers); else InvalidToken. A `?token=` on any other
    method is a BadRequest: a URL ends up in logs and history, and a POST never needs it."""
    if request.method != "GET" and "token" in request.query:
        raise BadRequest("send the token in the Authorization header", field="token")
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else request.query.get("token")
    session = await request.app[SESSIONS].validate(token)
    if session is None:
        raise InvalidToken("log in again")
    return session
