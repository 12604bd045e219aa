"""The SQL store: every read and write of the product's data, one transaction per method.

`Store` is composed of one part per concept (see the modules it imports); the shared row look-ups
and the transaction live in `web.store.core`, the shared conversions and checks in `web.store.helpers`.
"""

from __future__ import annotations

from web.store.assets import AssetMethods
from web.store.core import MIGRATIONS_DIR, StoreCore, default_database_url
from web.store.events import EventMethods
from web.store.helpers import (
    COOLDOWN_SECONDS_MAX,
    MAX_EVENT_DAYS,
    MAX_EXTENSIONS_MAX,
    MAX_SESSION_DURATION,
    MEETING_SECONDS_MAX,
    MEETING_SECONDS_MIN,
    hash_token,
    new_ticket_secret,
)
from web.store.meetings import MeetingMethods
from web.store.sessions import SessionMethods
from web.store.summaries import SummaryMethods
from web.store.tickets import TicketMethods

__all__ = [
    "COOLDOWN_SECONDS_MAX",
    "MAX_EVENT_DAYS",
    "MAX_EXTENSIONS_MAX",
    "MAX_SESSION_DURATION",
    "MEETING_SECONDS_MAX",
    "MEETING_SECONDS_MIN",
    "MIGRATIONS_DIR",
    "Store",
    "default_database_url",
    "hash_token",
    "new_ticket_secret",
]


class Store(
    EventMethods,
    TicketMethods,
    SessionMethods,
    AssetMethods,
    MeetingMethods,
    SummaryMethods,
    StoreCore,
):
    """Async access to the database. `await close()` when done (safe to call twice)."""
