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
from cti.ami.trace import ClientAction, Segment, ServerBytes, load_trace, server_bytes, split_trace

__all__ = [
    "AMIAuthError",
    "AMIClient",
    "AMIConnectionLost",
    "AMIError",
    "AMIParser",
    "AMITimeout",
    "Action",
    "ClientAction",
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
    "Segment",
    "ServerBytes",
    "encode_action",
    "encode_greeting",
    "encode_headers",
    "load_trace",
    "parse_message",
    "server_bytes",
    "split_trace",
]
