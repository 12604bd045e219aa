"""The store on a real database, SQLite and PostgreSQL: records, the media plane's calls, transactions and
cascades."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from web.store import (
    AssetInput,
    Conflict,
    EventInput,
    InvalidData,
    NotFound,
    SessionInput,
    Store,
    TicketInput,
    default_database_url,
)
from web.store.history import MeetingEnded, MeetingStarted, ReportMade

T0 = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)


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
    await s.close()  # safe twice


async def _event(store: Store) -> tuple[int, dict[str, int], int]:
    event = await store.create_event(EventInput("Demo", "UTC", (date(2030, 5, 1),)))
    for name in ("Attendee", "Sponsor"):
        await store.create_ticket_type(event.id, name)
    tickets = await store.create_tickets(
        event.id,
        [
            TicketInput("Ada", "ada@example.org", "Attendee"),
            TicketInput("Bob", "bob@example.org", "Sponsor", headline="Founder", company="ACME"),
            TicketInput("Cy", "cy@example.org", "Attendee"),
        ],
    )
    session = await store.create_session(
        event.id,
        SessionInput("Morning", T0, T0 + timedelta(hours=1), 120, allowed_pairs=(("Sponsor", "Attendee"),)),
    )
    return event.id, {t.name: t.id for t in tickets}, session.id


async def test_records_are_frozen_plain_data_in_utc(store: Store) -> None:
    _, ids, session_id = await _event(store)
    session = await store.get_session(session_id)
    assert session is not None
    assert session.starts_at == T0 and session.starts_at.tzinfo is not None
    assert session.starts_at.utcoffset() == timedelta(0)
    assert session.allowed_pairs == [("Attendee", "Sponsor")]
    assert session.allow_rematch is False and session.rematch_cooldown_seconds == 300
    assert session.max_extensions == 1 and session.pre_session_media_url is None
    with pytest.raises(FrozenInstanceError):
        session.title = "x"  # type: ignore[misc]
    ticket = await store.get_ticket(ids["Bob"])
    assert ticket is not None
    assert (ticket.name, ticket.ticket_type, ticket.company, ticket.is_admin) == (
        "Bob",
        "Sponsor",
        "ACME",
        False,
    )
    for impossible in ["", "a\x00b", "\x00", "x" * 65, "sp ace", "é"]:
        assert await store.get_ticket_by_secret(impossible) is None
    by_secret = await store.get_ticket_by_secret(ticket.secret)
    assert by_secret == ticket
    assert await store.get_ticket_by_secret("unknown") is None
    assert await store.get_session(9999) is None
    assert session.status(T0 - timedelta(seconds=1)) == "upcoming"
    assert session.status(T0) == "live"
    assert session.status(T0 + timedelta(hours=1)) == "ended"


async def test_times_in_other_zones_come_back_as_utc(store: Store) -> None:
    event = await store.create_event(EventInput("Berlin", "Europe/Berlin", (date(2030, 5, 1),)))
    berlin = ZoneInfo("Europe/Berlin")
    created = await store.create_session(
        event.id,
        SessionInput(
            "S", datetime(2030, 5, 1, 9, tzinfo=berlin), datetime(2030, 5, 1, 10, tzinfo=berlin), 60
        ),
    )
    assert created.starts_at == datetime(2030, 5, 1, 7, tzinfo=UTC)
    assert created.starts_at.tzinfo == UTC


async def test_history_rows_in_one_transaction_start_and_end_many_meetings(store: Store) -> None:
    _, ids, session_id = await _event(store)
    ada, bob, cy = ids["Ada"], ids["Bob"], ids["Cy"]
    known: dict[str, int] = {}
    started = [
        MeetingStarted(f"m{i}", session_id, ada, bob, T0 + timedelta(seconds=i), 1.0, 2.0) for i in range(50)
    ]
    ended = [
        MeetingEnded(f"m{i}", T0 + timedelta(seconds=100 + i), i % 3, "timeout") for i in range(0, 50, 2)
    ]
    await store.record_history([*started, *ended, ReportMade(session_id, cy, ada, "rude", T0)], known)
    assert sorted(known) == sorted(f"m{i}" for i in range(50))
    meetings = {m.id: m for m in await store.meetings_for_session(session_id)}
    assert len(meetings) == 50
    for i in range(50):
        row = meetings[known[f"m{i}"]]
        assert row.started_at == T0 + timedelta(seconds=i) and row.a_waited_seconds == 1.0
        assert (row.ended_at is not None) == (i % 2 == 0)
        if i % 2 == 0:
            assert row.ended_at == T0 + timedelta(seconds=100 + i) and row.extensions == i % 3
    # All or nothing: an end of an unknown meeting rolls the whole transaction back.
    with pytest.raises(NotFound):
        await store.record_history(
            [MeetingStarted("x", session_id, ada, cy, T0, 0.0, 0.0), MeetingEnded("nope", T0, 0, "left")], {}
        )
    assert len(await store.meetings_for_session(session_id)) == 50


async def test_a_block_withdraws_the_pairs_connection(store: Store) -> None:
    event_id, ids, _ = await _event(store)
    ada, bob, cy = ids["Ada"], ids["Bob"], ids["Cy"]
    await store.set_connection(ada, bob, ada, "accepted", T0)
    await store.set_connection(cy, bob, cy, "requested", T0)
    await store.record_block(event_id, bob, ada, T0 + timedelta(seconds=5))
    assert [(c.a_ticket_id, c.b_ticket_id) for c in await store.connections_for_event(event_id)] == [
        (min(cy, bob), max(cy, bob))
    ]
    assert await store.blocks_for_event(event_id) == [(bob, ada)]


async def test_meetings_connections_blocks_reports_round_trip(store: Store) -> None:
    event_id, ids, session_id = await _event(store)
    ada, bob, cy = ids["Ada"], ids["Bob"], ids["Cy"]
    m1 = await store.record_meeting_started(session_id, ada, bob, T0, 1.5, 0.5)
    await store.record_meeting_ended(m1, T0 + timedelta(seconds=180), 1, "timeout")
    m2 = await store.record_meeting_started(session_id, cy, ada, T0 + timedelta(minutes=4), 0.0, 2.0)
    meetings = await store.meetings_for_event(event_id)
    assert [(m.id, m.a_ticket_id, m.b_ticket_id) for m in meetings] == [(m1, ada, bob), (m2, cy, ada)]
    assert meetings[0].ended_at == T0 + timedelta(seconds=180) and meetings[0].extensions == 1
    assert meetings[0].end_reason == "timeout" and meetings[1].ended_at is None
    with pytest.raises(NotFound):
        await store.record_meeting_ended(9999, T0, 0, "timeout")

    # Connections: either order, idempotent, accepted stays accepted, first requester kept.
    await store.set_connection(bob, ada, bob, "requested", T0 + timedelta(seconds=10))
    await store.set_connection(ada, bob, bob, "requested", T0 + timedelta(seconds=11))
    [c] = await store.connections_for_event(event_id)
    assert (c.a_ticket_id, c.b_ticket_id, c.requested_by, c.state) == (
        min(ada, bob),
        max(ada, bob),
        bob,
        "requested",
    )
    assert c.requested_at == T0 + timedelta(seconds=10) and c.accepted_at is None
    await store.set_connection(ada, bob, ada, "accepted", T0 + timedelta(seconds=20))
    await store.set_connection(ada, bob, ada, "requested", T0 + timedelta(seconds=30))
    [c] = await store.connections_for_event(event_id)
    assert (c.requested_by, c.state, c.accepted_at) == (bob, "accepted", T0 + timedelta(seconds=20))
    with pytest.raises(InvalidData):
        await store.set_connection(ada, bob, cy, "requested", T0)
    with pytest.raises(InvalidData):
        await store.set_connection(ada, bob, ada, "friends", T0)

    await store.record_block(event_id, cy, ada, T0)
    await store.record_block(event_id, cy, ada, T0)  # idempotent
    assert await store.blocks_for_event(event_id) == [(cy, ada)]
    await store.record_report(session_id, cy, ada, "spam", T0)
    assert (await store.session_summary(session_id)).reports == 1

    # Matches as each side sees them.
    ada_matches = await store.matches_for_ticket(ada)
    assert [(m.partner_name, m.connection) for m in ada_matches] == [("Bob", "accepted"), ("Cy", None)]
    assert ada_matches[0].seconds == 180.0 and ada_matches[0].partner_company == "ACME"
    assert ada_matches[0].connection_requested_by_me is False
    bob_matches = await store.matches_for_ticket(bob, session_id)
    assert [(m.partner_name, m.partner_ticket_type, m.connection_requested_by_me) for m in bob_matches] == [
        ("Ada", "Attendee", True)
    ]
    assert await store.matches_for_ticket(bob, session_id + 1) == []


async def test_failed_writes_leave_nothing_behind(store: Store) -> None:
    event_id, _, session_id = await _event(store)
    before = await store.list_tickets(event_id)
    with pytest.raises(InvalidData):
        await store.create_tickets(
            event_id,
            [TicketInput("New", "new@example.org", "Attendee"), TicketInput("X", "x@example.org", "Nope")],
        )
    with pytest.raises(Conflict):
        await store.create_tickets(
            event_id,
            [
                TicketInput("New", "new@example.org", "Attendee"),
                TicketInput("Ada2", "ADA@example.org", "Attendee"),
            ],
        )
    assert await store.list_tickets(event_id) == before
    # A broken session update keeps the old session and matrix.
    with pytest.raises(InvalidData):
        await store.update_session(
            session_id,
            SessionInput("Morning", T0, T0 + timedelta(hours=1), 120, allowed_pairs=(("Attendee", "Ghost"),)),
        )
    session = await store.get_session(session_id)
    assert session is not None and session.allowed_pairs == [("Attendee", "Sponsor")]
    # Foreign keys are enforced: no meeting for tickets that do not exist.
    with pytest.raises(Conflict):
        await store.record_meeting_started(session_id, 9998, 9999, T0, 0.0, 0.0)
    assert await store.meetings_for_event(event_id) == []


async def test_domain_rules(store: Store) -> None:
    event_id, _, _ = await _event(store)
    with pytest.raises(InvalidData, match="time zone"):
        await store.create_event(EventInput("Bad", "Nowhere/Nothing", (date(2030, 5, 1),)))
    with pytest.raises(InvalidData):
        await store.create_event(EventInput("Bad", "UTC", ()))
    with pytest.raises(Conflict):
        await store.create_event(EventInput("Demo", "UTC", (date(2030, 5, 1),)))
    bad = [
        SessionInput("A", T0, T0, 120),
        SessionInput("B", T0, T0 + timedelta(hours=1), 59),
        SessionInput("C", T0, T0 + timedelta(hours=1), 3601),
        SessionInput("D", T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1), 120),
        SessionInput("E", T0, T0 + timedelta(days=1), 120),
        SessionInput("F", T0, T0 + timedelta(hours=1), 120, allowed_pairs=()),
        SessionInput("G", T0, T0 + timedelta(hours=1), 120, max_extensions=-1),
        SessionInput("H", T0.replace(tzinfo=None), (T0 + timedelta(hours=1)).replace(tzinfo=None), 120),
        SessionInput("I", T0, T0 + timedelta(days=8), 120),  # longer than a session may last
    ]
    for data in bad:
        with pytest.raises(InvalidData):
            await store.create_session(event_id, data)
    with pytest.raises(Conflict):
        await store.create_session(event_id, SessionInput("Morning", T0, T0 + timedelta(hours=1), 120))
    with pytest.raises(NotFound):
        await store.create_session(9999, SessionInput("X", T0, T0 + timedelta(hours=1), 120))
    # Ticket types in use cannot go; an unused one can.
    types = {t.name: t.id for t in await store.list_ticket_types(event_id)}
    with pytest.raises(Conflict, match="ticket"):
        await store.delete_ticket_type(types["Attendee"])
    spare = await store.create_ticket_type(event_id, "Spare")
    await store.delete_ticket_type(spare.id)
    assert await store.get_ticket_type(spare.id) is None
    # Event days that would strand a session are refused.
    with pytest.raises(Conflict, match="Morning"):
        await store.update_event(event_id, EventInput("Demo", "UTC", (date(2030, 5, 2),)))


async def test_deleting_a_ticket_takes_its_history_and_uploads(store: Store) -> None:
    event_id, ids, session_id = await _event(store)
    ada, bob = ids["Ada"], ids["Bob"]
    await store.record_meeting_started(session_id, ada, bob, T0, 0.0, 0.0)
    await store.set_connection(ada, bob, ada, "requested", T0)
    asset = await store.add_asset(
        AssetInput(event_id, ada, "background", "image", "image/png", "A" * 22 + ".png", 10, 1, 1)
    )
    files = await store.delete_ticket(ada)
    assert files == [asset.filename]
    assert await store.get_asset(asset.id) is None
    assert await store.meetings_for_event(event_id) == []
    assert await store.connections_for_event(event_id) == []
    assert (await store.get_ticket(bob)) is not None


async def test_admin_token_is_kept_as_a_hash(store: Store) -> None:
    token = await store.ensure_admin_token()
    assert token is not None and len(token) >= 40
    assert await store.ensure_admin_token() is None
    assert await store.check_admin_token(token)
    assert not await store.check_admin_token(token + "x")
    from sqlalchemy import text

    async with store.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT token_hash FROM admin_token"))).scalar_one()
    assert token not in stored
    new = await store.reset_admin_token()
    assert await store.check_admin_token(new) and not await store.check_admin_token(token)
