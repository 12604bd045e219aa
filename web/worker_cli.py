"""The command line of `speedmeet worker` (a media worker, `sfu.worker`): flags, environment variables
and their defaults. `web.cli` registers it as a subcommand; local workers are started as
``python -m web.worker_cli``, which loads neither the store nor the web application."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sfu.bus import BusSettings, valid_worker_id
from sfu.public_address import valid_public_ip
from sfu.worker import DRAIN_SECONDS, WorkerOptions, default_worker_id
from wire.protocol import IceServer


class WorkerConfigError(ValueError):
    """A worker setting is malformed."""


def _env(name: str, env: Mapping[str, str]) -> str | None:
    return env.get(name) or None


def add_worker_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    """The worker's flags, each defaulting to its SPEEDMEET_* environment variable."""
    add_bus_arguments(p, env, required=True)
    _add_own_arguments(p, env)


def add_bus_arguments(p: argparse.ArgumentParser, env: Mapping[str, str], *, required: bool) -> None:
    """Where the NATS bus is and how to log in (the worker's and the control plane's flags)."""
    bus = p.add_argument_group("bus (NATS)")
    bus.add_argument(
        "--nats-url",
        default=_env("SPEEDMEET_NATS_URL", env),
        help="NATS server URL(s), comma-separated for a cluster: nats://host:4222 or tls://host:4222 "
        + (
            "(env SPEEDMEET_NATS_URL; required)"
            if required
            else "(env SPEEDMEET_NATS_URL; default: embedded)"
        ),
    )
    bus.add_argument("--nats-user", default=_env("SPEEDMEET_NATS_USER", env), help="env SPEEDMEET_NATS_USER")
    bus.add_argument(
        "--nats-password",
        default=_env("SPEEDMEET_NATS_PASSWORD", env),
        help="env SPEEDMEET_NATS_PASSWORD (prefer the variable: a flag shows in the process list)",
    )
    bus.add_argument(
        "--nats-token",
        default=_env("SPEEDMEET_NATS_TOKEN", env),
        help="instead of a user and password (env SPEEDMEET_NATS_TOKEN)",
    )
    bus.add_argument(
        "--nats-tls-ca",
        type=Path,
        default=_env("SPEEDMEET_NATS_TLS_CA", env),
        help="CA bundle of the servers' certificates (env SPEEDMEET_NATS_TLS_CA)",
    )
    bus.add_argument(
        "--nats-tls-cert",
        type=Path,
        default=_env("SPEEDMEET_NATS_TLS_CERT", env),
        help="client certificate, with --nats-tls-key (env SPEEDMEET_NATS_TLS_CERT)",
    )
    bus.add_argument(
        "--nats-tls-key",
        type=Path,
        default=_env("SPEEDMEET_NATS_TLS_KEY", env),
        help="env SPEEDMEET_NATS_TLS_KEY",
    )


def _add_own_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    p.add_argument(
        "--worker-id",
        default=_env("SPEEDMEET_WORKER_ID", env),
        help="unique name on the bus, 1-64 of A-Z a-z 0-9 _ - "
        "(env SPEEDMEET_WORKER_ID; default <host>-<pid>)",
    )
    p.add_argument(
        "--public-ip",
        default=_env("SPEEDMEET_PUBLIC_IP", env),
        help="the address browsers reach this machine on, when it sits behind a 1:1 NAT: announced as the "
        "address of its host candidates (env SPEEDMEET_PUBLIC_IP; default: its own addresses)",
    )
    p.add_argument(
        "--ice-server",
        action="append",
        default=None,
        metavar="URL_OR_JSON",
        help="STUN/TURN server for this worker's own candidates, repeatable, as for `serve` "
        "(env SPEEDMEET_ICE_SERVERS: a JSON list)",
    )
    p.add_argument(
        "--media-dir",
        type=Path,
        default=_env("SPEEDMEET_MEDIA_DIR", env),
        help="folder of the uploaded background images (the control plane's <data-dir>/media, shared) "
        "(env SPEEDMEET_MEDIA_DIR; default: image backgrounds unavailable)",
    )
    p.add_argument(
        "--effect-fps", type=int, default=None, help="as for `serve` (env SPEEDMEET_EFFECT_FPS; default all)"
    )
    p.add_argument(
        "--drain-seconds",
        type=float,
        default=None,
        help="on SIGTERM, longest wait for running meetings to end before exiting "
        f"(env SPEEDMEET_DRAIN_SECONDS; default {DRAIN_SECONDS:.0f})",
    )


