"""Small asyncio helpers used across the project instead of hand-written copies: cancelling and awaiting
owned tasks, and task bodies that log a crash instead of losing it."""

from aio.tasks import cancel_and_wait, log_crash, logged_task, repeat

__all__ = ["cancel_and_wait", "log_crash", "logged_task", "repeat"]
