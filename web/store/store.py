"""The SQL store: every read and write of the product's data, one transaction per method."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection as SyncConnection
from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import aliased

from web.store import models as m
from web.store.database_file import secure_sqlite_file
from web.store.errors import Conflict, InvalidData, NotAllowed, NotFound
from web.store.history import (
    BlockMade,
    ConnectionSet,
    HistoryRow,
    MeetingEnded,
    MeetingStarted,
    ReportMade,
    write_history,
)
from web.store.inputs import AssetInput, EventInput, SessionInput, TicketInput, UploadQuota
from web.store.integrity import conflict_message
from web.store.interests import InterestStore, replace_ticket_interests
from web.store.moderation import ModerationStore
from web.store.notes import NoteStore
from web.store.records import (
    AssetRecord,
    ConnectionRecord,
    ConnectionView,
    EventRecord,
    MatchView,
    MeetingRecord,
    SessionRecord,
    SessionSummary,
    TicketRecord,
    TicketTypeRecord,
)
from web.store.recovery import SERVER_RESTART, close_interrupted_meetings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# Domain bounds, shared with the API schemas.
MEETING_SECONDS_MIN = 60
MEETING_SECONDS_MAX = 3600
MAX_EXTENSIONS_MAX = 10
COOLDOWN_SECONDS_MAX = 7 * 24 * 3600
MAX_EVENT_DAYS = 366
MAX_SESSION_DURATION = timedelta(days=7)


def hash_token(token: str) -> str:
    """SHA-256 is enough here: tokens are long random strings, not passwords."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_ticket_secret() -> str:
    return secrets.token_urlsafe(24)


# What new_ticket_secret() makes, up to the column's length.
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    """Rows not yet reloaded from the database still hold the caller's zone; records are always UTC."""
    return value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidData(f"unknown time zone {name!r}") from exc


def _check_event(data: EventInput) -> None:
    if not data.name.strip():
        raise InvalidData("event name must not be empty")
    _zone(data.timezone)
    if not data.days:
        raise InvalidData("an event needs at least one day")
    if len(data.days) > MAX_EVENT_DAYS:
        raise InvalidData(f"an event has at most {MAX_EVENT_DAYS} days")


