"""Migrations from an empty database produce exactly the models' schema."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from web.store import Store, default_database_url
from web.store.models import Base
from web.store.store import MIGRATIONS_DIR


def _diff(conn: Connection) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(ctx, Base.metadata))


def _foreign_keys(conn: Connection) -> set[tuple[str, tuple[str, ...], str, str]]:
    insp = inspect(conn)
    out = set()
    for table in insp.get_table_names():
        for fk in insp.get_foreign_keys(table):
            ondelete = (fk.get("options") or {}).get("ondelete", "NO ACTION").upper()
            out.add((table, tuple(fk["constrained_columns"]), fk["referred_table"], ondelete))
    return out


def _model_foreign_keys() -> set[tuple[str, tuple[str, ...], str, str]]:
    out = set()
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            out.add(
                (
                    table.name,
                    tuple(c.name for c in fk.columns),
                    fk.referred_table.name,
                    (fk.ondelete or "NO ACTION").upper(),
                )
            )
    return out


def _head() -> str | None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_migrations_from_empty_match_the_models(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if database == "postgresql":
        url = await request.getfixturevalue("postgres_server").database()
    else:
        url = default_database_url(tmp_path)
    store = Store(url)
    try:
        await store.migrate()
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert await conn.run_sync(_foreign_keys) == _model_foreign_keys()
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
            assert version == _head()
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
        # Running again on an up-to-date database changes nothing.
        await store.migrate()
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await store.close()


async def test_the_comparison_would_notice_a_difference(tmp_path: Path) -> None:
    store = Store(default_database_url(tmp_path))
    try:
        await store.migrate()
        async with store.engine.begin() as conn:
            await conn.execute(text("DROP INDEX ix_meetings_session_id"))
        async with store.engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        assert [d[0] for d in diff] == ["add_index"]
    finally:
        await store.close()


async def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path: Path) -> None:
    store = Store(default_database_url(tmp_path))
    try:
        await store.migrate()
        async with store.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    finally:
        await store.close()


async def test_alembic_command_line_uses_the_same_scripts(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    env = {**os.environ, "SPEEDMEET_DATABASE_URL": url}
    ini = str(MIGRATIONS_DIR / "alembic.ini")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alembic", "-c", ini, "upgrade", "head", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    # Down to nothing and up again, through env.py's own-engine path (run in a thread: it owns a loop).
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.downgrade, cfg, "base")
    store = Store(url)
    try:
        async with store.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert tables == ["alembic_version"]
        await asyncio.to_thread(command.upgrade, cfg, "head")
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await store.close()
