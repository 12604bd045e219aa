"""A throwaway PostgreSQL server for the tests that run on both databases: `initdb` in a temporary
folder, a Unix socket only (no TCP port), one fresh database per test. Needs the PostgreSQL server
binaries (Debian's `postgresql` package; `make test` installs it) and asyncpg."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_USER = "postgres"  # PostgreSQL refuses to run as root; Debian's package creates this user
ROLE = "speedmeet"


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


class PostgresServer:
    """One cluster for the test run; `database()` makes a new, empty database and gives its URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="speedmeet-pg-"))
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.data = self.root / "data"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", ROLE, "-E", "UTF8")
        options = f"-k {self.root} -c listen_addresses= -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            _as_server_user([str(self.bindir / tool), *args]), check=True, capture_output=True, timeout=60
        )

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{ROLE}@/{database}?host={self.root}"

    async def database(self) -> str:
        import asyncpg

        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(user=ROLE, database="postgres", host=str(self.root))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (pg_ctl, initdb) are missing: apt-get install postgresql")
    pytest.importorskip("asyncpg", reason="asyncpg (the PostgreSQL driver) is not installed")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            pytest.skip(f"no {SERVER_USER!r} user to run PostgreSQL as (it refuses to run as root)")
    server = PostgresServer(bindir)
    try:
        yield server
    finally:
        server.stop()
