"""Fixtures of the room tests: a store with an event, four tickets and a live session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from room_testing import RoomSetup, make_setup


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[RoomSetup]:
    made = await make_setup(tmp_path)
    try:
        yield made
    finally:
        await made.store.close()
