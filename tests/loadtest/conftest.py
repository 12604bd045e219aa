"""Fixtures for the load tester's tests: a small pre-encoded clip, and a real server with synthetic peers
on it for the peer's own tests (`server`, `peers` and `clock`, shared with the sfu tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from loadtest.clip import EncodedClip

# The sfu tests' helpers are imported by module name (`from sfu_server import ...`), with tests/sfu on
# sys.path as pytest's import mode puts it for the tests there; the same here, so that both share them.
_SFU_TESTS = str(Path(__file__).resolve().parent.parent / "sfu")
if _SFU_TESTS not in sys.path:
    sys.path.insert(0, _SFU_TESTS)

from tests.sfu.conftest import clock, peers, server  # noqa: E402

__all__ = ["clip", "clock", "peers", "server"]


@pytest.fixture(scope="session")
def clip() -> EncodedClip:
    """12 frames at 320x240, a keyframe every 6."""
    return EncodedClip.encode(12, width=320, height=240, fps=30.0, bitrate=300_000, keyframe_interval=6)
