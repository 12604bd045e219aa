"""Migrations from an empty database produce exactly the models' schema."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
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


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_interests_and_notes_go_up_and_down_without_touching_older_data(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if database == "postgresql":
        url = await request.getfixturevalue("postgres_server").database()
    else:
        url = default_database_url(tmp_path)
    store = Store(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda c: _run(cfg, c, "upgrade", "0001"))
            await conn.execute(EVENT_ROW)
            await conn.execute(SESSION_ROW)
            for row in MEETING_ROWS:
                await conn.execute(row.bindparams(at=datetime(2030, 1, 1, tzinfo=UTC)))
        await store.migrate()
        async with store.engine.connect() as conn:
            # A session from before the switch weighs interests; its meeting is still there.
            row = (await conn.execute(text("SELECT title, interest_weighting FROM sessions"))).one()
            assert tuple(row) == ("S", True)
            assert (await conn.execute(text("SELECT count(*) FROM meetings"))).scalar_one() == 1
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda c: _run(cfg, c, "downgrade", "0001"))
        async with store.engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            assert not {"event_interests", "ticket_interests", "meeting_notes"} & tables
            assert (await conn.execute(text("SELECT title FROM sessions"))).scalar_one() == "S"
            assert (await conn.execute(text("SELECT count(*) FROM meetings"))).scalar_one() == 1
        await store.migrate()
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await store.close()


EVENT_ROW = text(
    "INSERT INTO events (id, name, timezone, created_at) VALUES (1, 'E', 'UTC', :at)"
).bindparams(at=datetime(2030, 1, 1, tzinfo=UTC))
SESSION_ROW = text(
    "INSERT INTO sessions (id, event_id, title, starts_at, ends_at, meeting_seconds, allow_rematch,"
    " rematch_cooldown_seconds, max_extensions, restrict_pairs, created_at)"
    " VALUES (1, 1, 'S', :at, :later, 60, false, 300, 1, false, :at)"
).bindparams(at=datetime(2030, 1, 1, tzinfo=UTC), later=datetime(2030, 1, 1, 1, tzinfo=UTC))
MEETING_ROWS = [
    text("INSERT INTO ticket_types (id, event_id, name, created_at) VALUES (1, 1, 'T', :at)"),
    text(
        "INSERT INTO tickets (id, event_id, ticket_type_id, name, email, secret, is_admin, created_at)"
        " VALUES (1, 1, 1, 'A', 'a@example.org', 's1', false, :at),"
        " (2, 1, 1, 'B', 'b@example.org', 's2', false, :at)"
    ),
    text(
        "INSERT INTO meetings (id, session_id, a_ticket_id, b_ticket_id, started_at, extensions,"
        " a_waited_seconds, b_waited_seconds) VALUES (1, 1, 1, 2, :at, 0, 0, 0)"
    ),
]


def _run(cfg: AlembicConfig, connection: Connection, action: str, revision: str) -> None:
    cfg.attributes["connection"] = connection
    getattr(command, action)(cfg, revision)
