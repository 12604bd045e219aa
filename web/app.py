"""The aiohttp application: server-wide resources, middlewares, routes, and the media plane's hook."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry

from web.config import Config, MiB
from web.keys import CONFIG_KEY, MEDIA_FILES_KEY, METRICS_REGISTRY_KEY, STORE_KEY
from web.media_files import MediaFiles
from web.middleware import RequestMetrics, error_middleware, security_headers
from web.pages import add_metrics_route
from web.routes import add_routes
from web.store import Store
from web.store.recovery import SERVER_RESTART

logger = logging.getLogger(__name__)


def create_app(config: Config) -> web.Application:
    registry = CollectorRegistry()
    metrics = RequestMetrics(registry)
    app = web.Application(
        middlewares=[metrics.middleware, security_headers, error_middleware],
        # Upload handlers enforce their own, smaller limits while streaming; this is the outer bound.
        client_max_size=max(config.max_image_bytes, config.max_video_bytes) + MiB,
    )
    app[CONFIG_KEY] = config
    app[METRICS_REGISTRY_KEY] = registry
    app[MEDIA_FILES_KEY] = MediaFiles(config.media_dir)
    app.cleanup_ctx.append(_store_ctx)
    add_routes(app)
    _setup_media(app)
    add_metrics_route(app)
    return app


def _setup_media(app: web.Application) -> None:
    """Let the media plane (package `sfu`) add its routes and resources, if it provides `setup(app)`."""
    try:
        sfu = importlib.import_module("sfu")
    except ModuleNotFoundError as exc:
        if exc.name != "sfu":
            raise
        logger.warning("package sfu is not installed: no media plane")
        return
    setup = getattr(sfu, "setup", None)
    if setup is None:
        logger.warning("sfu.setup is missing: no media plane")
        return
    setup(app)


def _prepare_dirs(config: Config) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.media_dir.mkdir(parents=True, exist_ok=True)


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
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
