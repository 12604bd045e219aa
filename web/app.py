"""The aiohttp application: server-wide resources, middlewares, routes, and the media plane's hook."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry

from web.access_log import AccessLogger
from web.config import Config, MiB
from web.data_dir import private_dir
from web.keys import (
    CLOCK_KEY,
    CONFIG_KEY,
    MEDIA_FILES_KEY,
    METRICS_REGISTRY_KEY,
    STORE_KEY,
    UPLOAD_WORKERS_KEY,
)
from web.media_files import MediaFiles
from web.middleware import RequestMetrics, close_after_timeout, error_middleware, security_headers
from web.pages import setup_metrics
from web.rooms import setup_rooms
from web.routes import add_routes
from web.store import Store
from web.store.recovery import SERVER_RESTART
from web.upload_workers import UploadWorkers

logger = logging.getLogger(__name__)


def create_app(config: Config) -> web.Application:
    registry = CollectorRegistry()
    metrics = RequestMetrics(registry)
    app = web.Application(
        middlewares=[close_after_timeout, metrics.middleware, security_headers, error_middleware],
        # Upload handlers enforce their own, smaller limits while streaming; this is the outer bound.
        client_max_size=max(config.max_image_bytes, config.max_video_bytes) + MiB,
    )
    app[CONFIG_KEY] = config
    app[CLOCK_KEY] = wall_clock
    app[METRICS_REGISTRY_KEY] = registry
    app[MEDIA_FILES_KEY] = MediaFiles(config.media_dir)
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_upload_workers_ctx)
    add_routes(app)
    setup_metrics(app)
    setup_rooms(app)
    return app


def wall_clock() -> datetime:
    return datetime.now(UTC)


def make_runner(app: web.Application, config: Config) -> web.AppRunner:
    """The runner the server listens with. aiohttp closes a connection whose next request head is not
    complete `keepalive_timeout` seconds after the connection opened or its previous response was sent: with
    `config.header_timeout` that is the header timeout (a client that sends its headers slowly, or nothing,
    is cut off) and how long an idle keep-alive connection is kept. Request bodies have their own timeout
    (web/body.py)."""
    return web.AppRunner(
        app,
        access_log_class=AccessLogger,
        access_log=logging.getLogger("speedmeet.access"),
        keepalive_timeout=config.header_timeout,
    )


def public_host_warning(config: Config) -> str | None:
    """Why the operator should set --public-host, when the server listens beyond loopback without it."""
    if config.public_host is not None or _is_loopback(config.host):
        return None
    return (
        f"listening on {config.host or 'every interface'} without --public-host: join links will follow "
        "each request's Host header, which clients choose. Set --public-host to the public URL, e.g. "
        "https://meet.example.org"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name, or "" for every interface


def _prepare_dirs(config: Config) -> None:
    private_dir(config.data_dir)
    private_dir(config.media_dir)


def announce_admin_token(config: Config, token: str) -> None:
    """Show a new admin token once. Printed, not logged: logs are often kept and shipped elsewhere."""
    if config.admin_token_file is not None:
        write_secret_file(config.admin_token_file, token)
    # With port 0 the real port is not known yet; the server prints its URL once it listens.
    admin_url = (
        f"{config.base_url(config.local_url())}/admin" if config.port or config.public_host else "/admin"
    )
    print(
        "\n".join(
            [
                "",
                "=" * 72,
                "New admin token (shown only this once; only its hash is stored):",
                f"    {token}",
                f"Admin page: {admin_url}",
                "Lost it? `speedmeet admin-token --reset` makes a new one.",
                "=" * 72,
                "",
            ]
        ),
        flush=True,
    )


def write_secret_file(path: Path, secret: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_TRUNC
        f.write(secret + "\n")


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG_KEY]
    files = app[MEDIA_FILES_KEY]
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _prepare_dirs, config)
    store = Store(config.database_url)
    try:
        await store.migrate()
        closed = await store.close_interrupted_meetings()
        if closed:
            logger.warning(
                "closed %d meeting(s) left running when the server last stopped (end reason %s)",
                closed,
                SERVER_RESTART,
            )
        token = await store.ensure_admin_token()
        if token is not None:
            announce_admin_token(config, token)
        keep = await store.all_asset_filenames()
        await loop.run_in_executor(None, files.sweep, keep)
        app[STORE_KEY] = store
        yield
    finally:
        await store.close()


async def _upload_workers_ctx(app: web.Application) -> AsyncIterator[None]:
    """The threads that decode and store uploads live as long as the app runs."""
    workers = UploadWorkers()
    app[UPLOAD_WORKERS_KEY] = workers
    try:
        yield
    finally:
        await asyncio.get_running_loop().run_in_executor(None, workers.close)
