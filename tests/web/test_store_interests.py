"""Interest tags and private meeting notes in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.web.test_store import T0, _event, store
from web.store import InvalidData, NotAllowed, NotFound, SessionInput, Store, TicketInput

__all__ = ["store"]

TAGS = ["AI", "Climate", "Health", "Fintech", "Design", "Robotics"]


async def test_event_tags_keep_the_organisers_order_and_rules(store: Store) -> None:
    event_id, _, _ = await _event(store)
    assert await store.interests.event_tags(event_id) == []
    assert await store.interests.set_event_tags(event_id, ["  AI ", "Climate", "Health"]) == [
        "AI",
        "Climate",
        "Health",
    ]
    assert await store.interests.set_event_tags(event_id, ["Health", "AI"]) == ["Health", "AI"]
    assert await store.interests.event_tags(event_id) == ["Health", "AI"]
    bad = [
        [f"t{i}" for i in range(51)],  # more than 50
        ["AI", "ai"],  # twice, ignoring case
        ["AI", ""],
        ["x" * 41],
        ["new\nline"],
    ]
    for tags in bad:
        with pytest.raises(InvalidData):
            await store.interests.set_event_tags(event_id, tags)
    assert await store.interests.event_tags(event_id) == ["Health", "AI"]
    assert len(await store.interests.set_event_tags(event_id, [f"t{i}" for i in range(50)])) == 50
    with pytest.raises(NotFound):
        await store.interests.set_event_tags(9999, ["AI"])
    with pytest.raises(NotFound):
        await store.interests.event_tags(9999)


async def test_ticket_interests_are_up_to_five_of_the_events_tags(store: Store) -> None:
    event_id, ids, _ = await _event(store)
    await store.interests.set_event_tags(event_id, TAGS)
    ada = ids["Ada"]
    # Matched ignoring case, stored as the event spells them, in the event's order.
    assert await store.interests.set_ticket_interests(ada, ["health", "AI", "Health"]) == ["AI", "Health"]
    assert await store.interests.ticket_interests(ada) == ["AI", "Health"]
    for tags in (["AI", "Quantum"], TAGS, [""]):
        with pytest.raises(InvalidData):
            await store.interests.set_ticket_interests(ada, tags)
    assert await store.interests.ticket_interests(ada) == ["AI", "Health"]
    assert await store.interests.set_ticket_interests(ada, []) == []
    with pytest.raises(NotFound):
        await store.interests.set_ticket_interests(9999, ["AI"])
    with pytest.raises(NotFound):
        await store.interests.ticket_interests(9999)


async def test_a_dropped_tag_leaves_every_ticket_and_a_kept_one_stays(store: Store) -> None:
    event_id, ids, _ = await _event(store)
    await store.interests.set_event_tags(event_id, TAGS)
    await store.interests.set_ticket_interests(ids["Ada"], ["AI", "Climate"])
    await store.interests.set_ticket_interests(ids["Bob"], ["Climate", "Design"])
    await store.interests.set_event_tags(event_id, ["Design", "Climate", "Space"])
    assert await store.interests.interests_of([ids["Ada"], ids["Bob"], ids["Cy"]]) == {
        ids["Ada"]: ["Climate"],
        ids["Bob"]: ["Design", "Climate"],
    }


async def test_the_bulk_import_pre_fills_interests_all_or_none(store: Store) -> None:
    event_id, _, _ = await _event(store)
    await store.interests.set_event_tags(event_id, TAGS)
    created = await store.create_tickets(
        event_id,
        [
            TicketInput("Dee", "dee@example.org", "Attendee", interests=("robotics", "AI")),
            TicketInput("Eve", "eve@example.org", "Sponsor"),
        ],
    )
    assert await store.interests.interests_of(t.id for t in created) == {created[0].id: ["AI", "Robotics"]}
    before = await store.list_tickets(event_id)
    for interests in (("AI", "Unknown"), tuple(TAGS)):
        with pytest.raises(InvalidData):
            await store.create_tickets(
                event_id,
                [
                    TicketInput("Fay", "fay@example.org", "Attendee"),
                    TicketInput("Gus", "gus@example.org", "Attendee", interests=interests),
                ],
            )
    assert await store.list_tickets(event_id) == before


async def test_interest_weighting_is_a_session_setting_on_by_default(store: Store) -> None:
    event_id, _, session_id = await _event(store)
    session = await store.get_session(session_id)
    assert session is not None and session.interest_weighting is True
    updated = await store.update_session(
        session_id, SessionInput("Morning", T0, T0 + timedelta(hours=1), 120, interest_weighting=False)
    )
    assert updated.interest_weighting is False
    assert [s.interest_weighting for s in await store.list_sessions(event_id)] == [False]


async def test_notes_are_their_authors_alone(store: Store) -> None:
    _, ids, session_id = await _event(store)
    ada, bob, cy = ids["Ada"], ids["Bob"], ids["Cy"]
    meeting = await store.record_meeting_started(session_id, ada, bob, T0, 0.0, 0.0)
    at = T0 + timedelta(minutes=3)
    note = await store.notes.save_note(meeting, ada, "  Follow up about the pilot  ", 4, True, at)
    assert (note.note, note.rating, note.would_meet_again, note.updated_at) == (
        "Follow up about the pilot",
        4,
        True,
        at,
    )
    # Edited later: replaced, still one note.
    edited = await store.notes.save_note(meeting, ada, "", 5, None, at + timedelta(hours=1))
    assert (edited.note, edited.rating, edited.would_meet_again) == (None, 5, None)
    assert list(await store.notes.notes_of(ada)) == [meeting]
    assert await store.notes.notes_of(bob) == {}  # the partner never sees it
    # Someone else's meeting, an unknown one, bad values: refused, nothing changes.
    with pytest.raises(NotAllowed):
        await store.notes.save_note(meeting, cy, "mine now", 1, False, at)
    with pytest.raises(NotFound):
        await store.notes.save_note(9999, ada, None, 3, None, at)
    for text, rating, again in (
        ("x" * 1001, None, None),
        (None, 0, None),
        (None, 6, None),
        (None, True, None),
    ):
        with pytest.raises(InvalidData):
            await store.notes.save_note(meeting, ada, text, rating, again, at)  # type: ignore[arg-type]
    assert (await store.notes.notes_of(ada))[meeting] == edited
    assert await store.notes.notes_of(cy) == {}
    assert len((await store.notes.save_note(meeting, bob, "y" * 1000, None, False, at)).note or "") == 1000


async def test_organisers_see_only_rating_aggregates(store: Store) -> None:
    _, ids, session_id = await _event(store)
    ada, bob, cy = ids["Ada"], ids["Bob"], ids["Cy"]
    empty = await store.notes.rating_summary(session_id)
    assert (empty.ratings, empty.average_rating, empty.would_meet_again_share) == (0, None, None)
    m1 = await store.record_meeting_started(session_id, ada, bob, T0, 0.0, 0.0)
    m2 = await store.record_meeting_started(session_id, cy, bob, T0, 0.0, 0.0)
    await store.notes.save_note(m1, ada, "secret", 5, True, T0)
    await store.notes.save_note(m1, bob, None, 2, False, T0)
    await store.notes.save_note(m2, cy, "only a note", None, None, T0)
    await store.notes.save_note(m2, bob, None, None, True, T0)
    summary = await store.notes.rating_summary(session_id)
    assert (summary.ratings, summary.average_rating) == (2, 3.5)
    assert (summary.answers, summary.would_meet_again, summary.would_meet_again_share) == (3, 2, 2 / 3)
    assert "secret" not in repr(summary)
    with pytest.raises(NotFound):
        await store.notes.rating_summary(9999)
    # Notes go with their meeting.
    await store.delete_session(session_id)
    assert await store.notes.notes_of(ada) == {}
