"""AMI: the sans-IO protocol, trace reading, the asyncio client and the test peer."""

from cti.ami.client import (
    AMIAuthError,
    AMIClient,
    AMIConnectionLost,
    AMIError,
    AMITimeout,
    Resync,
)
from cti.ami.lists import ListCollector, ListCountMismatch, ListResult
from cti.ami.peer import ReplayPeer
from cti.ami.protocol import (
    Action,
    AMIParser,
    Event,
    Greeting,
    Header,
    LocalProtocolError,
    Message,
    ProtocolError,
    RemoteProtocolError,
    Response,
    encode_action,
    encode_greeting,
    encode_headers,
    parse_message,
)

__all__ = [
    "AMIAuthError",
    "AMIClient",
    "AMIConnectionLost",
    "AMIError",
    "AMIParser",
    "AMITimeout",
    "Action",
    "Event",
    "Greeting",
    "Header",
    "ListCollector",
    "ListCountMismatch",
    "ListResult",
    "LocalProtocolError",
    "Message",
    "ProtocolError",
    "RemoteProtocolError",
    "ReplayPeer",
    "Response",
    "Resync",
    "encode_action",
    "encode_greeting",
    "encode_headers",
    "parse_message",
]
