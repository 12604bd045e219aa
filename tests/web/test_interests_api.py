"""Interests, private notes and ratings over HTTP: every route, its bad inputs, and that they change
nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.web.api_client import Api, Demo

TAGS = ["AI", "Climate", "Health", "Fintech", "Design", "Robotics"]
T0 = datetime(2030, 5, 1, 7, 5, tzinfo=UTC)


def _err(reply: Any, status: int) -> str:
    assert reply.status == status, (reply.status, reply.body)
    assert isinstance(reply.body, dict) and isinstance(reply.body.get("error"), str)
    return str(reply.body["error"]) + " " + str(reply.body.get("details") or "")


async def test_organiser_sets_the_events_tags(api: Api, demo: Demo) -> None:
    path = f"/api/admin/events/{demo.event_id}/interests"
    assert await api.ok("GET", path) == {"tags": []}
    assert await api.ok("PUT", path, {"tags": [" AI ", *TAGS[1:]]}) == {"tags": TAGS}
    assert await api.ok("GET", path) == {"tags": TAGS}
    # Too many, twice ignoring case, empty, too long, not a list, an unknown field: 4xx, nothing changes.
    for body, status in (
        ({"tags": [f"t{i}" for i in range(51)]}, 422),
        ({"tags": ["AI", "ai"]}, 422),
        ({"tags": ["AI", " "]}, 422),
        ({"tags": ["x" * 41]}, 422),
        ({"tags": "AI"}, 422),
        ({"tags": TAGS, "extra": 1}, 422),
    ):
        _err(await api.call("PUT", path, body), status)
    assert await api.ok("GET", path) == {"tags": TAGS}
    # Attendees cannot; other events' admins neither; unknown events are not found.
    t = {"t": demo.secret("Ada")}
    _err(await api.call("PUT", path, {"tags": []}, token=None, params=t), 401)
    _err(await api.call("PUT", "/api/admin/events/9999/interests", {"tags": []}), 404)
    assert await api.ok("GET", path) == {"tags": TAGS}


async def test_attendee_picks_up_to_five_of_the_events_tags(api: Api, demo: Demo) -> None:
    await api.ok("PUT", f"/api/admin/events/{demo.event_id}/interests", {"tags": TAGS})
    t = {"t": demo.secret("Ada")}
    mine = await api.ok("GET", "/api/me/interests", token=None, params=t)
    assert mine == {"interests": [], "offered": TAGS, "max_interests": 5}
    picked = await api.ok("PUT", "/api/me/interests", {"interests": ["health", "AI"]}, token=None, params=t)
    assert picked["interests"] == ["AI", "Health"]  # the event's spelling and order
    for body in (
        {"interests": TAGS},  # six: too many
        {"interests": ["AI", "Quantum"]},  # not a tag of this event
        {"interests": ["AI", ""]},
        {"interests": "AI"},
        {},
    ):
        _err(await api.call("PUT", "/api/me/interests", body, token=None, params=t), 422)
    _err(await api.call("PUT", "/api/me/interests", {"interests": []}, token=None), 401)
    assert (await api.ok("GET", "/api/me/interests", token=None, params=t))["interests"] == ["AI", "Health"]
    # The session page shows them, and the organiser sees them with the ticket.
    session = await api.ok("GET", f"/api/sessions/{demo.session_id}", token=None, params=t)
    assert (session["interests"], session["offered_interests"], session["max_interests"]) == (
        ["AI", "Health"],
        TAGS,
        5,
    )
    ticket = await api.ok("GET", f"/api/admin/tickets/{demo.tid('Ada')}")
    assert ticket["interests"] == ["AI", "Health"]


async def test_the_bulk_import_pre_fills_interests(api: Api, demo: Demo) -> None:
    await api.ok("PUT", f"/api/admin/events/{demo.event_id}/interests", {"tags": TAGS})
    path = f"/api/admin/events/{demo.event_id}/tickets"
    created = await api.ok(
        "POST",
        path,
        {"tickets": [{"name": "Dee", "email": "dee@example.org", "ticket_type": "Attendee",
                      "interests": ["Robotics", "climate"]}]},
        status=201,
    )  # fmt: skip
    assert created["tickets"][0]["interests"] == ["Climate", "Robotics"]
    before = await api.ok("GET", path)
    for interests in (["AI", "Unknown"], TAGS):
        bad = {"tickets": [{"name": "Eve", "email": "eve@example.org", "ticket_type": "Attendee"},
                           {"name": "Fay", "email": "fay@example.org", "ticket_type": "Attendee",
                            "interests": interests}]}  # fmt: skip
        _err(await api.call("POST", path, bad), 422)
    assert await api.ok("GET", path) == before
    listed = {t["name"]: t["interests"] for t in before["tickets"]}
    assert listed["Dee"] == ["Climate", "Robotics"] and listed["Ada"] == []


async def test_interest_weighting_is_a_session_setting(api: Api, demo: Demo) -> None:
    path = f"/api/admin/sessions/{demo.session_id}"
    assert (await api.ok("GET", path))["interest_weighting"] is True
    assert (await api.ok("PATCH", path, {"interest_weighting": False}))["interest_weighting"] is False
    _err(await api.call("PATCH", path, {"interest_weighting": None}), 422)
    _err(await api.call("PATCH", path, {"interest_weighting": "sometimes"}), 422)
    assert (await api.ok("GET", path))["interest_weighting"] is False


async def test_private_notes_and_ratings_after_a_meeting(api: Api, demo: Demo) -> None:
    store = api.store
    await api.ok("PUT", f"/api/admin/events/{demo.event_id}/interests", {"tags": TAGS})
    ada, bob, cy = demo.tid("Ada"), demo.tid("Bob"), demo.tid("Cy")
    await store.interests.set_ticket_interests(ada, ["AI", "Health"])
    await store.interests.set_ticket_interests(bob, ["Health", "Design"])
    meeting = await store.record_meeting_started(demo.session_id, ada, bob, T0, 1.0, 1.0)
    await store.record_meeting_ended(meeting, T0 + timedelta(minutes=3), 0, "timeout")
    other = await store.record_meeting_started(demo.session_id, bob, cy, T0, 0.0, 0.0)
    ta, tb = {"t": demo.secret("Ada")}, {"t": demo.secret("Bob")}
    path = f"/api/me/meetings/{meeting}/note"

    _err(await api.call("GET", path, token=None, params=ta), 404)  # nothing written yet
    body = {"note": "Pilot in June\nsend deck", "rating": 4, "would_meet_again": True}
    saved = await api.ok("PUT", path, body, token=None, params=ta)
    assert (saved["meeting_id"], saved["note"], saved["rating"], saved["would_meet_again"]) == (
        meeting,
        "Pilot in June\nsend deck",
        4,
        True,
    )
    assert await api.ok("GET", path, token=None, params=ta) == saved

    # Bad inputs: a clear 4xx and the note stays as it was.
    for bad, status in (
        ({"note": "x" * 1001}, 422),
        ({"rating": 0}, 422),
        ({"rating": 6}, 422),
        ({"rating": 4.5}, 422),
        ({"rating": "5"}, 422),
        ({"would_meet_again": "yes"}, 422),
        ({"note": "bell\u0007"}, 422),
        ({"mood": "great"}, 422),
    ):
        _err(await api.call("PUT", path, bad, token=None, params=ta), status)
    # Someone else's meeting, a meeting that does not exist, no ticket.
    assert "own meetings" in _err(
        await api.call("PUT", f"/api/me/meetings/{other}/note", body, token=None, params=ta), 403
    )
    _err(await api.call("PUT", "/api/me/meetings/99999/note", body, token=None, params=ta), 404)
    _err(await api.call("PUT", path, body, token=None), 401)
    assert await api.ok("GET", path, token=None, params=ta) == saved

    # The partner never sees it; each side has their own.
    _err(await api.call("GET", path, token=None, params=tb), 404)
    await api.ok("PUT", path, {"rating": 2, "would_meet_again": False}, token=None, params=tb)
    matches = {
        m["partner"]["name"]: m
        for m in (await api.ok("GET", f"/api/sessions/{demo.session_id}/matches", token=None, params=ta))[
            "matches"
        ]
    }
    assert matches["Bob"]["note"]["note"] == "Pilot in June\nsend deck"
    assert matches["Bob"]["shared_interests"] == ["Health"]
    bob_matches = (await api.ok("GET", f"/api/sessions/{demo.session_id}/matches", token=None, params=tb))[
        "matches"
    ]
    assert [m["note"]["rating"] if m["note"] else None for m in bob_matches] == [2, None]
    assert "Pilot" not in str(bob_matches)

    # Editing replaces; an empty note clears the text.
    edited = await api.ok("PUT", path, {"note": "", "rating": 5}, token=None, params=ta)
    assert (edited["note"], edited["rating"], edited["would_meet_again"]) == (None, 5, None)

    # The organiser sees aggregates only.
    ratings = await api.ok("GET", f"/api/admin/sessions/{demo.session_id}/ratings")
    assert ratings == {
        "session_id": demo.session_id,
        "ratings": 2,
        "average_rating": 3.5,
        "answers": 1,
        "would_meet_again": 0,
        "would_meet_again_share": 0.0,
    }
    _err(await api.call("GET", f"/api/admin/sessions/{demo.session_id}/ratings", token=None, params=ta), 401)
