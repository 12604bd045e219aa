"""Small asyncio helpers used across the project instead of hand-written copies: cancelling and awaiting
owned tasks, task bodies that log a crash instead of losing it, and a monitor of the event loop's load."""

from aio.loop_monitor import LoopMonitor, LoopSample, LoopWindow
from aio.tasks import cancel_and_wait, log_crash, logged_task, repeat

__all__ = [
    "LoopMonitor",
    "LoopSample",
    "LoopWindow",
    "cancel_and_wait",
    "log_crash",
    "logged_task",
    "repeat",
]
