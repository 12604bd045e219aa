"""Meetings a stopped server left running are closed on start, on SQLite and PostgreSQL, with the last
moment the records show the server alive for them; and a real restart closes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.web.api_client import StartServer, make_demo, stop
from tests.web.test_store import T0, _event, store
from web.store import MeetingRecord, Store
from web.store.recovery import SERVER_RESTART, longest_meeting

__all__ = ["store"]

LATER = T0 + timedelta(days=1)  # the restart, long after every meeting's longest end


async def _meeting(store: Store, session_id: int, a: int, b: int, at: datetime) -> MeetingRecord:
    meetings = await store.meetings_for_session(session_id)
    return next(x for x in meetings if (x.a_ticket_id, x.b_ticket_id, x.started_at) == (a, b, at))


def test_longest_meeting_counts_every_extension_as_half_a_length() -> None:
    assert longest_meeting(120, 0) == timedelta(seconds=120)
    assert longest_meeting(120, 1) == timedelta(seconds=180)
    assert longest_meeting(300, 4) == timedelta(seconds=900)


async def test_an_open_meeting_without_later_records_ends_at_its_start(store: Store) -> None:
    _, ids, session_id = await _event(store)
    ada, bob, cy = ids["Ada"], ids["Bob"], ids["Cy"]
    done = await store.record_meeting_started(session_id, cy, ada, T0, 0.0, 0.0)
    await store.record_meeting_ended(done, T0 + timedelta(seconds=30), 0, "left")
    open_id = await store.record_meeting_started(session_id, ada, bob, T0 + timedelta(seconds=40), 0.0, 0.0)

    assert await store.close_interrupted_meetings(LATER) == 1
    by_id = {x.id: x for x in await store.meetings_for_session(session_id)}
    closed = by_id[open_id]
    # Nothing was written after it started: its start is the last moment the server is known alive for it.
    assert closed.ended_at == T0 + timedelta(seconds=40) and closed.end_reason == SERVER_RESTART
    # A meeting that ended normally is left as it was.
    assert (by_id[done].ended_at, by_id[done].end_reason) == (T0 + timedelta(seconds=30), "left")
    # Nothing is open any more: a second start closes nothing.
    assert await store.close_interrupted_meetings(LATER) == 0


async def test_later_records_of_the_session_and_the_pair_extend_it(store: Store) -> None:
    event_id, ids, session_id = await _event(store)
    ada, bob, cy = ids["Ada"], ids["Bob"], ids["Cy"]
    await store.record_meeting_started(session_id, ada, bob, T0, 0.0, 0.0)
    # Another meeting of the session starts 50 s later: the room was alive then.
    await store.record_meeting_started(session_id, cy, ada, T0 + timedelta(seconds=50), 0.0, 0.0)
    await store.close_interrupted_meetings(LATER)
    first = await _meeting(store, session_id, ada, bob, T0)
    second = await _meeting(store, session_id, cy, ada, T0 + timedelta(seconds=50))
    assert first.ended_at == T0 + timedelta(seconds=50)
    assert second.ended_at == T0 + timedelta(seconds=50)

    # The pair's own records count: a connection request, its acceptance, a block; a report in the session.
    await store.record_meeting_started(session_id, ada, bob, T0 + timedelta(minutes=10), 0.0, 0.0)
    await store.set_connection(ada, bob, ada, "requested", T0 + timedelta(minutes=10, seconds=20))
    await store.set_connection(ada, bob, bob, "accepted", T0 + timedelta(minutes=10, seconds=70))
    await store.close_interrupted_meetings(LATER)
    third = await _meeting(store, session_id, ada, bob, T0 + timedelta(minutes=10))
    assert third.ended_at == T0 + timedelta(minutes=10, seconds=70)

    await store.record_meeting_started(session_id, bob, cy, T0 + timedelta(minutes=20), 0.0, 0.0)
    await store.record_block(event_id, cy, bob, T0 + timedelta(minutes=20, seconds=5))
    await store.close_interrupted_meetings(LATER)
    fourth = await _meeting(store, session_id, bob, cy, T0 + timedelta(minutes=20))
    assert fourth.ended_at == T0 + timedelta(minutes=20, seconds=5)

    await store.record_meeting_started(session_id, ada, cy, T0 + timedelta(minutes=30), 0.0, 0.0)
    await store.record_report(session_id, bob, ada, "spam", T0 + timedelta(minutes=30, seconds=9))
    await store.close_interrupted_meetings(LATER)
    fifth = await _meeting(store, session_id, ada, cy, T0 + timedelta(minutes=30))
    assert fifth.ended_at == T0 + timedelta(minutes=30, seconds=9)


async def test_the_end_never_passes_the_longest_meeting_nor_the_restart(store: Store) -> None:
    _, ids, session_id = await _event(store)
    ada, bob, cy = ids["Ada"], ids["Bob"], ids["Cy"]
    # 120 s meetings with one extension: at most 180 s. A record an hour later does not stretch it.
    await store.record_meeting_started(session_id, ada, bob, T0, 0.0, 0.0)
    later = await store.record_meeting_started(session_id, cy, ada, T0 + timedelta(hours=1), 0.0, 0.0)
    await store.record_meeting_ended(later, T0 + timedelta(hours=1, minutes=2), 0, "timeout")
    # A restart 100 s after the start: the meeting cannot have run past it.
    await store.record_meeting_started(session_id, bob, cy, T0 + timedelta(hours=2), 0.0, 0.0)
    await store.record_report(session_id, bob, cy, "x", T0 + timedelta(hours=2, minutes=5))

    assert await store.close_interrupted_meetings(T0 + timedelta(hours=2, seconds=100)) == 2
    capped = await _meeting(store, session_id, ada, bob, T0)
    assert capped.ended_at == T0 + timedelta(seconds=180)
    at_restart = await _meeting(store, session_id, bob, cy, T0 + timedelta(hours=2))
    assert at_restart.ended_at == T0 + timedelta(hours=2, seconds=100)


async def test_the_summary_counts_it_ended_but_not_in_the_average_length(store: Store) -> None:
    _, ids, session_id = await _event(store)
    ada, bob, cy = ids["Ada"], ids["Bob"], ids["Cy"]
    done = await store.record_meeting_started(session_id, cy, ada, T0, 0.0, 0.0)
    await store.record_meeting_ended(done, T0 + timedelta(seconds=100), 0, "timeout")
    await store.record_meeting_started(session_id, ada, bob, T0 + timedelta(seconds=110), 0.0, 0.0)
    await store.record_report(session_id, bob, ada, "x", T0 + timedelta(seconds=150))
    before = await store.session_summary(session_id)
    assert (before.meetings, before.meetings_ended) == (2, 1)

    await store.close_interrupted_meetings(LATER)
    after = await store.session_summary(session_id)
    assert (after.meetings, after.meetings_ended) == (2, 2)
    assert after.end_reasons == {"timeout": 1, SERVER_RESTART: 1}
    # 40 s is only a lower bound of the second meeting's length: the average is the first one's.
    assert after.average_meeting_seconds == 100.0
    [match] = await store.matches_for_ticket(bob, session_id)
    assert match.end_reason == SERVER_RESTART and match.seconds == 40.0


async def test_a_restart_closes_the_meeting_the_last_run_left_open(start_server: StartServer) -> None:
    first = await start_server()
    demo = await make_demo(first)
    ada, bob = demo.tid("Ada"), demo.tid("Bob")
    # Times relative to now (never the wall-clock date): a meeting that started ten minutes ago, a
    # connection request two minutes into it, and then the server stops without recording its end.
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    await first.store.record_meeting_started(demo.session_id, ada, bob, started, 0.0, 0.0)
    await first.store.set_connection(ada, bob, ada, "requested", started + timedelta(minutes=2))
    await stop(first)

    second = await start_server(first.data_dir)
    matches = await second.ok(
        "GET", f"/api/sessions/{demo.session_id}/matches", token=None, params={"t": demo.secret("Bob")}
    )
    [match] = matches["matches"]
    assert match["end_reason"] == SERVER_RESTART
    assert match["seconds"] == 120.0
    assert datetime.fromisoformat(match["ended_at"]) == started + timedelta(minutes=2)
    summary = await second.ok("GET", f"/api/admin/sessions/{demo.session_id}/summary")
    assert summary["meetings_ended"] == 1 and summary["end_reasons"] == {SERVER_RESTART: 1}
    assert summary["average_meeting_seconds"] is None
