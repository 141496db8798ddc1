"""CTI server: AMI client, call/agent state, screen-pop server and bus."""

from cti.tasks import Changes, stop_task

__all__ = ["Changes", "stop_task"]
