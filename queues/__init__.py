"""Queues: the queue/language registry and who serves which queue (membership, pauses)."""

from queues.registry import QUEUES, QueueDef, language_of_queue, queue_for_language

__all__ = ["QUEUES", "QueueDef", "language_of_queue", "queue_for_language"]
