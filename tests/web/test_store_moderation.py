"""Removals from a session and the organiser's actions on reports, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.web.test_store import T0, _event, store
from web.store import Conflict, EventInput, InvalidData, NotFound, SessionInput, Store, TicketInput

__all__ = ["store"]


async def test_a_removal_is_per_session_and_can_be_undone(store: Store) -> None:
    event_id, ids, session_id = await _event(store)
    other = await store.create_session(
        event_id, SessionInput("Later", T0 + timedelta(hours=2), T0 + timedelta(hours=3), 120)
    )
    moderation = store.moderation
    assert await moderation.removals(session_id) == []
    removal = await moderation.remove(session_id, ids["Bob"], T0)
    assert (removal.session_id, removal.ticket_id, removal.name, removal.removed_at) == (
        session_id,
        ids["Bob"],
        "Bob",
        T0,
    )
    await moderation.remove(session_id, ids["Ada"], T0 + timedelta(minutes=1))
    with pytest.raises(Conflict):
        await moderation.remove(session_id, ids["Bob"], T0 + timedelta(minutes=2))
    assert [r.name for r in await moderation.removals(session_id)] == ["Bob", "Ada"]
    assert await moderation.removed_ticket_ids(session_id) == {ids["Bob"], ids["Ada"]}
    assert await moderation.removed_ticket_ids(other.id) == set()  # the event's other session admits them
    await moderation.restore(session_id, ids["Bob"])
    assert await moderation.removed_ticket_ids(session_id) == {ids["Ada"]}
    with pytest.raises(NotFound):
        await moderation.restore(session_id, ids["Bob"])
    # A ticket's or session's deletion takes its removals with it.
    await store.delete_ticket(ids["Ada"])
    assert await moderation.removals(session_id) == []


async def test_unknown_sessions_and_tickets_of_other_events_are_not_found(store: Store) -> None:
    _, ids, session_id = await _event(store)
    stranger_event = await store.create_event(EventInput("Other", "UTC", (T0.date(),)))
    await store.create_ticket_type(stranger_event.id, "Attendee")
    (stranger,) = await store.create_tickets(
        stranger_event.id, [TicketInput("Zed", "zed@example.org", "Attendee")]
    )
    for session, ticket in ((session_id, stranger.id), (session_id, 99999), (99999, ids["Ada"])):
        with pytest.raises(NotFound):
            await store.moderation.remove(session, ticket, T0)
    with pytest.raises(NotFound):
        await store.moderation.removals(99999)
    with pytest.raises(NotFound):
        await store.moderation.reports(99999)
    assert await store.moderation.removals(session_id) == []


async def test_reports_list_names_and_keep_the_organisers_action(store: Store) -> None:
    event_id, ids, session_id = await _event(store)
    await store.record_report(session_id, ids["Ada"], ids["Bob"], "rude", T0 + timedelta(minutes=5))
    await store.record_report(session_id, ids["Cy"], ids["Bob"], "spam", T0 + timedelta(minutes=9))
    reports = await store.moderation.reports(session_id)
    assert [(r.by_name, r.reported_name, r.reason, r.action) for r in reports] == [
        ("Ada", "Bob", "rude", None),
        ("Cy", "Bob", "spam", None),
    ]
    assert reports[0].created_at == T0 + timedelta(minutes=5)
    first = reports[0].id
    assert await store.moderation.get_report(first) == (session_id, event_id)
    assert await store.moderation.get_report(99999) is None
    done = await store.moderation.set_action(first, "warned", "  told them off ", T0 + timedelta(hours=1))
    assert (done.action, done.action_note, done.action_at) == (
        "warned",
        "told them off",
        T0 + timedelta(hours=1),
    )
    for action, note in (("banished", None), ("warned", "x" * 1001)):
        with pytest.raises(InvalidData):
            await store.moderation.set_action(first, action, note, T0)
    with pytest.raises(NotFound):
        await store.moderation.set_action(99999, "dismissed", None, T0)
    reports = await store.moderation.reports(session_id)
    assert [(r.action, r.action_note) for r in reports] == [("warned", "told them off"), (None, None)]
    cleared = await store.moderation.set_action(first, None, "ignored", T0)
    assert (cleared.action, cleared.action_note, cleared.action_at) == (None, None, None)
