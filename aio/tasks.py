"""Owned tasks: `cancel_and_wait` stops them, `logged_task` starts one whose crash is logged.

Every background task in the project is named, owned by the object that started it, and cancelled *and
awaited* by that object's `stop()`/`close()`: `cancel_and_wait` is that last step in one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

logger = logging.getLogger(__name__)


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel the tasks (None and finished ones are skipped) and wait until each has ended.

    Their results and exceptions are consumed, never raised. If the caller itself is cancelled while
    waiting, the tasks still end before the cancellation goes on, so nothing is left running."""
    pending = [t for t in tasks if t is not None]
    for task in pending:
        task.cancel()
    if not pending:
        return
    waiting = asyncio.gather(*pending, return_exceptions=True)
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        await waiting
        raise


@contextlib.contextmanager
def log_crash(log: logging.Logger, what: str, *args: object) -> Iterator[None]:
    """Log an exception raised in the block (with `what % args`) and go on; cancellation passes."""
    try:
        yield
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s failed", what % args if args else what)


def logged_task(
    coro: Coroutine[Any, Any, T], *, name: str, log: logging.Logger | None = None
) -> asyncio.Task[T | None]:
    """Start `coro` as a named task whose crash is logged (and the task then ends with None) instead of
    being kept as an exception that nobody reads. The caller owns the task: keep it, and stop it with
    `cancel_and_wait`."""
    task = asyncio.create_task(_logged(coro, name, log or logger), name=name)
    # Cancelled before it ever ran, the task never starts `coro`: close it, or Python warns that it was
    # never awaited (closing a coroutine that has finished does nothing).
    task.add_done_callback(lambda _: coro.close())
    return task


async def _logged(coro: Awaitable[T], name: str, log: logging.Logger) -> T | None:
    try:
        return await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("task %s crashed", name)
        return None


async def repeat(
    body: Callable[[], Awaitable[None]], interval: float, *, log: logging.Logger, what: str
) -> None:
    """Run `body` every `interval` seconds until cancelled; a failing round is logged and the loop goes
    on (the task body of periodic work: ticks, samplers, load reports)."""
    while True:
        with log_crash(log, what):
            await body()
        await asyncio.sleep(interval)
