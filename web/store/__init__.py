"""The SQL store (SQLAlchemy 2 async; SQLite by default) and the records it returns."""

from web.store.errors import Conflict, InvalidData, NotAllowed, NotFound, StoreError
from web.store.inputs import AssetInput, EventInput, SessionInput, TicketInput, UploadQuota
from web.store.notes import NoteRecord, RatingSummary
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
from web.store.store import MAX_SESSION_DURATION, Store, default_database_url

__all__ = [
    "MAX_SESSION_DURATION",
    "AssetInput",
    "AssetRecord",
    "Conflict",
    "ConnectionRecord",
    "ConnectionView",
    "EventInput",
    "EventRecord",
    "InvalidData",
    "MatchView",
    "MeetingRecord",
    "NotAllowed",
    "NotFound",
    "NoteRecord",
    "RatingSummary",
    "SessionInput",
    "SessionRecord",
    "SessionSummary",
    "Store",
    "StoreError",
    "TicketInput",
    "TicketRecord",
    "TicketTypeRecord",
    "UploadQuota",
    "default_database_url",
]
