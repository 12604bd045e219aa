"""WebRTC media plane and WebSocket signalling: attendees' streams terminated with aiortc and forwarded
to their matched partner; `setup(app)` wires it into the aiohttp application."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from aiortc import RTCIceServer

from rtc import patches
from sfu.backgrounds import Backgrounds
from sfu.codecs import SERVER_CODECS
from sfu.keys import MEDIA_METRICS_KEY, ROOMS_KEY, SETTINGS_KEY
from sfu.metrics import MediaMetrics
from sfu.registry import RoomRegistry
from sfu.settings import RoomSettings
from sfu.signalling import ws_handler
from web.keys import (
    CONFIG_KEY,
    LIVE_ROOMS_KEY,
    MEDIA_FILES_KEY,
    METRICS_REGISTRY_KEY,
    SESSION_METRICS_KEY,
    STORE_KEY,
)

__all__ = ["ROOMS_KEY", "SETTINGS_KEY", "RoomRegistry", "RoomSettings", "setup"]

WS_PATH = "/api/sessions/{session_id}/ws"


def setup(app: web.Application, settings: RoomSettings | None = None) -> None:
    """Register the signalling route and the rooms' lifecycle. Call after the store's cleanup context
    and the app's metrics (`web.pages.setup_metrics`) are set up (rooms are stopped before the store
    closes). `app[SETTINGS_KEY]` may be replaced before the app starts (tests shorten timings)."""
    app[SETTINGS_KEY] = settings or RoomSettings(effect_fps=app[CONFIG_KEY].effect_fps)
    patches.install(patches.SPEEDUPS)
    # The codec wrappers also make relayed and encoded media follow one another cleanly (a keyframe
    # after relayed video, one clock for relayed and encoded audio), and VP8 is encoded with the server's
    # own settings: needed with or without metrics.
    codecs = patches.install(SERVER_CODECS)
    metrics = MediaMetrics(app[METRICS_REGISTRY_KEY])
    metrics.register_codecs(codecs)
    app[MEDIA_METRICS_KEY] = metrics
    app.router.add_get(WS_PATH, ws_handler, name="sfu_ws")
    app.cleanup_ctx.append(_rooms_ctx)
    # WebSockets are closed at shutdown, before aiohttp waits for open handlers to finish.
    app.on_shutdown.append(_close_rooms)


async def _rooms_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG_KEY]
    ice_servers = [
        RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in config.ice_servers
    ]
    backgrounds = Backgrounds(app[STORE_KEY], app[MEDIA_FILES_KEY].path)
    if config.preload_effects:
        backgrounds.start()
    registry = RoomRegistry(
        app[STORE_KEY],
        ice_servers=ice_servers,
        settings=app[SETTINGS_KEY],
        metrics=app[MEDIA_METRICS_KEY],
        session_metrics=app[SESSION_METRICS_KEY],
        backgrounds=backgrounds,
    )
    app[SESSION_METRICS_KEY].count_attendees_in(registry.rooms)
    app[ROOMS_KEY] = registry
    app[LIVE_ROOMS_KEY] = registry
    try:
        yield
    finally:
        await registry.close()
        await backgrounds.close()


async def _close_rooms(app: web.Application) -> None:
    registry = app.get(ROOMS_KEY)
    if registry is not None:
        await registry.close()
