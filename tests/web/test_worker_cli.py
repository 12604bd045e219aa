"""`speedmeet worker`'s command line: flags over environment variables over defaults."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from sfu.worker import DRAIN_SECONDS
from web.cli import build_parser
from web.worker_cli import WorkerConfigError, add_worker_arguments, worker_command, worker_options
from wire.protocol import IceServer

ROOT = Path(__file__).resolve().parents[2]


def _parse(argv: list[str], env: dict[str, str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_worker_arguments(parser, env or {})
    return parser.parse_args(argv)


def test_flags_become_worker_options() -> None:
    args = _parse(
        [
            "--nats-url",
            "nats://a:4222, nats://b:4222",
            "--nats-user",
            "u",
            "--nats-password",
            "p",
            "--worker-id",
            "edge-1",
            "--public-ip",
            "203.0.113.5",
            "--ice-server",
            "stun:stun.example.org:3478",
            "--ice-server",
            '{"urls": "turn:turn.example.org", "username": "t", "credential": "c"}',
            "--media-dir",
            "/srv/speedmeet/media",
            "--effect-fps",
            "20",
            "--drain-seconds",
            "120",
        ]
    )
    options = worker_options(args, env={})
    assert options.bus.servers == ("nats://a:4222", "nats://b:4222")
    assert (options.bus.user, options.bus.password) == ("u", "p")
    assert (options.worker_id, options.public_ip) == ("edge-1", "203.0.113.5")
    assert options.ice_servers == (
        IceServer(urls=["stun:stun.example.org:3478"]),
        IceServer(urls=["turn:turn.example.org"], username="t", credential="c"),
    )
    assert options.media_dir == Path("/srv/speedmeet/media")
    assert (options.effect_fps, options.drain_seconds) == (20, 120)


def test_environment_variables_fill_in_and_flags_win() -> None:
    env = {
        "SPEEDMEET_NATS_URL": "tls://bus.example.org:4222",
        "SPEEDMEET_NATS_TOKEN": "tok",
        "SPEEDMEET_WORKER_ID": "from-env",
        "SPEEDMEET_PUBLIC_IP": "198.51.100.1",
        "SPEEDMEET_ICE_SERVERS": '["stun:s.example.org"]',
        "SPEEDMEET_EFFECT_FPS": "15",
        "SPEEDMEET_DRAIN_SECONDS": "30",
        "SPEEDMEET_NATS_TLS_CA": "/etc/ca.pem",
    }
    options = worker_options(_parse(["--worker-id", "from-flag"], env), env)
    assert options.bus.servers == ("tls://bus.example.org:4222",) and options.bus.token == "tok"
    assert options.bus.tls_ca == Path("/etc/ca.pem")
    assert options.worker_id == "from-flag" and options.public_ip == "198.51.100.1"
    assert options.ice_servers == (IceServer(urls=["stun:s.example.org"]),)
    assert (options.effect_fps, options.drain_seconds) == (15, 30)


def test_defaults() -> None:
    options = worker_options(_parse(["--nats-url", "nats://127.0.0.1:4222"]), env={})
    assert options.public_ip is None and options.ice_servers == () and options.media_dir is None
    assert options.effect_fps is None and options.drain_seconds == DRAIN_SECONDS
    assert options.bus.user is None and options.bus.token is None
    assert options.worker_id  # <host>-<pid>


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {}, "needs the bus"),
        (["--nats-url", "http://x"], {}, "not a NATS URL"),
        (["--nats-url", "nats://x", "--nats-user", "u"], {}, "needs a password"),
        (["--nats-url", "nats://x", "--worker-id", "a.b"], {}, "worker id"),
        (["--nats-url", "nats://x", "--public-ip", "example.org"], {}, "IP address"),
        (["--nats-url", "nats://x", "--effect-fps", "100"], {}, "between 1 and 60"),
        (["--nats-url", "nats://x"], {"SPEEDMEET_DRAIN_SECONDS": "soon"}, "must be a number"),
        (["--nats-url", "nats://x", "--ice-server", "http://stun"], {}, "STUN/TURN"),
        (["--nats-url", "nats://x"], {"SPEEDMEET_ICE_SERVERS": "[1"}, "not valid JSON"),
    ],
)
def test_bad_settings_are_explained(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(WorkerConfigError, match=message):
        worker_options(_parse(argv, env), env)


def test_a_bad_setting_exits_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert worker_command(_parse(["--nats-url", "nats://x", "--worker-id", "no spaces"])) == 2
    assert "worker id" in capsys.readouterr().err


def test_speedmeet_has_a_worker_command() -> None:
    args = build_parser(env={}).parse_args(["worker", "--nats-url", "nats://x:4222", "--worker-id", "w"])
    assert args.handler is worker_command
    assert worker_options(args, env={}).worker_id == "w"


def test_the_worker_command_line_loads_neither_the_store_nor_aiortc() -> None:
    code = (
        "import sys, web.worker_cli; "
        "loaded = {'sqlalchemy', 'aiortc', 'web.app', 'web.store'} & set(sys.modules); "
        "assert not loaded, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
