"""The `speedmeet` command: flags over environment over defaults, `serve` end to end, admin-token reset."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from web.cli import build_parser, config_from_args
from web.config import Config, ConfigError, IceServer
from web.store import Store, default_database_url
from web.workers import default_worker_count


def _config(argv: list[str], env: dict[str, str]) -> Config:
    args = build_parser(env).parse_args(argv)
    return config_from_args(args, env)


def test_defaults_env_and_flags() -> None:
    c = _config(["serve"], {})
    assert (c.host, c.port, c.data_dir, c.ice_servers, c.public_host) == (
        "127.0.0.1",
        8080,
        Path("data"),
        [],
        None,
    )
    env = {
        "SPEEDMEET_HOST": "0.0.0.0",
        "SPEEDMEET_PORT": "9000",
        "SPEEDMEET_DATA_DIR": "/srv/speedmeet",
        "SPEEDMEET_DATABASE_URL": "sqlite+aiosqlite:////tmp/other.db",
        "SPEEDMEET_ICE_SERVERS": '["stun:stun.example.org"]',
        "SPEEDMEET_PUBLIC_HOST": "meet.example.org",
        "SPEEDMEET_MAX_IMAGE_MB": "2",
    }
    c = _config(["serve"], env)
    assert (c.host, c.port, c.data_dir) == ("0.0.0.0", 9000, Path("/srv/speedmeet"))
    assert c.database_url == "sqlite+aiosqlite:////tmp/other.db"
    assert c.ice_servers == [IceServer(urls=("stun:stun.example.org",))]
    assert c.public_host == "https://meet.example.org"
    assert c.max_image_bytes == 2 * 1024 * 1024
    c = _config(
        [
            "serve",
            "--host", "::1", "--port", "8123", "--data-dir", "d",
            "--ice-server", "stun:a.org",
            "--ice-server", '{"urls": "turn:b.org", "username": "u", "credential": "p"}',
            "--max-video-mb", "5",
        ],
        env,
    )  # fmt: skip
    assert (c.host, c.port, c.data_dir) == ("::1", 8123, Path("d"))
    assert [s.urls for s in c.ice_servers] == [("stun:a.org",), ("turn:b.org",)]
    assert c.max_video_bytes == 5 * 1024 * 1024
    # The default database follows the data dir.
    assert c.database_url == "sqlite+aiosqlite:////tmp/other.db"
    c = _config(["serve", "--data-dir", "elsewhere"], {})
    assert c.database_url == default_database_url(Path("elsewhere"))


def test_bad_values_are_reported() -> None:
    with pytest.raises(ConfigError, match="SPEEDMEET_PORT"):
        _config(["serve"], {"SPEEDMEET_PORT": "eighty"})
    with pytest.raises(ConfigError):
        _config(["serve"], {"SPEEDMEET_ICE_SERVERS": "stun:x"})
    with pytest.raises(SystemExit):
        build_parser({}).parse_args(["serve", "--port", "x"])
    with pytest.raises(SystemExit):
        build_parser({}).parse_args([])


def test_the_server_command_has_only_its_own_subcommands() -> None:
    parser = build_parser({})
    sub = next(a for a in parser._actions if a.dest == "command")
    # The load tester is a client with its own command (`speedmeet-loadtest`), not a server subcommand.
    assert set(sub.choices or ()) == {"serve", "admin-token", "worker"}


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPEEDMEET_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.cli", *args, env=_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_serve_prints_token_and_url_then_stops_on_sigint(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.cli", "serve", "--port", "0", "--data-dir", str(data), env=_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    url = None
    try:
        async with asyncio.timeout(90):
            while url is None:
                line = (await proc.stdout.readline()).decode()
                assert line, "server exited early:\n" + "".join(lines)
                lines.append(line)
                m = re.search(r"running on (http://\S+)", line)
                url = m.group(1) if m else None
        output = "".join(lines)
        token = re.search(r"New admin token.*\n\s+(\S+)", output)
        assert token is not None, output
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/healthz") as r:
                assert r.status == 200
            async with http.get(
                url + "/api/admin/events", headers={"Authorization": f"Bearer {token.group(1)}"}
            ) as r:
                assert r.status == 200 and await r.json() == {"events": []}
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            rest, _ = await proc.communicate()
    assert proc.returncode == 0, "".join(lines) + rest.decode()
    assert "Traceback" not in rest.decode()

    # A new token replaces the old one.
    code, out = await _run(tmp_path, "admin-token", "--reset", "--data-dir", str(data))
    assert code == 0, out
    new = re.search(r"New admin token.*\n\s+(\S+)", out)
    assert new is not None
    store = Store(default_database_url(data))
    try:
        assert await store.check_admin_token(new.group(1))
        assert not await store.check_admin_token(token.group(1))
    finally:
        await store.close()
    code, out = await _run(tmp_path, "admin-token", "--data-dir", str(data))
    assert code == 1 and "--reset" in out


def test_effect_frame_rate_cap_from_flag_or_env() -> None:
    assert _config(["serve"], {}).effect_fps is None  # every frame
    assert _config(["serve"], {"SPEEDMEET_EFFECT_FPS": "20"}).effect_fps == 20
    assert _config(["serve", "--effect-fps", "15"], {"SPEEDMEET_EFFECT_FPS": "20"}).effect_fps == 15
    assert _config(["serve", "--effect-fps", "0"], {}).effect_fps is None
    with pytest.raises(ConfigError, match="effect fps must be between 1 and 60"):
        _config(["serve", "--effect-fps", "120"], {})
    with pytest.raises(ConfigError, match="SPEEDMEET_EFFECT_FPS"):
        _config(["serve"], {"SPEEDMEET_EFFECT_FPS": "fast"})


def test_upload_quotas_pixels_and_timeouts_from_flag_or_env() -> None:
    c = _config(["serve"], {})
    assert (c.max_uploads_per_ticket, c.max_upload_bytes_per_ticket, c.max_image_pixels) == (
        20,
        50 * 1024 * 1024,
        4096 * 4096,
    )
    assert (c.header_timeout, c.body_timeout) == (20.0, 30.0)
    env = {
        "SPEEDMEET_MAX_UPLOADS_PER_TICKET": "5",
        "SPEEDMEET_MAX_UPLOAD_MB_PER_TICKET": "12",
        "SPEEDMEET_HEADER_TIMEOUT": "7.5",
        "SPEEDMEET_BODY_TIMEOUT": "60",
    }
    c = _config(["serve"], env)
    assert (c.max_uploads_per_ticket, c.max_upload_bytes_per_ticket) == (5, 12 * 1024 * 1024)
    assert (c.header_timeout, c.body_timeout) == (7.5, 60.0)
    c = _config(
        ["serve", "--max-uploads-per-ticket", "3", "--max-upload-mb-per-ticket", "1", "--header-timeout", "2",
         "--body-timeout", "4"],
        env,
    )  # fmt: skip
    assert (c.max_uploads_per_ticket, c.max_upload_bytes_per_ticket) == (3, 1024 * 1024)
    assert (c.header_timeout, c.body_timeout) == (2.0, 4.0)
    with pytest.raises(ConfigError, match="SPEEDMEET_HEADER_TIMEOUT"):
        _config(["serve"], {"SPEEDMEET_HEADER_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="header_timeout must be positive"):
        _config(["serve", "--header-timeout", "0"], {})


def test_serve_uses_a_media_worker_per_core_unless_told_otherwise() -> None:
    parser = build_parser()
    assert config_from_args(parser.parse_args(["serve"]), {}).workers == default_worker_count()
    assert config_from_args(parser.parse_args(["serve", "--workers", "0"]), {}).workers == 0
    assert config_from_args(parser.parse_args(["serve"]), {"SPEEDMEET_WORKERS": "3"}).workers == 3
    remote = config_from_args(parser.parse_args(["serve", "--nats-url", "nats://127.0.0.1:4222"]), {})
    assert remote.workers == 0 and remote.bus is not None and remote.bus.servers == ("nats://127.0.0.1:4222",)
