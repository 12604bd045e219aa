"""A write the database refuses (two requests racing past the store's own checks) is told in the user's
terms: never the SQL, the table or the constraint."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.web.api_client import EVENT, StartServer
from web.store import Conflict, EventInput, Store, default_database_url
from web.store.integrity import conflict_message

SQL_WORDS = re.compile(r"UNIQUE|FOREIGN|constraint|INSERT|SQL|violat|events\.|_fkey|_key\b|DETAIL", re.I)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "postgresql":
        url = await request.getfixturevalue("postgres_server").database()
    else:
        url = default_database_url(tmp_path)
    s = Store(url)
    await s.migrate()
    yield s
    await s.close()


async def _no_check(*_: Any) -> None:
    """The store's own check, passed as if another request had not yet committed the same row."""


async def _refused(store: Store, sql: str, **params: Any) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        async with store.engine.begin() as conn:
            await conn.execute(text(sql), params)
    return caught.value


async def test_a_raced_duplicate_name_is_a_conflict_in_plain_words(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Store, "_check_event_name_free", _no_check)
    await store.create_event(EventInput("Expo", "UTC", (date(2030, 5, 1),)))
    with pytest.raises(Conflict) as caught:
        await store.create_event(EventInput("Expo", "UTC", (date(2030, 5, 2),)))
    message = str(caught.value)
    assert message == "an event with this name already exists: choose another name"
    assert [e.name for e in await store.list_events()] == ["Expo"]  # nothing half-written


async def test_each_refusal_names_what_clashed(store: Store) -> None:
    event = await store.create_event(EventInput("Expo", "UTC", (date(2030, 5, 1),)))
    await store.create_ticket_type(event.id, "Attendee")
    cases = {
        "the event already has a ticket type with this name: choose another name": (
            "INSERT INTO ticket_types (event_id, name, created_at) VALUES (:e, 'Attendee', CURRENT_TIMESTAMP)"
        ),
        "something this change refers to was just deleted or changed by another request; "
        "reload and try again": (
            "INSERT INTO ticket_types (event_id, name, created_at) VALUES (:e + 1000, 'X', CURRENT_TIMESTAMP)"
        ),
    }
    for expected, sql in cases.items():
        exc = await _refused(store, sql, e=event.id)
        assert SQL_WORDS.search(str(exc.orig))  # what the database said...
        message = conflict_message(exc)
        assert message == expected  # ...and what the user reads
        assert not SQL_WORDS.search(message)


async def test_the_api_answers_409_without_sql(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Store, "_check_event_name_free", _no_check)
    api = await start_server()
    await api.ok("POST", "/api/admin/events", EVENT, status=201)
    reply = await api.post("/api/admin/events", EVENT)
    assert reply.status == 409
    assert reply.body == {"error": "an event with this name already exists: choose another name"}
