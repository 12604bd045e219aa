"""The store's core: engine, transactions, migrations, the admin token."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection as SyncConnection
from sqlalchemy import delete, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from web.store import models as m
from web.store.database_file import secure_sqlite_file
from web.store.errors import Conflict, NotFound
from web.store.helpers import hash_token, utc_now
from web.store.inputs import AssetInput
from web.store.integrity import conflict_message
from web.store.interests import InterestStore
from web.store.moderation import ModerationStore
from web.store.notes import NoteStore
from web.store.recovery import close_interrupted_meetings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the writer.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def _run_upgrade(connection: SyncConnection) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def default_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'speedmeet.db').resolve()}"


class StoreCore:
    """The engine, its transactions, the schema's migrations and the admin token; the row look-ups the
    store's parts share."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._engine: AsyncEngine = create_async_engine(database_url)
        if self._engine.dialect.name == "sqlite":
            event.listen(self._engine.sync_engine, "connect", _set_sqlite_pragmas)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        self._closed = False
        self.interests = InterestStore(self._tx)
        self.notes = NoteStore(self._tx)
        self.moderation = ModerationStore(self._tx)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (alembic upgrade head). A SQLite file is made 0600
        first: it holds ticket secrets."""
        await asyncio.get_running_loop().run_in_executor(None, secure_sqlite_file, self._database_url)
        async with self._engine.begin() as conn:
            await conn.run_sync(_run_upgrade)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._engine.dispose()

    async def close_interrupted_meetings(self, now: datetime | None = None) -> int:
        """Close the meetings a stopped server left running (see `web.store.recovery`); call it on start,
        before any room runs. Returns how many were closed."""
        async with self._tx() as s:
            return await close_interrupted_meetings(s, now or utc_now())

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self._engine.connect() as conn:
            await conn.execute(select(1))

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back on any error."""
        try:
            async with self._sessions.begin() as s:
                yield s
                await s.flush()
        except IntegrityError as exc:
            # Explicit checks catch the common cases with a clearer message; this is the backstop
            # (e.g. two concurrent requests creating the same name), in the user's terms: no SQL.
            raise Conflict(conflict_message(exc)) from exc

    # ---- admin token -------------------------------------------------------------------------------------

    async def ensure_admin_token(self) -> str | None:
        """Create the admin token if there is none; returns it (the only time it is known), else None."""
        async with self._tx() as s:
            if await s.scalar(select(func.count()).select_from(m.AdminToken)):
                return None
            token = secrets.token_urlsafe(32)
            s.add(m.AdminToken(id=1, token_hash=hash_token(token), created_at=utc_now()))
            return token

    async def reset_admin_token(self) -> str:
        """Replace the admin token; the old one stops working at once."""
        token = secrets.token_urlsafe(32)
        async with self._tx() as s:
            await s.execute(delete(m.AdminToken))
            s.add(m.AdminToken(id=1, token_hash=hash_token(token), created_at=utc_now()))
        return token

    async def check_admin_token(self, token: str) -> bool:
        async with self._tx() as s:
            stored = await s.scalar(select(m.AdminToken.token_hash).where(m.AdminToken.id == 1))
        return stored is not None and hmac.compare_digest(stored, hash_token(token))

    # ---- row look-ups shared by the store's parts --------------------------------------------------------

    async def _event_row(self, s: AsyncSession, event_id: int) -> m.Event:
        row = await s.get(m.Event, event_id)
        if row is None:
            raise NotFound(f"event {event_id} not found")
        return row

    async def _event_days(self, s: AsyncSession, event_id: int) -> tuple[date, ...]:
        rows = await s.scalars(
            select(m.EventDay.day).where(m.EventDay.event_id == event_id).order_by(m.EventDay.day)
        )
        return tuple(rows)

    async def _type_ids_by_name(self, s: AsyncSession, event_id: int) -> dict[str, int]:
        rows = await s.execute(
            select(m.TicketType.name, m.TicketType.id).where(m.TicketType.event_id == event_id)
        )
        return {name: type_id for name, type_id in rows}

    @staticmethod
    def _asset_row(a: AssetInput) -> m.Asset:
        return m.Asset(
            event_id=a.event_id,
            ticket_id=a.ticket_id,
            purpose=a.purpose,
            kind=a.kind,
            content_type=a.content_type,
            filename=a.filename,
            size_bytes=a.size_bytes,
            width=a.width,
            height=a.height,
            created_at=utc_now(),
        )
