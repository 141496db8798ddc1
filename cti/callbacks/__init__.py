"""Abandoned callers and callbacks: every abandoned call is listed (emergency, then registered
elderly with a promised deadline, then others); an agent claims one and the server places it
with one Originate of the agent's seat, then the number; the agent records the outcome."""

from cti.callbacks.models import OUTCOMES, Attempt, Callback
from cti.callbacks.numbers import dialable
from cti.callbacks.placing import AttemptWatch, originate_fields
from cti.callbacks.service import (
    CallbackError,
    CallbackNotFound,
    CallbackService,
    CannotPlace,
    NotYours,
    PlacementFailed,
    Seat,
)
from cti.callbacks.store import CallbackStore

__all__ = [
    "OUTCOMES",
    "Attempt",
    "AttemptWatch",
    "Callback",
    "CallbackError",
    "CallbackNotFound",
    "CallbackService",
    "CallbackStore",
    "CannotPlace",
    "NotYours",
    "PlacementFailed",
    "Seat",
    "dialable",
    "originate_fields",
]
