"""Configuration values: ICE servers, defaults, public host."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.config import Config, ConfigError, IceServer


def test_defaults() -> None:
    c = Config()
    assert (c.host, c.port, c.data_dir) == ("127.0.0.1", 8080, Path("data"))
    assert c.database_url == f"sqlite+aiosqlite:///{Path('data/speedmeet.db').resolve()}"
    assert c.ice_servers == [] and c.public_host is None
    assert c.max_image_bytes == 8 * 1024 * 1024 and c.max_video_bytes == 50 * 1024 * 1024
    assert c.media_dir == Path("data/media")
    assert c.local_url() == "http://127.0.0.1:8080"
    assert Config(host="0.0.0.0").local_url() == "http://127.0.0.1:8080"
    assert Config(host="::1").local_url(9000) == "http://[::1]:9000"


def test_database_url_and_public_host() -> None:
    assert (
        Config(database_url="postgresql+asyncpg://db/speedmeet").database_url
        == "postgresql+asyncpg://db/speedmeet"
    )
    assert Config(public_host="meet.example.org").public_host == "https://meet.example.org"
    assert Config(public_host="http://10.0.0.5:8080/").public_host == "http://10.0.0.5:8080"
    assert Config(public_host="https://x.org").base_url("http://127.0.0.1:1") == "https://x.org"
    assert Config().base_url("http://127.0.0.1:1/") == "http://127.0.0.1:1"
    with pytest.raises(ConfigError):
        Config(public_host="ftp://x.org")
    with pytest.raises(ConfigError):
        Config(port=70000)
    with pytest.raises(ConfigError):
        Config(max_image_bytes=0)


def test_ice_servers_from_urls_and_json() -> None:
    assert IceServer.parse("stun:stun.example.org:3478") == IceServer(urls=("stun:stun.example.org:3478",))
    turn = IceServer.parse('{"urls": ["turn:t.example.org"], "username": "u", "credential": "p"}')
    assert turn == IceServer(urls=("turn:t.example.org",), username="u", credential="p")
    assert turn.to_json() == {"urls": ["turn:t.example.org"], "username": "u", "credential": "p"}
    listed = IceServer.parse_list(
        '["stun:a.org", {"urls": "turns:b.org:443", "username": "x", "credential": "y"}]'
    )
    assert [s.urls for s in listed] == [("stun:a.org",), ("turns:b.org:443",)]
    assert IceServer.parse_list("[]") == []
    for bad in (
        "http://a.org",
        '{"urls": 5}',
        "{not json",
        '{"urls": "stun:a", "username": 1}',
        '{"urls": []}',
    ):
        with pytest.raises(ConfigError):
            IceServer.parse(bad)
    for bad in ("{}", "not json", '["ftp:x"]'):
        with pytest.raises(ConfigError):
            IceServer.parse_list(bad)
