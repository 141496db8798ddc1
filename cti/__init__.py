"""CTI server: AMI client, call/agent state, screen-pop server and bus."""

from cti.tasks import stop_task

__all__ = ["stop_task"]
