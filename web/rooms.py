"""The control plane's live part wired into the application: the media plane it drives, the session
rooms, and the signalling WebSocket route.

The media plane runs in this process (`sfu.media_plane.LocalMediaPlane`); the rooms see it only through
the media interface (`sfu.interface.MediaPlane`, docs/media.md), under `MEDIA_PLANE_KEY`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from sfu.media_plane import LocalMediaPlane
from sfu.metrics import MediaMetrics
from web.keys import (
    CONFIG_KEY,
    MEDIA_FILES_KEY,
    MEDIA_PLANE_KEY,
    METRICS_REGISTRY_KEY,
    ROOM_SETTINGS_KEY,
    ROOMS_KEY,
    SESSION_METRICS_KEY,
    STORE_KEY,
)
from web.room.registry import RoomRegistry
from web.room.settings import RoomSettings
from web.signalling import WS_PATH, ws_handler
from wire import protocol as p


def setup_rooms(app: web.Application, settings: RoomSettings | None = None) -> None:
    """Register the signalling route, the media plane and the rooms' lifecycle. Call after the store's
    cleanup context is registered (rooms stop before the media plane, and both before the store
    closes). `app[ROOM_SETTINGS_KEY]` may be replaced before the app starts (tests shorten timings)."""
    app[ROOM_SETTINGS_KEY] = settings or RoomSettings()
    app.router.add_get(WS_PATH, ws_handler, name="session_ws")
    app.cleanup_ctx.append(_media_ctx)
    app.cleanup_ctx.append(_rooms_ctx)
    # WebSockets are closed at shutdown, before aiohttp waits for open handlers to finish.
    app.on_shutdown.append(_close_rooms)


def ice_servers(app: web.Application) -> list[p.IceServer]:
    return [
        p.IceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in app[CONFIG_KEY].ice_servers
    ]


async def _media_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG_KEY]
    plane = LocalMediaPlane(
        ice_servers=ice_servers(app),
        effect_fps=config.effect_fps,
        image_path=app[MEDIA_FILES_KEY].path,
        preload_effects=config.preload_effects,
        metrics=MediaMetrics(app[METRICS_REGISTRY_KEY]),
    )
    await plane.start()
    app[MEDIA_PLANE_KEY] = plane
    try:
        yield
    finally:
        await plane.stop()


async def _rooms_ctx(app: web.Application) -> AsyncIterator[None]:
    registry = RoomRegistry(
        app[STORE_KEY],
        app[MEDIA_PLANE_KEY],
        ice_servers=ice_servers(app),
        settings=app[ROOM_SETTINGS_KEY],
        metrics=app[SESSION_METRICS_KEY],
    )
    app[SESSION_METRICS_KEY].count_attendees_in(registry.rooms)
    app[ROOMS_KEY] = registry
    try:
        yield
    finally:
        await registry.close()


async def _close_rooms(app: web.Application) -> None:
    registry = app.get(ROOMS_KEY)
    if registry is not None:
        await registry.close()
