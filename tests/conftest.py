"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, settings

from tests.nats_fixture import nats_clients, nats_server, reports
from tests.web.postgres import postgres_server

__all__ = ["nats_clients", "nats_server", "no_leaked_tasks", "postgres_server", "reports"]

# The leak check below is function-scoped and autouse; it is per test, not per example, which is
# what hypothesis's health check would otherwise complain about.
settings.register_profile(
    "speedmeet", suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
settings.load_profile("speedmeet")


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running behind it: every task must be owned and awaited."""
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()
    pending = {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}
    if pending:
        # Tasks that are already unwinding get a moment to finish.
        await asyncio.wait(pending, timeout=1.0)
    leaked = [t for t in pending if not t.done()]
    if leaked:
        for t in leaked:
            t.cancel()
        await asyncio.gather(*leaked, return_exceptions=True)
        names = ", ".join(sorted(t.get_name() for t in leaked))
        pytest.fail(f"test leaked {len(leaked)} asyncio task(s): {names}")
