"""What the store's parts share: domain bounds, token helpers, time helpers, checks of session
times against an event's days, and the conversions of rows to records."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from web.store import models as m
from web.store.errors import InvalidData
from web.store.records import AssetRecord, ConnectionRecord, MeetingRecord, TicketRecord

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
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Rows not yet reloaded from the database still hold the caller's zone; records are always UTC."""
    return value.astimezone(UTC)


def as_utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def ordered_pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidData(f"unknown time zone {name!r}") from exc


def session_local_days(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> list[date]:
    """Every local calendar day the session touches; the end instant itself belongs to the previous one."""
    first = starts_at.astimezone(zone).date()
    last = (ends_at - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def check_session_times(starts_at: datetime, ends_at: datetime, timezone: str, days: Iterable[date]) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidData("starts_at and ends_at must carry a time zone")
    if ends_at <= starts_at:
        raise InvalidData("ends_at must be after starts_at")
    if ends_at - starts_at > MAX_SESSION_DURATION:
        raise InvalidData(f"a session lasts at most {MAX_SESSION_DURATION.days} days")
    zone = zone_info(timezone)
    allowed = set(days)
    try:
        off = [d for d in session_local_days(starts_at, ends_at, zone) if d not in allowed]
    except OverflowError as exc:
        raise InvalidData("starts_at or ends_at is out of range") from exc
    if off:
        listed = ", ".join(d.isoformat() for d in off[:5]) + (", ..." if len(off) > 5 else "")
        raise InvalidData(
            f"the session must fall on the event's days ({timezone}); not an event day: {listed}"
        )


def asset_record(a: m.Asset) -> AssetRecord:
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


def meeting_record(x: m.Meeting) -> MeetingRecord:
    return MeetingRecord(
        id=x.id,
        session_id=x.session_id,
        a_ticket_id=x.a_ticket_id,
        b_ticket_id=x.b_ticket_id,
        started_at=as_utc(x.started_at),
        ended_at=as_utc_or_none(x.ended_at),
        extensions=x.extensions,
        end_reason=x.end_reason,
        a_waited_seconds=x.a_waited_seconds,
        b_waited_seconds=x.b_waited_seconds,
    )


def connection_record(c: m.Connection) -> ConnectionRecord:
    return ConnectionRecord(
        id=c.id,
        event_id=c.event_id,
        a_ticket_id=c.a_ticket_id,
        b_ticket_id=c.b_ticket_id,
        requested_by=c.requested_by,
        state=c.state,
        requested_at=as_utc(c.requested_at),
        accepted_at=as_utc_or_none(c.accepted_at),
    )


def ticket_record(t: m.Ticket, type_name: str) -> TicketRecord:
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
