"""The control plane's live part wired into the application: the media plane it drives, the session
rooms, and the signalling WebSocket route.

The media plane runs in this process (`sfu.media_plane.LocalMediaPlane`, `Config.workers` 0) or in media
workers over NATS (`web.media_cluster.MediaCluster`: local worker processes on an embedded NATS server,
and any worker that joins the bus). The rooms see it only through the media interface
(`sfu.interface.MediaPlane`, docs/media.md), under `MEDIA_PLANE_KEY`.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from sfu.bus.connect import BusSettings, connect
from sfu.interface import MediaPlane
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
from web.media_cluster import MediaCluster
from web.nats_server import embedded_nats
from web.room.registry import RoomRegistry
from web.room.settings import RoomSettings
from web.signalling import WS_PATH, ws_handler
from web.workers import LocalWorkers, worker_command
from wire import protocol as p

logger = logging.getLogger(__name__)

# How long `serve` waits for its local workers' first reports before taking attendees anyway.
WORKERS_START_SECONDS = 30.0


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
    async with contextlib.AsyncExitStack() as stack:
        if config.workers == 0 and config.bus is None:
            app[MEDIA_PLANE_KEY] = await _local_plane(app, stack)
        else:
            app[MEDIA_PLANE_KEY] = await _workers_plane(app, stack)
        yield


async def _local_plane(app: web.Application, stack: contextlib.AsyncExitStack) -> MediaPlane:
    """The media plane in this process."""
    from sfu.media_plane import LocalMediaPlane  # aiortc is loaded only where media runs

    config = app[CONFIG_KEY]
    plane = LocalMediaPlane(
        ice_servers=ice_servers(app),
        effect_fps=config.effect_fps,
        image_path=app[MEDIA_FILES_KEY].path,
        preload_effects=config.preload_effects,
        metrics=MediaMetrics(app[METRICS_REGISTRY_KEY]),
    )
    await plane.start()
    stack.push_async_callback(plane.stop)
    return plane


async def _workers_plane(app: web.Application, stack: contextlib.AsyncExitStack) -> MediaPlane:
    """Media workers over NATS: the embedded server unless the configuration names one, and
    `config.workers` local worker processes (stopped before the bus goes)."""
    config = app[CONFIG_KEY]
    bus, env = config.bus, {}
    if bus is None:
        nats = await stack.enter_async_context(embedded_nats())
        credential = nats.credential
        bus = BusSettings(servers=(nats.url,), user=credential.user, password=credential.password)
        env = credential.env()
    else:
        env = bus.env()
    nc = await connect(bus)
    stack.push_async_callback(nc.close)
    cluster = MediaCluster(nc)
    await cluster.start()
    stack.push_async_callback(cluster.stop)
    if config.workers:
        args = ["--media-dir", str(config.media_dir)]
        if config.effect_fps is not None:
            args += ["--effect-fps", f"{config.effect_fps:g}"]
        for server in config.ice_servers:
            args += ["--ice-server", json.dumps(server.to_json())]
        workers = LocalWorkers(
            config.workers, worker_command(",".join(bus.servers), args, drain_seconds=0), env=env
        )
        await workers.start()
        stack.push_async_callback(workers.stop)
        if not await cluster.wait_for_workers(config.workers, WORKERS_START_SECONDS):
            logger.warning("not every local media worker reported within %.0f s", WORKERS_START_SECONDS)
    return cluster


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
