"""The `speedmeet` command: `serve` and `admin-token` (the load tester is `speedmeet-loadtest`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from aiohttp import web

from web.app import create_app, make_runner, public_host_warning, write_secret_file
from web.config import DEFAULT_MAX_IMAGE_PIXELS, Config, ConfigError, IceServer, MiB
from web.data_dir import private_dir
from web.store import Store
from web.worker_cli import WorkerConfigError, add_bus_arguments, bus_settings
from web.worker_cli import add_parser as add_worker_parser
from web.workers import default_worker_count

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


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


def _float_env(name: str, default: float, env: Mapping[str, str]) -> float:
    value = _env(name, env)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {value!r}") from None


def _pick(flag: float | None, name: str, default: float, env: Mapping[str, str]) -> float:
    return flag if flag is not None else _float_env(name, default, env)


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
        "--max-image-pixels",
        type=int,
        default=None,
        help=f"largest image accepted, width x height (env SPEEDMEET_MAX_IMAGE_PIXELS; default "
        f"{DEFAULT_MAX_IMAGE_PIXELS}, 4096x4096)",
    )
    p.add_argument(
        "--max-uploads-per-ticket",
        type=int,
        default=None,
        help="most background images one attendee may upload (env SPEEDMEET_MAX_UPLOADS_PER_TICKET; "
        "default 20)",
    )
    p.add_argument(
        "--max-upload-mb-per-ticket",
        type=int,
        default=None,
        help="most megabytes one attendee's uploads may take in all (env SPEEDMEET_MAX_UPLOAD_MB_PER_TICKET; "
        "default 50)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=None,
        help="seconds a client has to send a request's headers, also how long an idle connection is kept "
        "(env SPEEDMEET_HEADER_TIMEOUT; default 20)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=None,
        help="seconds a client has to send a request body, plus one per 8 KiB received "
        "(env SPEEDMEET_BODY_TIMEOUT; default 30)",
    )
    p.add_argument(
        "--effect-fps",
        type=int,
        default=None,
        help="most frames per second run through a background effect per attendee; fewer serve more "
        "attendees per core (env SPEEDMEET_EFFECT_FPS; default and 0: every frame)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local media worker processes (env SPEEDMEET_WORKERS; default: one per CPU core, or none "
        "with --nats-url; 0: media in this process)",
    )
    add_bus_arguments(p, env, required=False)
    p.set_defaults(handler=_serve_command)


def _add_admin_token(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], env: Mapping[str, str]
) -> None:
    p = sub.add_parser("admin-token", help="make a new admin token (only its hash is stored)")
    _add_storage_options(p, env)
    p.add_argument("--reset", action="store_true", help="replace the admin token with a new one")
    p.add_argument("--output", type=Path, default=None, help="also write the new token to this file")
    p.set_defaults(handler=_admin_token_command)


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
        else _int_env("SPEEDMEET_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS, env)
    )
    uploads = (
        args.max_uploads_per_ticket
        if args.max_uploads_per_ticket is not None
        else _int_env("SPEEDMEET_MAX_UPLOADS_PER_TICKET", Config.max_uploads_per_ticket, env)
    )
    upload_mb = (
        args.max_upload_mb_per_ticket
        if args.max_upload_mb_per_ticket is not None
        else _int_env("SPEEDMEET_MAX_UPLOAD_MB_PER_TICKET", Config.max_upload_bytes_per_ticket // MiB, env)
    )
    try:
        bus = bus_settings(args)
    except WorkerConfigError as exc:
        raise ConfigError(str(exc)) from None
    default_workers = 0 if bus is not None else default_worker_count()
    workers = (
        args.workers if args.workers is not None else _int_env("SPEEDMEET_WORKERS", default_workers, env)
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
        max_uploads_per_ticket=uploads,
        max_upload_bytes_per_ticket=upload_mb * MiB,
        header_timeout=_pick(args.header_timeout, "SPEEDMEET_HEADER_TIMEOUT", Config.header_timeout, env),
        body_timeout=_pick(args.body_timeout, "SPEEDMEET_BODY_TIMEOUT", Config.body_timeout, env),
        effect_fps=effect_fps or None,
        workers=workers,
        bus=bus,
    )


async def serve(config: Config) -> None:
    """Run until SIGINT/SIGTERM, then shut down cleanly."""
    app = create_app(config)
    runner = make_runner(app, config)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        # With --port 0 the system picks the port: show the one actually bound.
        ports = [a[1] for a in runner.addresses if isinstance(a, tuple) and len(a) >= 2]
        url = config.local_url(ports[0] if ports else None)
        warning = public_host_warning(config)
        if warning is not None:
            logger.warning("%s", warning)
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
    private_dir(config.data_dir)
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
