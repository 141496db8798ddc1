"""AMI: the sans-IO protocol, trace reading, the asyncio client and the test peer."""

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
    "AMIParser",
    "Action",
    "Event",
    "Greeting",
    "Header",
    "LocalProtocolError",
    "Message",
    "ProtocolError",
    "RemoteProtocolError",
    "Response",
    "encode_action",
    "encode_greeting",
    "encode_headers",
    "parse_message",
]
