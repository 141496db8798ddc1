"""The agent web side: login, the agent WebSocket, the agent page, health and metrics."""

from cti.web.app import WebServices, create_app
from cti.web.errors import APIError
from cti.web.keys import SocketLimits
from cti.web.ports import WrapupSink
from cti.web.wrapup import OUTCOMES

__all__ = ["OUTCOMES", "APIError", "SocketLimits", "WebServices", "WrapupSink", "create_app"]
