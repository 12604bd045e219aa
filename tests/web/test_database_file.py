"""The SQLite database file and its journal files are made private before SQLite opens them."""

from __future__ import annotations

import stat
from pathlib import Path

from web.store.database_file import secure_sqlite_file, sqlite_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_file_of_a_url(tmp_path: Path) -> None:
    assert sqlite_file(f"sqlite+aiosqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("sqlite+aiosqlite://") is None
    assert sqlite_file("postgresql+asyncpg://u@/db?host=/run/pg") is None
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"x.db{suffix}").write_bytes(b"")
        (tmp_path / f"x.db{suffix}").chmod(0o644)
    secure_sqlite_file(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert [mode(tmp_path / f"x.db{s}") for s in ("", "-wal", "-shm")] == [0o600] * 3
