"""Uploaded files (backgrounds, pre-session media) and the per-ticket upload quota."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from web.store import models as m
from web.store.core import StoreCore
from web.store.errors import Conflict, NotFound
from web.store.helpers import asset_record
from web.store.inputs import AssetInput, UploadQuota
from web.store.records import AssetRecord


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


class AssetMethods(StoreCore):
    """Assets and upload quotas."""

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
            return asset_record(row)

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
            return None if row is None else asset_record(row)

    async def get_asset_by_filename(self, filename: str) -> AssetRecord | None:
        async with self._tx() as s:
            row = await s.scalar(select(m.Asset).where(m.Asset.filename == filename))
            return None if row is None else asset_record(row)

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
            return [asset_record(r) for r in rows]

    async def ticket_backgrounds(self, ticket_id: int) -> list[AssetRecord]:
        async with self._tx() as s:
            rows = await s.scalars(select(m.Asset).where(m.Asset.ticket_id == ticket_id).order_by(m.Asset.id))
            return [asset_record(r) for r in rows]

    async def delete_asset(self, asset_id: int) -> AssetRecord:
        """Delete an asset row (sessions showing it as pre-session media lose it); returns what it was."""
        async with self._tx() as s:
            row = await s.get(m.Asset, asset_id)
            if row is None:
                raise NotFound(f"asset {asset_id} not found")
            record = asset_record(row)
            await s.delete(row)
            return record

    async def all_asset_filenames(self) -> set[str]:
        async with self._tx() as s:
            return set(await s.scalars(select(m.Asset.filename)))
