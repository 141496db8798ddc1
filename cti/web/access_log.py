"""An access log without query strings: the agent WebSocket carries its token in the query."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse


class AccessLogger(AbstractAccessLogger):
    """`remote "METHOD /path" status bytes seconds`, never `?token=…`."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """Write one line for a finished request."""
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote,
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
        )
