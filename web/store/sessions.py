"""Sessions of an event, their matching matrix and pre-session media."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from web.store import models as m
from web.store.core import StoreCore
from web.store.errors import Conflict, InvalidData, NotFound
from web.store.helpers import (
    COOLDOWN_SECONDS_MAX,
    MAX_EXTENSIONS_MAX,
    MEETING_SECONDS_MAX,
    MEETING_SECONDS_MIN,
    as_utc,
    asset_record,
    check_session_times,
    ordered_pair,
    utc_now,
)
from web.store.inputs import AssetInput, SessionInput
from web.store.records import AssetRecord, SessionRecord


def _check_session(data: SessionInput, timezone: str, days: Iterable[date]) -> None:
    if not data.title.strip():
        raise InvalidData("session title must not be empty")
    check_session_times(data.starts_at, data.ends_at, timezone, days)
    if not MEETING_SECONDS_MIN <= data.meeting_seconds <= MEETING_SECONDS_MAX:
        raise InvalidData(f"meeting_seconds must be between {MEETING_SECONDS_MIN} and {MEETING_SECONDS_MAX}")
    if not 0 <= data.max_extensions <= MAX_EXTENSIONS_MAX:
        raise InvalidData(f"max_extensions must be between 0 and {MAX_EXTENSIONS_MAX}")
    if not 0 <= data.rematch_cooldown_seconds <= COOLDOWN_SECONDS_MAX:
        raise InvalidData(f"rematch_cooldown_seconds must be between 0 and {COOLDOWN_SECONDS_MAX}")
    if data.allowed_pairs is not None and not data.allowed_pairs:
        raise InvalidData("allowed_pairs must name at least one pair (null lets everyone meet everyone)")


class SessionMethods(StoreCore):
    """Sessions."""

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
                assets[asset_row.id] = asset_record(asset_row)
        out = []
        for r in rows:
            asset = assets.get(r.pre_session_asset_id) if r.pre_session_asset_id is not None else None
            out.append(
                SessionRecord(
                    id=r.id,
                    event_id=r.event_id,
                    title=r.title,
                    starts_at=as_utc(r.starts_at),
                    ends_at=as_utc(r.ends_at),
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
            pair_ids = sorted({ordered_pair(types[a], types[b]) for a, b in data.allowed_pairs})
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
            row = m.Session(event_id=event_id, created_at=utc_now())
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
