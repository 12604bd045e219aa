"""The `speedmeet` command: `serve`, `admin-token`, and subcommands other packages register."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from aiohttp import web

from web.access_log import AccessLogger
from web.app import create_app, write_secret_file
from web.config import Config, ConfigError, IceServer, MiB
from web.store import Store
from web.worker_cli import add_parser as add_worker_parser

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]

# Modules that may add a subcommand: each has `add_parser(subparsers)`, which registers a parser and sets
# `handler=<function(args) -> int>` on it with `set_defaults`. Listed modules that are not there are skipped.
OPTIONAL_SUBCOMMANDS = ("sfu.loadtest",)


def _env(name: str, env: Mapping[str, str]) -> str | None:
    value = env.get(name)
    return value if value else None


def _add_storage_options(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(_env("SPEEDMEET_DATA_DIR", env) or "data"),
        help="folder for the SQLite database and uploads (env SPEEDMEET_DATA_DIR; default ./data)",
    )
    p.add_argument(
        "--database-url",
        default=_env("SPEEDMEET_DATABASE_URL", env),
        help="SQLAlchemy async URL (env SPEEDMEET_DATABASE_URL; default sqlite+aiosqlite:///<data-dir>/speedmeet.db)",
    )


def _int_env(name: str, default: int, env: Mapping[str, str]) -> int:
    value = _env(name, env)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {value!r}") from None


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser], env: Mapping[str, str]) -> None:
    p = sub.add_parser("serve", help="run the server")
    p.add_argument("--host", default=_env("SPEEDMEET_HOST", env) or "127.0.0.1", help="env SPEEDMEET_HOST")
    p.add_argument("--port", type=int, default=None, help="env SPEEDMEET_PORT; default 8080")
    _add_storage_options(p, env)
    p.add_argument(
        "--ice-server",
        action="append",
        default=None,
        metavar="URL_OR_JSON",
        help='STUN/TURN server, repeatable: "stun:host:3478" or \'{"urls": "turn:host", "username": "u", '
        '"credential": "p"}\' (env SPEEDMEET_ICE_SERVERS: a JSON list; default none)',
    )
    p.add_argument(
        "--public-host",
        default=_env("SPEEDMEET_PUBLIC_HOST", env),
        help="base URL for join links, e.g. https://meet.example.org (env SPEEDMEET_PUBLIC_HOST)",
    )
    p.add_argument(
        "--admin-token-file",
        type=Path,
        default=_env("SPEEDMEET_ADMIN_TOKEN_FILE", env),
        help="also write a newly created admin token to this file (env SPEEDMEET_ADMIN_TOKEN_FILE)",
    )
    p.add_argument("--max-image-mb", type=int, default=None, help="env SPEEDMEET_MAX_IMAGE_MB; default 8")
    p.add_argument("--max-video-mb", type=int, default=None, help="env SPEEDMEET_MAX_VIDEO_MB; default 50")
    p.add_argument(
        "--max-image-pixels", type=int, default=None, help="env SPEEDMEET_MAX_IMAGE_PIXELS; default 25000000"
    )
    p.add_argument(
        "--effect-fps",
        type=int,
        default=None,
        help="most frames per second run through a background effect per attendee; fewer serve more "
        "attendees per core (env SPEEDMEET_EFFECT_FPS; default and 0: every frame)",
    )
    p.set_defaults(handler=_serve_command)


def _add_admin_token(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], env: Mapping[str, str]
) -> None:
    p = sub.add_parser("admin-token", help="make a new admin token (only its hash is stored)")
    _add_storage_options(p, env)
    p.add_argument("--reset", action="store_true", help="replace the admin token with a new one")
    p.add_argument("--output", type=Path, default=None, help="also write the new token to this file")
    p.set_defaults(handler=_admin_token_command)


def _add_optional_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name in OPTIONAL_SUBCOMMANDS:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            continue
        add_parser = getattr(importlib.import_module(name), "add_parser", None)
        if add_parser is not None:
            add_parser(sub)


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(
        prog="speedmeet", description="Self-hostable speed networking server for virtual events."
    )
    parser.add_argument(
        "--log-level", default=_env("SPEEDMEET_LOG_LEVEL", env) or "INFO", help="env SPEEDMEET_LOG_LEVEL"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(sub, env)
    add_worker_parser(sub, env)
    _add_admin_token(sub, env)
    _add_optional_subcommands(sub)
    return parser


def config_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Config:
    """Flags win over environment variables, which win over defaults."""
    env = os.environ if env is None else env
    port = args.port if args.port is not None else _int_env("SPEEDMEET_PORT", 8080, env)
    if args.ice_server is not None:
        ice = [IceServer.parse(v) for v in args.ice_server]
    else:
        ice = IceServer.parse_list(_env("SPEEDMEET_ICE_SERVERS", env) or "[]")
    image_mb = (
        args.max_image_mb if args.max_image_mb is not None else _int_env("SPEEDMEET_MAX_IMAGE_MB", 8, env)
    )
    video_mb = (
        args.max_video_mb if args.max_video_mb is not None else _int_env("SPEEDMEET_MAX_VIDEO_MB", 50, env)
    )
    effect_fps = args.effect_fps if args.effect_fps is not None else _int_env("SPEEDMEET_EFFECT_FPS", 0, env)
    pixels = (
        args.max_image_pixels
        if args.max_image_pixels is not None
        else _int_env("SPEEDMEET_MAX_IMAGE_PIXELS", 25_000_000, env)
    )
    return Config(
        host=args.host,
        port=port,
        data_dir=args.data_dir,
        database_url=args.database_url or "",
        ice_servers=ice,
        public_host=args.public_host,
        admin_token_file=Path(args.admin_token_file) if args.admin_token_file else None,
        max_image_bytes=image_mb * MiB,
        max_video_bytes=video_mb * MiB,
        max_image_pixels=pixels,
        effect_fps=effect_fps or None,
    )


async def serve(config: Config) -> None:
    """Run until SIGINT/SIGTERM, then shut down cleanly."""
    app = create_app(config)
    runner = web.AppRunner(
        app, access_log_class=AccessLogger, access_log=logging.getLogger("speedmeet.access")
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        # With --port 0 the system picks the port: show the one actually bound.
        ports = [a[1] for a in runner.addresses if isinstance(a, tuple) and len(a) >= 2]
        url = config.local_url(ports[0] if ports else None)
        print(f"speedmeet is running on {url}  (Ctrl+C to stop)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        print("stopping...", flush=True)
    finally:
        await runner.cleanup()


def _serve_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    asyncio.run(serve(config))
    return 0


async def _reset_admin_token(database_url: str) -> str:
    store = Store(database_url)
    try:
        await store.migrate()
        return await store.reset_admin_token()
    finally:
        await store.close()


def _admin_token_command(args: argparse.Namespace) -> int:
    if not args.reset:
        print(
            "The admin token is stored only as a hash and cannot be shown again.\n"
            "Run `speedmeet admin-token --reset` to replace it with a new one.",
            file=sys.stderr,
        )
        return 1
    config = Config(data_dir=args.data_dir, database_url=args.database_url or "")
    config.data_dir.mkdir(parents=True, exist_ok=True)
    token = asyncio.run(_reset_admin_token(config.database_url))
    if args.output is not None:
        write_secret_file(args.output, token)
    print(f"New admin token (the old one no longer works):\n    {token}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=str(args.log_level).upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
