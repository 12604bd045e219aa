"""Typed keys for the server-wide resources kept on the aiohttp application."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry

from web.config import Config
from web.media_files import MediaFiles
from web.store import SessionRecord, Store


class LiveRooms(Protocol):
    """What the media plane offers the HTTP API about running sessions."""

    def live_summary(self, session_id: int) -> Mapping[str, Any] | None:
        """Live counts for a session's room as JSON-able values; None when no room runs for it."""
        ...

    async def connect(self, event_id: int, by_ticket_id: int, other_ticket_id: int) -> bool:
        """Ask to connect (asking back accepts) through a live room of the event that knows both
        attendees, so both hear of it at once and the room writes the row before this returns.
        False when no live room took it: the caller then writes to the store itself."""
        ...

    def holds(
        self, *, event_id: int | None = None, session_id: int | None = None, ticket_id: int | None = None
    ) -> bool:
        """Whether a room whose session is live or still has a meeting running is for this event or this
        session, or has this ticket in it (deleting it now would pull the rows from under the meetings
        the room is about to record)."""
        ...

    async def session_changed(self, session: SessionRecord) -> None:
        """The organiser changed a session (times, rules): a room running it applies the change."""
        ...

    async def interests_changed(self, event_id: int, ticket_ids: list[int] | None = None) -> None:
        """Tickets' interests changed (None: any of the event's, e.g. a tag was dropped): running rooms of
        the event reload them, so their next pairings weigh the new ones."""
        ...


CONFIG_KEY = web.AppKey("config", Config)
STORE_KEY = web.AppKey("store", Store)
MEDIA_FILES_KEY = web.AppKey("media_files", MediaFiles)
METRICS_REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
# Set by the media plane (sfu.setup) when it runs; absent otherwise.
LIVE_ROOMS_KEY = web.AppKey("live_rooms", LiveRooms)
