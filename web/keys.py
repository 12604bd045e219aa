"""Typed keys for the server-wide resources kept on the aiohttp application."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry

from web.config import Config
from web.media_files import MediaFiles
from web.store import Store


class LiveRooms(Protocol):
    """What the media plane offers the admin API about running sessions."""

    def live_summary(self, session_id: int) -> Mapping[str, Any] | None:
        """Live counts for a session's room as JSON-able values; None when no room runs for it."""
        ...


CONFIG_KEY = web.AppKey("config", Config)
STORE_KEY = web.AppKey("store", Store)
MEDIA_FILES_KEY = web.AppKey("media_files", MediaFiles)
METRICS_REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
# Set by the media plane (sfu.setup) when it runs; absent otherwise.
LIVE_ROOMS_KEY = web.AppKey("live_rooms", LiveRooms)
