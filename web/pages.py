"""The HTML pages, static files, uploaded media, health check and metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aio import LoopMonitor
from web.api_route import Handler
from web.errors import NotFound
from web.keys import (
    MEDIA_FILES_KEY,
    METRICS_REGISTRY_KEY,
    PROCESS_METRICS_KEY,
    SESSION_METRICS_KEY,
    STORE_KEY,
)
from web.media_files import MediaFiles
from web.middleware import PAGE_CSP
from web.process_metrics import ProcessMetrics
from web.schemas import HealthOut
from web.session_metrics import SessionMetrics

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

_PAGE_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP, "X-Frame-Options": "DENY"}
# Uploaded files are shown by our pages only: no sniffing, no scripts, never a download prompt.
_MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": "inline",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "public, max-age=86400",  # names are random and never reused
}
_FALLBACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>speedmeet</title></head>
<body><h1>speedmeet</h1><p>The {name} page is not installed on this server.</p></body></html>
"""


def page(filename: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = STATIC_DIR / filename
        if path.is_file():
            return web.FileResponse(path, headers=_PAGE_HEADERS)
        logger.warning("page %s is missing from %s", filename, STATIC_DIR)
        return web.Response(
            text=_FALLBACK_PAGE.format(name=filename.removesuffix(".html")),
            content_type="text/html",
            headers=_PAGE_HEADERS,
        )

    handler.__name__ = f"page_{filename.removesuffix('.html')}"
    return handler


async def media(request: web.Request) -> web.StreamResponse:
    name = request.match_info["filename"]
    files: MediaFiles = request.app[MEDIA_FILES_KEY]
    if not files.valid_name(name):
        raise NotFound("no such file")
    asset = await request.app[STORE_KEY].get_asset_by_filename(name)
    path = await asyncio.get_running_loop().run_in_executor(None, files.path, name)
    if asset is None or path is None:
        raise NotFound("no such file")
    return web.FileResponse(path, headers={**_MEDIA_HEADERS, "Content-Type": asset.content_type})


async def healthz(request: web.Request) -> web.Response:
    await request.app[STORE_KEY].ping()
    return web.Response(text=HealthOut(status="ok").model_dump_json(), content_type="application/json")


async def metrics(request: web.Request) -> web.Response:
    """`GET /metrics`: every metric on the app's registry, in the Prometheus text format."""
    body = generate_latest(request.app[METRICS_REGISTRY_KEY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/", page("index.html"), name="page_index")
    app.router.add_get("/admin", page("admin.html"), name="page_admin")
    app.router.add_get(r"/s/{session_id:\d+}", page("attendee.html"), name="page_attendee")
    if STATIC_DIR.is_dir():
        app.router.add_static("/static/", STATIC_DIR, name="static", follow_symlinks=False)
    else:
        logger.warning("no static folder at %s", STATIC_DIR)
    app.router.add_get("/media/{filename}", media, name="media")
    app.router.add_get("/healthz", healthz, name="healthz")


def setup_metrics(app: web.Application) -> SessionMetrics:
    """Give `app` its session and process metrics on its registry (`METRICS_REGISTRY_KEY`, where the HTTP
    request metrics are too, and the media plane adds its own), `GET /metrics` serving all of them, and
    the event-loop monitor for the app's lifetime. Call before the media plane's setup."""
    registry = app[METRICS_REGISTRY_KEY]
    session_metrics = SessionMetrics(registry)
    app[SESSION_METRICS_KEY] = session_metrics
    app[PROCESS_METRICS_KEY] = ProcessMetrics(registry)
    app.router.add_get("/metrics", metrics, name="metrics")
    app.cleanup_ctx.append(_loop_monitor_ctx)
    return session_metrics


async def _loop_monitor_ctx(app: web.Application) -> AsyncIterator[None]:
    monitor = LoopMonitor(app[PROCESS_METRICS_KEY].observe_loop, name="speedmeet-loop-lag")
    monitor.start()
    try:
        yield
    finally:
        await monitor.stop()