def _number(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise WorkerConfigError(f"{name} must be a number, not {value!r}") from None


def _ice_servers(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[IceServer, ...]:
    listed = _env("SPEEDMEET_ICE_SERVERS", env)
    if args.ice_server is None and listed is None:
        return ()
    # The same parser as `serve` (imported only when needed: web.config loads the store).
    from web.config import ConfigError
    from web.config import IceServer as ConfigIceServer

    try:
        parsed = (
            [ConfigIceServer.parse(v) for v in args.ice_server]
            if args.ice_server is not None
            else ConfigIceServer.parse_list(listed or "[]")
        )
    except ConfigError as exc:
        raise WorkerConfigError(str(exc)) from None
    return tuple(IceServer(urls=list(s.urls), username=s.username, credential=s.credential) for s in parsed)


def bus_settings(args: argparse.Namespace) -> BusSettings | None:
    """The bus the flags name (None without --nats-url)."""
    if not args.nats_url:
        return None
    try:
        return BusSettings(
            servers=BusSettings.parse_servers(args.nats_url),
            user=args.nats_user,
            password=args.nats_password,
            token=args.nats_token,
            tls_ca=args.nats_tls_ca,
            tls_cert=args.nats_tls_cert,
            tls_key=args.nats_tls_key,
        )
    except ValueError as exc:
        raise WorkerConfigError(str(exc)) from None


def worker_options(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> WorkerOptions:
    """Flags win over environment variables, which win over defaults."""
    env = os.environ if env is None else env
    bus = bus_settings(args)
    if bus is None:
        raise WorkerConfigError("a worker needs the bus: give --nats-url or SPEEDMEET_NATS_URL")
    worker_id = args.worker_id or default_worker_id()
    if not valid_worker_id(worker_id):
        raise WorkerConfigError(f"worker id must be 1-64 of A-Z a-z 0-9 _ -, not {worker_id!r}")
    if args.public_ip is not None and not valid_public_ip(args.public_ip):
        raise WorkerConfigError(f"--public-ip must be an IP address, not {args.public_ip!r}")
    effect_fps = (
        args.effect_fps
        if args.effect_fps is not None
        else _number(_env("SPEEDMEET_EFFECT_FPS", env), "SPEEDMEET_EFFECT_FPS")
    )
    if effect_fps is not None and effect_fps != 0 and not 1 <= effect_fps <= 60:
        raise WorkerConfigError(f"effect fps must be between 1 and 60, got {effect_fps}")
    drain = args.drain_seconds
    if drain is None:
        drain = _number(_env("SPEEDMEET_DRAIN_SECONDS", env), "SPEEDMEET_DRAIN_SECONDS")
    if drain is not None and drain < 0:
        raise WorkerConfigError("the drain deadline cannot be negative")
    return WorkerOptions(
        bus=bus,
        worker_id=worker_id,
        public_ip=args.public_ip,
        ice_servers=_ice_servers(args, env),
        media_dir=args.media_dir,
        effect_fps=effect_fps or None,
        drain_seconds=DRAIN_SECONDS if drain is None else drain,
    )


def worker_command(args: argparse.Namespace) -> int:
    """The handler of `speedmeet worker`."""
    from sfu.worker import main

    try:
        options = worker_options(args)
    except WorkerConfigError as exc:
        print(f"speedmeet worker: error: {exc}", file=sys.stderr)
        return 2
    return main(options)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], env: Mapping[str, str]) -> None:
    p = sub.add_parser(
        "worker", help="run a media worker (peer connections, effects) for the control plane, over NATS"
    )
    add_worker_arguments(p, env)
    p.set_defaults(handler=worker_command)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m web.worker_cli``: `speedmeet worker` without the rest of the command."""
    parser = argparse.ArgumentParser(prog="speedmeet worker", description="A speedmeet media worker.")
    parser.add_argument(
        "--log-level",
        default=_env("SPEEDMEET_LOG_LEVEL", os.environ) or "INFO",
        help="env SPEEDMEET_LOG_LEVEL",
    )
    add_worker_arguments(parser, os.environ)
    args = parser.parse_args(argv)
    tag = f" [{args.worker_id}]".replace("%", "%%") if args.worker_id else ""
    logging.basicConfig(
        level=str(args.log_level).upper(), format=f"%(asctime)s %(levelname)s{tag} %(name)s: %(message)s"
    )
    return worker_command(args)


if __name__ == "__main__":
    sys.exit(main())
