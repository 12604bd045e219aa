"""Typed keys for the server-wide resources kept on the aiohttp application."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry

from sfu.interface import MediaPlane
from web.config import Config
from web.media_files import MediaFiles
from web.process_metrics import ProcessMetrics
from web.room.registry import RoomRegistry
from web.room.settings import RoomSettings
from web.session_metrics import SessionMetrics
from web.store import Store
from web.upload_workers import UploadWorkers

Clock = Callable[[], datetime]

CONFIG_KEY = web.AppKey("config", Config)
# The time the API tells a session's status by (aware, UTC): the wall clock; tests set a fixed one.
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("clock")
STORE_KEY = web.AppKey("store", Store)
MEDIA_FILES_KEY = web.AppKey("media_files", MediaFiles)
METRICS_REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
# The media plane the rooms drive (see web.rooms), the rooms, and their tunables.
MEDIA_PLANE_KEY = web.AppKey("media_plane", MediaPlane)
ROOMS_KEY = web.AppKey("rooms", RoomRegistry)
ROOM_SETTINGS_KEY = web.AppKey("room_settings", RoomSettings)
# On the registry above, set by `web.pages.setup_metrics`.
SESSION_METRICS_KEY = web.AppKey("session_metrics", SessionMetrics)
PROCESS_METRICS_KEY = web.AppKey("process_metrics", ProcessMetrics)
# The threads that decode and store uploads (set by web.upload_workers.upload_workers_ctx while running).
UPLOAD_WORKERS_KEY = web.AppKey("upload_workers", UploadWorkers)
