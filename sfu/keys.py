"""Typed application keys of the media plane."""

from __future__ import annotations

from aiohttp import web

from sfu.metrics import MediaMetrics
from sfu.registry import RoomRegistry
from sfu.settings import RoomSettings

MEDIA_METRICS_KEY = web.AppKey("sfu_media_metrics", MediaMetrics)
ROOMS_KEY = web.AppKey("sfu_rooms", RoomRegistry)
SETTINGS_KEY = web.AppKey("sfu_settings", RoomSettings)
