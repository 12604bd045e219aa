"""Helpers shared by the sfu tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_until(predicate: Callable[[], bool], within: float = 2.0, what: str = "condition") -> None:
    """Poll `predicate` until it holds; fail the test after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.005)


async def eventually(
    fetch: Callable[[], Awaitable[T]],
    predicate: Callable[[T], bool],
    within: float = 5.0,
    what: str = "value",
) -> T:
    """Fetch until `predicate` holds (e.g. a database row written just after the message that told us)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await fetch()
        if predicate(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} not as expected within {within} s: {value!r}")
        await asyncio.sleep(0.02)