def _session_local_days(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> list[date]:
    """Every local calendar day the session touches; the end instant itself belongs to the previous one."""
    first = starts_at.astimezone(zone).date()
    last = (ends_at - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _check_session_times(starts_at: datetime, ends_at: datetime, timezone: str, days: Iterable[date]) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidData("starts_at and ends_at must carry a time zone")
    if ends_at <= starts_at:
        raise InvalidData("ends_at must be after starts_at")
    if ends_at - starts_at > MAX_SESSION_DURATION:
        raise InvalidData(f"a session lasts at most {MAX_SESSION_DURATION.days} days")
    zone = _zone(timezone)
    allowed = set(days)
    try:
        off = [d for d in _session_local_days(starts_at, ends_at, zone) if d not in allowed]
    except OverflowError as exc:
        raise InvalidData("starts_at or ends_at is out of range") from exc
    if off:
        listed = ", ".join(d.isoformat() for d in off[:5]) + (", ..." if len(off) > 5 else "")
        raise InvalidData(
            f"the session must fall on the event's days ({timezone}); not an event day: {listed}"
        )


def _check_session(data: SessionInput, timezone: str, days: Iterable[date]) -> None:
    if not data.title.strip():
        raise InvalidData("session title must not be empty")
    _check_session_times(data.starts_at, data.ends_at, timezone, days)
    if not MEETING_SECONDS_MIN <= data.meeting_seconds <= MEETING_SECONDS_MAX:
        raise InvalidData(f"meeting_seconds must be between {MEETING_SECONDS_MIN} and {MEETING_SECONDS_MAX}")
    if not 0 <= data.max_extensions <= MAX_EXTENSIONS_MAX:
        raise InvalidData(f"max_extensions must be between 0 and {MAX_EXTENSIONS_MAX}")
    if not 0 <= data.rematch_cooldown_seconds <= COOLDOWN_SECONDS_MAX:
        raise InvalidData(f"rematch_cooldown_seconds must be between 0 and {COOLDOWN_SECONDS_MAX}")
    if data.allowed_pairs is not None and not data.allowed_pairs:
        raise InvalidData("allowed_pairs must name at least one pair (null lets everyone meet everyone)")


def _check_quota(quota: UploadQuota, count: int, used: int, adding: int) -> None:
    if count >= quota.max_files:
        raise Conflict(f"at most {quota.max_files} uploads per ticket: delete one first")
    if used >= quota.max_bytes:
        raise Conflict(f"your uploads already take the {_mb(quota.max_bytes)} allowed: delete one first")
    if used + adding > quota.max_bytes:
        raise Conflict(
            f"your uploads may take {_mb(quota.max_bytes)} in all, and with this one they would take "
            f"{_mb(used + adding)}: delete one first"
        )


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _asset_record(a: m.Asset) -> AssetRecord:
    return AssetRecord(
        id=a.id,
        event_id=a.event_id,
        ticket_id=a.ticket_id,
        purpose=a.purpose,
        kind=a.kind,
        content_type=a.content_type,
        filename=a.filename,
        size_bytes=a.size_bytes,
        width=a.width,
        height=a.height,
        created_at=a.created_at,
    )


def _meeting_record(x: m.Meeting) -> MeetingRecord:
    return MeetingRecord(
        id=x.id,
        session_id=x.session_id,
        a_ticket_id=x.a_ticket_id,
        b_ticket_id=x.b_ticket_id,
        started_at=_utc(x.started_at),
        ended_at=_utc_or_none(x.ended_at),
        extensions=x.extensions,
        end_reason=x.end_reason,
        a_waited_seconds=x.a_waited_seconds,
        b_waited_seconds=x.b_waited_seconds,
    )


def _connection_record(c: m.Connection) -> ConnectionRecord:
    return ConnectionRecord(
        id=c.id,
        event_id=c.event_id,
        a_ticket_id=c.a_ticket_id,
        b_ticket_id=c.b_ticket_id,
        requested_by=c.requested_by,
        state=c.state,
        requested_at=_utc(c.requested_at),
        accepted_at=_utc_or_none(c.accepted_at),
    )


def _ticket_record(t: m.Ticket, type_name: str) -> TicketRecord:
    return TicketRecord(
        id=t.id,
        event_id=t.event_id,
        name=t.name,
        email=t.email,
        headline=t.headline,
        company=t.company,
        ticket_type_id=t.ticket_type_id,
        ticket_type=type_name,
        is_admin=t.is_admin,
        secret=t.secret,
        created_at=t.created_at,
    )


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


class Store:
    """Async access to the database. `await close()` when done (safe to call twice)."""

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
            return await close_interrupted_meetings(s, now or _now())

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
            s.add(m.AdminToken(id=1, token_hash=hash_token(token), created_at=_now()))
            return token

    async def reset_admin_token(self) -> str:
        """Replace the admin token; the old one stops working at once."""
        token = secrets.token_urlsafe(32)
        async with self._tx() as s:
            await s.execute(delete(m.AdminToken))
            s.add(m.AdminToken(id=1, token_hash=hash_token(token), created_at=_now()))
        return token

    async def check_admin_token(self, token: str) -> bool:
        async with self._tx() as s:
            stored = await s.scalar(select(m.AdminToken.token_hash).where(m.AdminToken.id == 1))
        return stored is not None and hmac.compare_digest(stored, hash_token(token))

    # ---- events ------------------------------------------------------------------------------------------

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

    async def _event_record(self, s: AsyncSession, row: m.Event) -> EventRecord:
        days = await self._event_days(s, row.id)
        return EventRecord(row.id, row.name, row.timezone, days, row.created_at)

    async def _check_event_name_free(self, s: AsyncSession, name: str, event_id: int | None) -> None:
        q = select(m.Event.id).where(m.Event.name == name)
        if event_id is not None:
            q = q.where(m.Event.id != event_id)
        if await s.scalar(q) is not None:
            raise Conflict(f"an event named {name!r} already exists")

    async def create_event(self, data: EventInput) -> EventRecord:
        _check_event(data)
        async with self._tx() as s:
            await self._check_event_name_free(s, data.name, None)
            row = m.Event(name=data.name, timezone=data.timezone, created_at=_now())
            s.add(row)
            await s.flush()
            s.add_all(m.EventDay(event_id=row.id, day=d) for d in sorted(set(data.days)))
            await s.flush()
            return await self._event_record(s, row)

    async def get_event(self, event_id: int) -> EventRecord | None:
        async with self._tx() as s:
            row = await s.get(m.Event, event_id)
            return None if row is None else await self._event_record(s, row)

    async def list_events(self) -> list[EventRecord]:
        async with self._tx() as s:
            rows = (await s.scalars(select(m.Event).order_by(m.Event.id))).all()
            days: dict[int, list[date]] = {r.id: [] for r in rows}
            for event_id, day in await s.execute(
                select(m.EventDay.event_id, m.EventDay.day).order_by(m.EventDay.day)
            ):
                days.setdefault(event_id, []).append(day)
            return [EventRecord(r.id, r.name, r.timezone, tuple(days[r.id]), r.created_at) for r in rows]

    async def update_event(self, event_id: int, data: EventInput) -> EventRecord:
        """Replace an event's fields; refused if its sessions would no longer fall on its days."""
        _check_event(data)
        async with self._tx() as s:
            row = await self._event_row(s, event_id)
            await self._check_event_name_free(s, data.name, event_id)
            new_days = sorted(set(data.days))
            sessions = (await s.scalars(select(m.Session).where(m.Session.event_id == event_id))).all()
            for sess in sessions:
                try:
                    _check_session_times(sess.starts_at, sess.ends_at, data.timezone, new_days)
                except InvalidData as exc:
                    raise Conflict(f"session {sess.id} ({sess.title!r}) would no longer fit: {exc}") from exc
            row.name = data.name
            row.timezone = data.timezone
            await s.execute(delete(m.EventDay).where(m.EventDay.event_id == event_id))
            s.add_all(m.EventDay(event_id=event_id, day=d) for d in new_days)
            await s.flush()
            return await self._event_record(s, row)

    async def delete_event(self, event_id: int) -> list[str]:
        """Delete an event and everything in it; returns the file names of its assets to remove."""
        async with self._tx() as s:
            row = await self._event_row(s, event_id)
            files = list(await s.scalars(select(m.Asset.filename).where(m.Asset.event_id == event_id)))
            # Tickets hold a RESTRICT key to ticket types: remove them first, the rest cascades.
            await s.execute(delete(m.Session).where(m.Session.event_id == event_id))
            await s.execute(delete(m.Ticket).where(m.Ticket.event_id == event_id))
            await s.delete(row)
            return files

    # ---- ticket types ------------------------------------------------------------------------------------

    async def _ticket_type_row(self, s: AsyncSession, type_id: int) -> m.TicketType:
        row = await s.get(m.TicketType, type_id)
        if row is None:
            raise NotFound(f"ticket type {type_id} not found")
        return row

    async def _ticket_type_record(self, s: AsyncSession, row: m.TicketType) -> TicketTypeRecord:
        count = await s.scalar(
            select(func.count()).select_from(m.Ticket).where(m.Ticket.ticket_type_id == row.id)
        )
        return TicketTypeRecord(row.id, row.event_id, row.name, int(count or 0), row.created_at)

    async def _check_type_name_free(
        self, s: AsyncSession, event_id: int, name: str, type_id: int | None
    ) -> None:
        q = select(m.TicketType.id).where(m.TicketType.event_id == event_id, m.TicketType.name == name)
        if type_id is not None:
            q = q.where(m.TicketType.id != type_id)
        if await s.scalar(q) is not None:
            raise Conflict(f"the event already has a ticket type named {name!r}")

    async def create_ticket_type(self, event_id: int, name: str) -> TicketTypeRecord:
        if not name.strip():
            raise InvalidData("ticket type name must not be empty")
        async with self._tx() as s:
            await self._event_row(s, event_id)
            await self._check_type_name_free(s, event_id, name, None)
            row = m.TicketType(event_id=event_id, name=name, created_at=_now())
            s.add(row)
            await s.flush()
            return TicketTypeRecord(row.id, event_id, name, 0, row.created_at)

    async def get_ticket_type(self, type_id: int) -> TicketTypeRecord | None:
        async with self._tx() as s:
            row = await s.get(m.TicketType, type_id)
            return None if row is None else await self._ticket_type_record(s, row)

    async def list_ticket_types(self, event_id: int) -> list[TicketTypeRecord]:
        async with self._tx() as s:
            await self._event_row(s, event_id)
            count_rows = await s.execute(
                select(m.Ticket.ticket_type_id, func.count())
                .where(m.Ticket.event_id == event_id)
                .group_by(m.Ticket.ticket_type_id)
            )
            counts = {type_id: n for type_id, n in count_rows}
            rows = await s.scalars(
                select(m.TicketType).where(m.TicketType.event_id == event_id).order_by(m.TicketType.id)
            )
            return [
                TicketTypeRecord(r.id, r.event_id, r.name, counts.get(r.id, 0), r.created_at) for r in rows
            ]

    async def rename_ticket_type(self, type_id: int, name: str) -> TicketTypeRecord:
        if not name.strip():
            raise InvalidData("ticket type name must not be empty")
        async with self._tx() as s:
            row = await self._ticket_type_row(s, type_id)
            await self._check_type_name_free(s, row.event_id, name, type_id)
            row.name = name
            await s.flush()
            return await self._ticket_type_record(s, row)

    async def delete_ticket_type(self, type_id: int) -> None:
        async with self._tx() as s:
            row = await self._ticket_type_row(s, type_id)
            tickets = await s.scalar(
                select(func.count()).select_from(m.Ticket).where(m.Ticket.ticket_type_id == type_id)
            )
            if tickets:
                raise Conflict(f"ticket type {row.name!r} still has {tickets} ticket(s)")
            used = await s.scalar(
                select(m.Session.title)
                .join(m.SessionPair, m.SessionPair.session_id == m.Session.id)
                .where(or_(m.SessionPair.type_a_id == type_id, m.SessionPair.type_b_id == type_id))
                .limit(1)
            )
            if used is not None:
                raise Conflict(f"ticket type {row.name!r} is in the matching matrix of session {used!r}")
            await s.delete(row)

    # ---- tickets -----------------------------------------------------------------------------------------

    async def _type_ids_by_name(self, s: AsyncSession, event_id: int) -> dict[str, int]:
        rows = await s.execute(
            select(m.TicketType.name, m.TicketType.id).where(m.TicketType.event_id == event_id)
        )
        return {name: type_id for name, type_id in rows}

    async def _ticket_with_type(self, s: AsyncSession, *where: Any) -> TicketRecord | None:
        row = (
            await s.execute(
                select(m.Ticket, m.TicketType.name)
                .join(m.TicketType, m.TicketType.id == m.Ticket.ticket_type_id)
                .where(*where)
            )
        ).first()
        return None if row is None else _ticket_record(row[0], row[1])

    @staticmethod
    def _check_ticket(data: TicketInput) -> None:
        if not data.name.strip():
            raise InvalidData("ticket holder name must not be empty")
        if "@" not in data.email:
            raise InvalidData(f"not an email address: {data.email!r}")

    async def create_tickets(self, event_id: int, tickets: Sequence[TicketInput]) -> list[TicketRecord]:
        """Create many tickets at once: all of them, or (on any error) none."""
        for data in tickets:
            self._check_ticket(data)
        emails = Counter(t.email.lower() for t in tickets)
        dupes = sorted(e for e, n in emails.items() if n > 1)
        if dupes:
            raise Conflict(f"the list names these emails more than once: {', '.join(dupes)}")
        async with self._tx() as s:
            await self._event_row(s, event_id)
            types = await self._type_ids_by_name(s, event_id)
            unknown = sorted({t.ticket_type for t in tickets if t.ticket_type not in types})
            if unknown:
                raise InvalidData(f"unknown ticket type(s) for this event: {', '.join(unknown)}")
            taken = set(
                await s.scalars(
                    select(m.Ticket.email).where(
                        m.Ticket.event_id == event_id, func.lower(m.Ticket.email).in_(list(emails))
                    )
                )
            )
            if taken:
                raise Conflict(f"the event already has tickets for: {', '.join(sorted(taken))}")
            now = _now()
            rows = [
                m.Ticket(
                    event_id=event_id,
                    ticket_type_id=types[t.ticket_type],
                    name=t.name,
                    email=t.email,
                    headline=t.headline,
                    company=t.company,
                    secret=new_ticket_secret(),
                    is_admin=t.is_admin,
                    created_at=now,
                )
                for t in tickets
            ]
            s.add_all(rows)
            await s.flush()
            chosen = {r.id: t.interests for r, t in zip(rows, tickets, strict=True) if t.interests}
            if chosen:
                await replace_ticket_interests(s, event_id, chosen)
            return [_ticket_record(r, t.ticket_type) for r, t in zip(rows, tickets, strict=True)]

    async def get_ticket(self, ticket_id: int) -> TicketRecord | None:
        async with self._tx() as s:
            return await self._ticket_with_type(s, m.Ticket.id == ticket_id)

    async def get_ticket_by_secret(self, secret: str) -> TicketRecord | None:
        """None for a string that cannot be a secret, without asking the database (PostgreSQL refuses NUL)."""
        if _SECRET.fullmatch(secret) is None:
            return None
        async with self._tx() as s:
            return await self._ticket_with_type(s, m.Ticket.secret == secret)

    async def list_tickets(self, event_id: int) -> list[TicketRecord]:
        async with self._tx() as s:
            await self._event_row(s, event_id)
            rows = await s.execute(
                select(m.Ticket, m.TicketType.name)
                .join(m.TicketType, m.TicketType.id == m.Ticket.ticket_type_id)
                .where(m.Ticket.event_id == event_id)
                .order_by(m.Ticket.id)
            )
            return [_ticket_record(t, name) for t, name in rows]

    async def update_ticket(
        self, ticket_id: int, data: TicketInput, new_secret: bool = False
    ) -> TicketRecord:
        """Replace a ticket's fields; `new_secret` invalidates its old join links."""
        self._check_ticket(data)
        async with self._tx() as s:
            row = await s.get(m.Ticket, ticket_id)
            if row is None:
                raise NotFound(f"ticket {ticket_id} not found")
            types = await self._type_ids_by_name(s, row.event_id)
            if data.ticket_type not in types:
                raise InvalidData(f"unknown ticket type for this event: {data.ticket_type}")
            if data.email.lower() != row.email.lower():
                taken = await s.scalar(
                    select(m.Ticket.id).where(
                        m.Ticket.event_id == row.event_id,
                        func.lower(m.Ticket.email) == data.email.lower(),
                        m.Ticket.id != ticket_id,
                    )
                )
                if taken is not None:
                    raise Conflict(f"the event already has a ticket for {data.email}")
            row.name = data.name
            row.email = data.email
            row.headline = data.headline
            row.company = data.company
            row.is_admin = data.is_admin
            row.ticket_type_id = types[data.ticket_type]
            if new_secret:
                row.secret = new_ticket_secret()
            await s.flush()
            return _ticket_record(row, data.ticket_type)

    async def delete_ticket(self, ticket_id: int) -> list[str]:
        """Delete a ticket with its history; returns the file names of its uploads to remove."""
        async with self._tx() as s:
            row = await s.get(m.Ticket, ticket_id)
            if row is None:
                raise NotFound(f"ticket {ticket_id} not found")
            files = list(await s.scalars(select(m.Asset.filename).where(m.Asset.ticket_id == ticket_id)))
            await s.delete(row)
            return files

    # ---- sessions ----------------------------------------------------------------------------------------

    async def _session_records(self, s: AsyncSession, *where: Any) -> list[SessionRecord]:
        rows = (
            await s.scalars(select(m.Session).where(*where).order_by(m.Session.starts_at, m.Session.id))
        ).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        ta = aliased(m.TicketType)
        tb = aliased(m.TicketType)
        pairs: dict[int, list[tuple[str, str]]] = {}
        for session_id, a, b in await s.execute(
            select(m.SessionPair.session_id, ta.name, tb.name)
            .join(ta, ta.id == m.SessionPair.type_a_id)
            .join(tb, tb.id == m.SessionPair.type_b_id)
            .where(m.SessionPair.session_id.in_(ids))
            .order_by(m.SessionPair.id)
        ):
            pairs.setdefault(session_id, []).append((a, b))
        asset_ids = [r.pre_session_asset_id for r in rows if r.pre_session_asset_id is not None]
        assets: dict[int, AssetRecord] = {}
        if asset_ids:
            for asset_row in await s.scalars(select(m.Asset).where(m.Asset.id.in_(asset_ids))):
                assets[asset_row.id] = _asset_record(asset_row)
        out = []
        for r in rows:
            asset = assets.get(r.pre_session_asset_id) if r.pre_session_asset_id is not None else None
            out.append(
                SessionRecord(
                    id=r.id,
                    event_id=r.event_id,
                    title=r.title,
                    starts_at=_utc(r.starts_at),
                    ends_at=_utc(r.ends_at),
                    meeting_seconds=r.meeting_seconds,
                    allow_rematch=r.allow_rematch,
                    rematch_cooldown_seconds=r.rematch_cooldown_seconds,
                    max_extensions=r.max_extensions,
                    allowed_pairs=pairs.get(r.id, []) if r.restrict_pairs else None,
                    pre_session_media_url=asset.url if asset else None,
                    pre_session_media=asset,
                    created_at=r.created_at,
                    interest_weighting=r.interest_weighting,
                )
            )
        return out

    async def _one_session(self, s: AsyncSession, session_id: int) -> SessionRecord:
        records = await self._session_records(s, m.Session.id == session_id)
        if not records:
            raise NotFound(f"session {session_id} not found")
        return records[0]

    async def _write_session(
        self, s: AsyncSession, row: m.Session, event: m.Event, data: SessionInput
    ) -> None:
        days = await self._event_days(s, event.id)
        _check_session(data, event.timezone, days)
        q = select(m.Session.id).where(m.Session.event_id == event.id, m.Session.title == data.title)
        if row.id is not None:
            q = q.where(m.Session.id != row.id)
        if await s.scalar(q) is not None:
            raise Conflict(f"the event already has a session titled {data.title!r}")
        pair_ids: list[tuple[int, int]] = []
        if data.allowed_pairs is not None:
            types = await self._type_ids_by_name(s, event.id)
            unknown = sorted({n for p in data.allowed_pairs for n in p if n not in types})
            if unknown:
                raise InvalidData(f"the matching matrix names unknown ticket type(s): {', '.join(unknown)}")
            pair_ids = sorted({_pair(types[a], types[b]) for a, b in data.allowed_pairs})
        row.title = data.title
        row.starts_at = data.starts_at
        row.ends_at = data.ends_at
        row.meeting_seconds = data.meeting_seconds
        row.allow_rematch = data.allow_rematch
        row.rematch_cooldown_seconds = data.rematch_cooldown_seconds
        row.max_extensions = data.max_extensions
        row.restrict_pairs = data.allowed_pairs is not None
        row.interest_weighting = data.interest_weighting
        if row.id is None:
            s.add(row)
        await s.flush()
        await s.execute(delete(m.SessionPair).where(m.SessionPair.session_id == row.id))
        s.add_all(m.SessionPair(session_id=row.id, type_a_id=a, type_b_id=b) for a, b in pair_ids)
        await s.flush()

    async def create_session(self, event_id: int, data: SessionInput) -> SessionRecord:
        async with self._tx() as s:
            event_row = await self._event_row(s, event_id)
            row = m.Session(event_id=event_id, created_at=_now())
            await self._write_session(s, row, event_row, data)
            return await self._one_session(s, row.id)

    async def update_session(self, session_id: int, data: SessionInput) -> SessionRecord:
        async with self._tx() as s:
            row = await s.get(m.Session, session_id)
            if row is None:
                raise NotFound(f"session {session_id} not found")
            event_row = await self._event_row(s, row.event_id)
            await self._write_session(s, row, event_row, data)
            return await self._one_session(s, session_id)

    async def get_session(self, session_id: int) -> SessionRecord | None:
        async with self._tx() as s:
            records = await self._session_records(s, m.Session.id == session_id)
            return records[0] if records else None

    async def list_sessions(self, event_id: int) -> list[SessionRecord]:
        async with self._tx() as s:
            await self._event_row(s, event_id)
            return await self._session_records(s, m.Session.event_id == event_id)

    async def delete_session(self, session_id: int) -> list[str]:
        """Delete a session with its meetings; returns the file name of its pre-session media, if any."""
        async with self._tx() as s:
            row = await s.get(m.Session, session_id)
            if row is None:
                raise NotFound(f"session {session_id} not found")
            files: list[str] = []
            if row.pre_session_asset_id is not None:
                asset = await s.get(m.Asset, row.pre_session_asset_id)
                if asset is not None:
                    files.append(asset.filename)
                    await s.delete(asset)
            await s.delete(row)
            return files

    async def set_pre_session_media(
        self, session_id: int, asset: AssetInput
    ) -> tuple[SessionRecord, str | None]:
        """Attach new pre-session media; returns the session and the replaced file's name to remove."""
        async with self._tx() as s:
            row = await s.get(m.Session, session_id)
            if row is None:
                raise NotFound(f"session {session_id} not found")
            old_name: str | None = None
            if row.pre_session_asset_id is not None:
                old = await s.get(m.Asset, row.pre_session_asset_id)
                if old is not None:
                    old_name = old.filename
                    await s.delete(old)
            new = self._asset_row(asset)
            s.add(new)
            await s.flush()
            row.pre_session_asset_id = new.id
            await s.flush()
            return await self._one_session(s, session_id), old_name

    async def clear_pre_session_media(self, session_id: int) -> str | None:
        """Detach and delete the pre-session media; returns its file name, or None if there was none."""
        async with self._tx() as s:
            row = await s.get(m.Session, session_id)
            if row is None:
                raise NotFound(f"session {session_id} not found")
            if row.pre_session_asset_id is None:
                return None
            asset = await s.get(m.Asset, row.pre_session_asset_id)
            row.pre_session_asset_id = None
            if asset is None:
                return None
            await s.delete(asset)
            return asset.filename

    # ---- assets ------------------------------------------------------------------------------------------

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
            created_at=_now(),
        )

    async def add_asset(self, data: AssetInput, quota: UploadQuota | None = None) -> AssetRecord:
        """Store an upload's row; with a quota, only if the ticket's uploads stay within it (409)."""
        async with self._tx() as s:
            if data.ticket_id is not None and quota is not None:
                await self._lock_ticket(s, data.ticket_id)
                count, used = await self._upload_usage(s, data.ticket_id)
                _check_quota(quota, count, used, data.size_bytes)
            await self._event_row(s, data.event_id)
            row = self._asset_row(data)
            s.add(row)
            await s.flush()
            return _asset_record(row)

    @staticmethod
    async def _lock_ticket(s: AsyncSession, ticket_id: int) -> None:
        """Hold the ticket until the transaction ends, so that its uploads are counted and inserted one
        request at a time: an update that changes nothing takes the ticket's row lock on PostgreSQL and
        the database's write lock on SQLite (as the transaction's first statement, waiting its turn)."""
        locked = await s.execute(
            update(m.Ticket)
            .where(m.Ticket.id == ticket_id)
            .values(id=m.Ticket.id)
            .execution_options(synchronize_session=False)
        )
        if getattr(locked, "rowcount", 1) == 0:
            raise NotFound(f"ticket {ticket_id} not found")

    @staticmethod
    async def _upload_usage(s: AsyncSession, ticket_id: int) -> tuple[int, int]:
        row = (
            await s.execute(
                select(func.count(), func.coalesce(func.sum(m.Asset.size_bytes), 0)).where(
                    m.Asset.ticket_id == ticket_id
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def upload_usage(self, ticket_id: int) -> tuple[int, int]:
        """How many files a ticket has uploaded, and their bytes in all."""
        async with self._tx() as s:
            return await self._upload_usage(s, ticket_id)

    async def check_upload_quota(self, ticket_id: int, quota: UploadQuota) -> None:
        """409 if the ticket's quota is already used up (a cheap early refusal; `add_asset` decides)."""
        count, used = await self.upload_usage(ticket_id)
        _check_quota(quota, count, used, 0)

    async def get_asset(self, asset_id: int) -> AssetRecord | None:
        async with self._tx() as s:
            row = await s.get(m.Asset, asset_id)
            return None if row is None else _asset_record(row)

    async def get_asset_by_filename(self, filename: str) -> AssetRecord | None:
        async with self._tx() as s:
            row = await s.scalar(select(m.Asset).where(m.Asset.filename == filename))
            return None if row is None else _asset_record(row)

    async def event_backgrounds(self, event_id: int) -> list[AssetRecord]:
        """The organiser's background images for an event."""
        async with self._tx() as s:
            await self._event_row(s, event_id)
            rows = await s.scalars(
                select(m.Asset)
                .where(
                    m.Asset.event_id == event_id, m.Asset.ticket_id.is_(None), m.Asset.purpose == "background"
                )
                .order_by(m.Asset.id)
            )
            return [_asset_record(r) for r in rows]

    async def ticket_backgrounds(self, ticket_id: int) -> list[AssetRecord]:
        async with self._tx() as s:
            rows = await s.scalars(select(m.Asset).where(m.Asset.ticket_id == ticket_id).order_by(m.Asset.id))
            return [_asset_record(r) for r in rows]

    async def delete_asset(self, asset_id: int) -> AssetRecord:
        """Delete an asset row (sessions showing it as pre-session media lose it); returns what it was."""
        async with self._tx() as s:
            row = await s.get(m.Asset, asset_id)
            if row is None:
                raise NotFound(f"asset {asset_id} not found")
            record = _asset_record(row)
            await s.delete(row)
            return record

    async def all_asset_filenames(self) -> set[str]:
        async with self._tx() as s:
            return set(await s.scalars(select(m.Asset.filename)))

    # ---- meetings, connections, blocks, reports (written by the media plane) ----------------------------

    async def record_history(self, rows: Sequence[HistoryRow], meeting_ids: dict[str, int]) -> None:
        """Write a session's history rows in one transaction, in order (see `web.store.history`): all of
        them or none. `meeting_ids` maps the caller's meeting keys to row ids (new meetings are added)."""
        written = dict(meeting_ids)
        async with self._tx() as s:
            await write_history(s, rows, written, self._upsert_connection)
        meeting_ids.update(written)

    async def record_meeting_started(
        self,
        session_id: int,
        a_ticket_id: int,
        b_ticket_id: int,
        started_at: datetime,
        a_waited_seconds: float,
        b_waited_seconds: float,
    ) -> int:
        ids: dict[str, int] = {}
        row = MeetingStarted(
            "new", session_id, a_ticket_id, b_ticket_id, started_at, a_waited_seconds, b_waited_seconds
        )
        await self.record_history([row], ids)
        return ids["new"]

    async def record_meeting_ended(
        self, meeting_id: int, ended_at: datetime, extensions: int, end_reason: str
    ) -> None:
        await self.record_history(
            [MeetingEnded("old", ended_at, extensions, end_reason)], {"old": meeting_id}
        )

    async def set_connection(
        self, a_ticket_id: int, b_ticket_id: int, requested_by: int, state: str, at: datetime
    ) -> None:
        """Upsert the pair's connection: accepted stays accepted; the first requester is kept."""
        await self.record_history([ConnectionSet(a_ticket_id, b_ticket_id, requested_by, state, at)], {})

    async def _upsert_connection(
        self, s: AsyncSession, a: int, b: int, requested_by: int, state: str, at: datetime
    ) -> m.Connection:
        row = await s.scalar(
            select(m.Connection).where(m.Connection.a_ticket_id == a, m.Connection.b_ticket_id == b)
        )
        if row is None:
            ta = await s.get(m.Ticket, a)
            tb = await s.get(m.Ticket, b)
            if ta is None or tb is None:
                raise NotFound("ticket not found")
            if ta.event_id != tb.event_id:
                raise InvalidData("tickets of different events cannot connect")
            row = m.Connection(
                event_id=ta.event_id,
                a_ticket_id=a,
                b_ticket_id=b,
                requested_by=requested_by,
                state=state,
                requested_at=at,
                accepted_at=at if state == "accepted" else None,
            )
            s.add(row)
        elif state == "accepted" and row.state != "accepted":
            row.state = "accepted"
            row.accepted_at = at
        await s.flush()
        return row

    async def request_connection(
        self, by_ticket_id: int, other_ticket_id: int, at: datetime
    ) -> ConnectionRecord:
        """An attendee asks to connect after meeting someone; asking back accepts a pending request."""
        if by_ticket_id == other_ticket_id:
            raise InvalidData("you cannot connect with yourself")
        a, b = _pair(by_ticket_id, other_ticket_id)
        async with self._tx() as s:
            met = await s.scalar(
                select(m.Meeting.id)
                .where(
                    or_(
                        (m.Meeting.a_ticket_id == a) & (m.Meeting.b_ticket_id == b),
                        (m.Meeting.a_ticket_id == b) & (m.Meeting.b_ticket_id == a),
                    )
                )
                .limit(1)
            )
            if met is None:
                raise NotAllowed("you can only connect with someone you have met")
            blocked = await s.scalar(
                select(m.Block.id)
                .where(
                    or_(
                        (m.Block.by_ticket_id == a) & (m.Block.blocked_ticket_id == b),
                        (m.Block.by_ticket_id == b) & (m.Block.blocked_ticket_id == a),
                    )
                )
                .limit(1)
            )
            if blocked is not None:
                raise NotAllowed("a connection is not possible with this attendee")
            row = await s.scalar(
                select(m.Connection).where(m.Connection.a_ticket_id == a, m.Connection.b_ticket_id == b)
            )
            if row is None:
                row = await self._upsert_connection(s, a, b, by_ticket_id, "requested", at)
            elif row.state == "requested" and row.requested_by != by_ticket_id:
                row = await self._upsert_connection(s, a, b, row.requested_by, "accepted", at)
            return _connection_record(row)

    async def record_block(
        self, event_id: int, by_ticket_id: int, blocked_ticket_id: int, at: datetime
    ) -> None:
        """Idempotent; also withdraws the pair's connection (see `web.store.history.BlockMade`)."""
        await self.record_history([BlockMade(event_id, by_ticket_id, blocked_ticket_id, at)], {})

    async def record_report(
        self, session_id: int, by_ticket_id: int, reported_ticket_id: int, reason: str, at: datetime
    ) -> None:
        await self.record_history([ReportMade(session_id, by_ticket_id, reported_ticket_id, reason, at)], {})

    async def meetings_for_event(self, event_id: int) -> list[MeetingRecord]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.Meeting)
                .join(m.Session, m.Session.id == m.Meeting.session_id)
                .where(m.Session.event_id == event_id)
                .order_by(m.Meeting.id)
            )
            return [_meeting_record(r) for r in rows]

    async def meetings_for_session(self, session_id: int) -> list[MeetingRecord]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.Meeting).where(m.Meeting.session_id == session_id).order_by(m.Meeting.id)
            )
            return [_meeting_record(r) for r in rows]

    async def blocks_for_event(self, event_id: int) -> list[tuple[int, int]]:
        async with self._tx() as s:
            rows = await s.execute(
                select(m.Block.by_ticket_id, m.Block.blocked_ticket_id)
                .where(m.Block.event_id == event_id)
                .order_by(m.Block.id)
            )
            return [(by, blocked) for by, blocked in rows]

    async def connections_for_event(self, event_id: int) -> list[ConnectionRecord]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.Connection).where(m.Connection.event_id == event_id).order_by(m.Connection.id)
            )
            return [_connection_record(r) for r in rows]

    async def _tickets_with_types(self, s: AsyncSession, ids: Iterable[int]) -> dict[int, TicketRecord]:
        id_list = list(set(ids))
        if not id_list:
            return {}
        rows = await s.execute(
            select(m.Ticket, m.TicketType.name)
            .join(m.TicketType, m.TicketType.id == m.Ticket.ticket_type_id)
            .where(m.Ticket.id.in_(id_list))
        )
        return {t.id: _ticket_record(t, name) for t, name in rows}

    async def matches_for_ticket(self, ticket_id: int, session_id: int | None = None) -> list[MatchView]:
        """The meetings a ticket had (in one session, or all), oldest first, with the partner's details."""
        async with self._tx() as s:
            q = select(m.Meeting).where(
                or_(m.Meeting.a_ticket_id == ticket_id, m.Meeting.b_ticket_id == ticket_id)
            )
            if session_id is not None:
                q = q.where(m.Meeting.session_id == session_id)
            meetings = (await s.scalars(q.order_by(m.Meeting.started_at, m.Meeting.id))).all()
            partners = {x.b_ticket_id if x.a_ticket_id == ticket_id else x.a_ticket_id for x in meetings}
            tickets = await self._tickets_with_types(s, partners)
            conns: dict[int, m.Connection] = {}
            if partners:
                for c in await s.scalars(
                    select(m.Connection).where(
                        or_(m.Connection.a_ticket_id == ticket_id, m.Connection.b_ticket_id == ticket_id)
                    )
                ):
                    conns[c.b_ticket_id if c.a_ticket_id == ticket_id else c.a_ticket_id] = c
            out = []
            for x in meetings:
                partner_id = x.b_ticket_id if x.a_ticket_id == ticket_id else x.a_ticket_id
                partner = tickets.get(partner_id)
                if partner is None:
                    continue
                conn = conns.get(partner_id)
                seconds = (x.ended_at - x.started_at).total_seconds() if x.ended_at is not None else None
                out.append(
                    MatchView(
                        meeting_id=x.id,
                        session_id=x.session_id,
                        partner_ticket_id=partner_id,
                        partner_name=partner.name,
                        partner_headline=partner.headline,
                        partner_company=partner.company,
                        partner_ticket_type=partner.ticket_type,
                        started_at=_utc(x.started_at),
                        ended_at=_utc_or_none(x.ended_at),
                        seconds=seconds,
                        extensions=x.extensions,
                        end_reason=x.end_reason,
                        connection=conn.state if conn else None,
                        connection_requested_by_me=bool(conn and conn.requested_by == ticket_id),
                    )
                )
            return out

    async def connections_for_ticket(self, ticket_id: int) -> list[ConnectionView]:
        async with self._tx() as s:
            rows = (
                await s.scalars(
                    select(m.Connection)
                    .where(or_(m.Connection.a_ticket_id == ticket_id, m.Connection.b_ticket_id == ticket_id))
                    .order_by(m.Connection.requested_at, m.Connection.id)
                )
            ).all()
            others = await self._tickets_with_types(s, (_connection_record(c).other(ticket_id) for c in rows))
            out = []
            for c in rows:
                other = others[_connection_record(c).other(ticket_id)]
                out.append(
                    ConnectionView(
                        other_ticket_id=other.id,
                        other_name=other.name,
                        other_headline=other.headline,
                        other_company=other.company,
                        other_ticket_type=other.ticket_type,
                        other_email=other.email if c.state == "accepted" else None,
                        state=c.state,
                        requested_by_me=c.requested_by == ticket_id,
                        requested_at=_utc(c.requested_at),
                        accepted_at=_utc_or_none(c.accepted_at),
                    )
                )
            return out

    async def session_summary(self, session_id: int) -> SessionSummary:
        async with self._tx() as s:
            sess = await s.get(m.Session, session_id)
            if sess is None:
                raise NotFound(f"session {session_id} not found")
            meetings = (await s.scalars(select(m.Meeting).where(m.Meeting.session_id == session_id))).all()
            pairs = {_pair(x.a_ticket_id, x.b_ticket_id) for x in meetings}
            conns = (
                await s.scalars(select(m.Connection).where(m.Connection.event_id == sess.event_id))
            ).all()
            met_conns = [c for c in conns if (c.a_ticket_id, c.b_ticket_id) in pairs]
            blocks = (
                await s.execute(
                    select(m.Block.by_ticket_id, m.Block.blocked_ticket_id).where(
                        m.Block.event_id == sess.event_id
                    )
                )
            ).all()
            reports = await s.scalar(
                select(func.count()).select_from(m.Report).where(m.Report.session_id == session_id)
            )
            ended = [x for x in meetings if x.ended_at is not None]
            waits = [w for x in meetings for w in (x.a_waited_seconds, x.b_waited_seconds)]
            # A meeting closed on start has a lower bound for its end, not a length.
            lengths = [
                (x.ended_at - x.started_at).total_seconds()
                for x in ended
                if x.ended_at is not None and x.end_reason != SERVER_RESTART
            ]
            return SessionSummary(
                session_id=session_id,
                meetings=len(meetings),
                meetings_ended=len(ended),
                meetings_extended=sum(1 for x in meetings if x.extensions > 0),
                extensions=sum(x.extensions for x in meetings),
                attendees_met=len({t for p in pairs for t in p}),
                connections_requested=sum(1 for c in met_conns if c.state == "requested"),
                connections_accepted=sum(1 for c in met_conns if c.state == "accepted"),
                average_wait_seconds=sum(waits) / len(waits) if waits else None,
                average_meeting_seconds=sum(lengths) / len(lengths) if lengths else None,
                end_reasons=dict(Counter(x.end_reason for x in ended if x.end_reason is not None)),
                blocks=sum(1 for by, blocked in blocks if _pair(by, blocked) in pairs),
                reports=int(reports or 0),
            )
