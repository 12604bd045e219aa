"""The data folder and its files are private to the server's user: created so, and tightened on start."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.web.api_client import StartServer, image_bytes, make_demo, stop
from web.data_dir import private_dir, private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_dir_and_file_are_created_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        private_dir(tmp_path / "a" / "b")
        private_file(tmp_path / "a" / "b" / "f")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a" / "b") == 0o700
    assert mode(tmp_path / "a" / "b" / "f") == 0o600


def test_existing_ones_are_tightened(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir(mode=0o755)
    f = d / "f"
    f.write_text("secret")
    f.chmod(0o644)
    private_dir(d)
    private_file(f)
    assert (mode(d), mode(f)) == (0o700, 0o600)
    assert f.read_text() == "secret"  # never truncated


async def test_a_new_data_dir_is_private(start_server: StartServer, request: pytest.FixtureRequest) -> None:
    old = os.umask(0o022)  # the usual umask, which would give 0755 folders and 0644 files
    try:
        api = await start_server()
        demo = await make_demo(api)
        await api.ok(
            "POST", "/api/me/backgrounds", token=None, params={"t": demo.secret("Ada")}, data=image_bytes(),
            status=201,
        )  # fmt: skip
    finally:
        os.umask(old)
    data = api.data_dir
    assert mode(data) == 0o700
    assert mode(data / "media") == 0o700
    [upload] = list((data / "media").iterdir())
    assert mode(upload) == 0o600
    assert mode(data / "admin-token") == 0o600
    if "sqlite" in request.node.callspec.id:
        db = data / "speedmeet.db"
        assert mode(db) == 0o600
        assert (data / "speedmeet.db-wal").exists()  # journal files follow the database's mode
        assert mode(data / "speedmeet.db-wal") == 0o600
    await stop(api)


async def test_an_older_data_dir_is_tightened_on_start(start_server: StartServer, tmp_path: Path) -> None:
    first = await start_server()
    await stop(first)
    data = first.data_dir
    data.chmod(0o755)
    (data / "media").chmod(0o755)
    db = data / "speedmeet.db"
    if db.exists():
        db.chmod(0o644)
    await start_server(data)
    assert mode(data) == 0o700 and mode(data / "media") == 0o700
    if db.exists():
        assert mode(db) == 0o600
