"""Asterisk's configuration from one model: the model (`HotlineConfig`), the renderer and
the checker (`cti conf render`, `cti conf check`)."""

from cti.conf.check import Problem, check
from cti.conf.model import AgentOverride, HotlineConfig, QueueSkill
from cti.conf.render import PLACEHOLDER, RenderError, RenderOptions, render, seat_password, write

__all__ = [
    "PLACEHOLDER",
    "AgentOverride",
    "HotlineConfig",
    "Problem",
    "QueueSkill",
    "RenderError",
    "RenderOptions",
    "check",
    "render",
    "seat_password",
    "write",
]
