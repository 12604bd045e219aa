"""The attendee's API by ticket secret: session status, matches, connections, backgrounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.web.api_client import EVENT, NOW, SESSION, Api, Demo, image_bytes, make_demo


def _days_around_now() -> list[str]:
    today = NOW.date()
    return [(today + timedelta(days=d)).isoformat() for d in (-1, 0, 1)]


async def _event_now(api: Api) -> dict[str, Any]:
    event = await api.ok(
        "POST",
        "/api/admin/events",
        {"name": "Now", "timezone": "UTC", "days": _days_around_now()},
        status=201,
    )
    await api.ok("POST", f"/api/admin/events/{event['id']}/ticket-types", {"name": "Attendee"}, status=201)
    return event


async def test_session_status_follows_the_clock(api: Api) -> None:
    event = await _event_now(api)
    eid = event["id"]
    now = NOW  # the server's clock
    windows = {
        "ended": (now - timedelta(hours=2), now - timedelta(hours=1)),
        "live": (now - timedelta(minutes=5), now + timedelta(minutes=30)),
        "upcoming": (now + timedelta(minutes=30), now + timedelta(minutes=90)),
    }
    ids = {}
    for status, (start, end) in windows.items():
        created = await api.ok(
            "POST",
            f"/api/admin/events/{eid}/sessions",
            {
                "title": status,
                "starts_at": start.isoformat(),
                "ends_at": end.isoformat(),
                "meeting_seconds": 120,
            },
            status=201,
        )
        assert created["status"] == status
        ids[status] = created["id"]
    tickets = await api.ok(
        "POST",
        f"/api/admin/events/{eid}/tickets",
        {"tickets": [{"name": "Ada", "email": "ada@example.org", "ticket_type": "Attendee"}]},
        status=201,
    )
    secret = tickets["tickets"][0]["secret"]
    for status, sid in ids.items():
        info = await api.ok("GET", f"/api/sessions/{sid}", token=None, params={"t": secret})
        assert info["status"] == status
        assert info["event"] == {"id": eid, "name": "Now", "timezone": "UTC"}
        assert info["me"]["name"] == "Ada" and info["me"]["is_admin"] is False
        assert info["ice_servers"] == []
        assert datetime.fromisoformat(info["server_time"]) == NOW


async def test_upcoming_session_shows_pre_session_media(api: Api, demo: Demo) -> None:
    png = image_bytes("PNG", (64, 48))
    updated = await api.ok(
        "PUT",
        f"/api/admin/sessions/{demo.session_id}/pre-session-media",
        data=png,
        headers={"Content-Type": "image/png"},
    )
    media = updated["pre_session_media"]
    assert media["kind"] == "image" and media["content_type"] == "image/png"
    assert (media["width"], media["height"]) == (64, 48)
    info = await api.ok(
        "GET", f"/api/sessions/{demo.session_id}", token=None, params={"t": demo.secret("Ada")}
    )
    assert info["status"] == "upcoming"
    assert info["starts_at"] == "2030-05-01T07:00:00Z"
    assert info["pre_session_media"] == media
    served = await api.get(media["url"], token=None)
    assert served.status == 200 and served.headers["Content-Type"] == "image/png"
    record = await api.store.get_session(demo.session_id)
    assert record is not None and record.pre_session_media_url == media["url"]
    assert (await api.delete(f"/api/admin/sessions/{demo.session_id}/pre-session-media")).status == 204
    info = await api.ok(
        "GET", f"/api/sessions/{demo.session_id}", token=None, params={"t": demo.secret("Ada")}
    )
    assert info["pre_session_media"] is None
    assert (await api.get(media["url"], token=None)).status == 404


async def test_ticket_is_required_and_must_belong_to_the_event(api: Api, demo: Demo) -> None:
    path = f"/api/sessions/{demo.session_id}"
    assert (await api.get(path, token=None)).status == 401
    assert (await api.get(path, token=None, params={"t": "nope"})).status == 401
    # A secret that cannot exist is unknown, on PostgreSQL too (which refuses NUL in a query parameter).
    for impossible in ["a\x00b", "x" * 300, "é"]:
        reply = await api.get(path, token=None, params={"t": impossible})
        assert reply.status == 401 and reply.body["error"].startswith("unknown ticket"), reply.body
    # The admin token is not a ticket: organisers need a ticket to enter too.
    assert (await api.get(path)).status == 401
    assert (await api.get(path, token=None, params={"t": demo.secret("Org")})).status == 200
    assert (await api.get(path, token=None, headers={"X-Ticket": demo.secret("Cy")})).status == 200
    assert (await api.get("/api/sessions/999", token=None, params={"t": demo.secret("Cy")})).status == 404
    other = await make_demo_other_event(api)
    reply = await api.get(path, token=None, params={"t": other})
    assert reply.status == 403 and "another event" in reply.body["error"]
    assert (await api.get(f"{path}/matches", token=None, params={"t": other})).status == 403
    assert (await api.get(f"{path}/backgrounds", token=None, params={"t": other})).status == 403
    assert (await api.get("/api/me/connections", token=None)).status == 401


async def make_demo_other_event(api: Api) -> str:
    event = await api.ok("POST", "/api/admin/events", {**EVENT, "name": "Elsewhere"}, status=201)
    await api.ok("POST", f"/api/admin/events/{event['id']}/ticket-types", {"name": "Attendee"}, status=201)
    tickets = await api.ok(
        "POST",
        f"/api/admin/events/{event['id']}/tickets",
        {"tickets": [{"name": "Eve", "email": "eve@example.org", "ticket_type": "Attendee"}]},
        status=201,
    )
    return str(tickets["tickets"][0]["secret"])


async def test_matches_and_connections_after_meetings(api: Api, demo: Demo) -> None:
    store = api.store
    t0 = datetime(2030, 5, 1, 7, 5, tzinfo=UTC)
    ada, bob, cy = demo.tid("Ada"), demo.tid("Bob"), demo.tid("Cy")
    m1 = await store.record_meeting_started(demo.session_id, ada, bob, t0, 3.0, 1.0)
    await store.record_meeting_ended(m1, t0 + timedelta(seconds=270), 1, "timeout")
    await store.record_meeting_started(demo.session_id, cy, ada, t0 + timedelta(minutes=5), 0.0, 0.0)

    t = {"t": demo.secret("Ada")}
    matches = (await api.ok("GET", f"/api/sessions/{demo.session_id}/matches", token=None, params=t))[
        "matches"
    ]
    assert [m["partner"]["name"] for m in matches] == ["Bob", "Cy"]
    first, second = matches
    assert first["partner"] == {
        "ticket_id": bob,
        "name": "Bob",
        "headline": None,
        "company": "ACME",
        "ticket_type": "Sponsor",
    }
    assert first["seconds"] == 270.0 and first["extensions"] == 1 and first["end_reason"] == "timeout"
    assert first["connection"] is None
    assert second["ended_at"] is None and second["seconds"] is None

    # Ada asks Bob after the meeting; Bob sees the request, then asks back: accepted.
    requested = await api.ok("POST", f"/api/me/connections/{bob}", token=None, params=t)
    assert requested["state"] == "requested" and requested["requested_by_me"] is True
    assert requested["email"] is None
    again = await api.ok("POST", f"/api/me/connections/{bob}", token=None, params=t)
    assert again["state"] == "requested"
    tb = {"t": demo.secret("Bob")}
    bob_view = (await api.ok("GET", "/api/me/connections", token=None, params=tb))["connections"]
    assert [(c["person"]["name"], c["state"], c["requested_by_me"]) for c in bob_view] == [
        ("Ada", "requested", False)
    ]
    accepted = await api.ok("POST", f"/api/me/connections/{ada}", token=None, params=tb)
    assert accepted["state"] == "accepted" and accepted["email"] == "ada@example.org"
    assert accepted["accepted_at"] is not None
    ada_view = (await api.ok("GET", "/api/me/connections", token=None, params=t))["connections"]
    assert ada_view[0]["email"] == "bob@example.org" and ada_view[0]["requested_by_me"] is True
    matches = (await api.ok("GET", f"/api/sessions/{demo.session_id}/matches", token=None, params=t))[
        "matches"
    ]
    assert matches[0]["connection"] == "accepted"

    # Only people one met; not oneself; not unknown or other events' tickets.
    org = demo.tid("Org")
    assert (await api.post(f"/api/me/connections/{org}", token=None, params=t)).status == 403
    assert (await api.post(f"/api/me/connections/{ada}", token=None, params=t)).status == 422
    assert (await api.post("/api/me/connections/99999", token=None, params=t)).status == 404
    # A block rules a connection out.
    await store.record_block(demo.event_id, cy, ada, t0 + timedelta(minutes=6))
    assert (await api.post(f"/api/me/connections/{cy}", token=None, params=t)).status == 403


async def test_backgrounds_offered_and_uploaded(api: Api, demo: Demo) -> None:
    event_bg = await api.ok(
        "POST",
        f"/api/admin/events/{demo.event_id}/assets",
        data=image_bytes("JPEG", (80, 60)),
        headers={"Content-Type": "image/jpeg"},
        status=201,
    )
    assert event_bg["owner"] == "event" and event_bg["content_type"] == "image/jpeg"
    t = {"t": demo.secret("Ada")}
    mine = await api.ok(
        "POST",
        "/api/me/backgrounds",
        token=None,
        params=t,
        data=image_bytes("WEBP", (40, 30)),
        headers={"Content-Type": "image/webp"},
        status=201,
    )
    assert mine["owner"] == "me" and mine["content_type"] == "image/webp"
    listed = (await api.ok("GET", f"/api/sessions/{demo.session_id}/backgrounds", token=None, params=t))[
        "backgrounds"
    ]
    assert [(b["id"], b["owner"]) for b in listed] == [(event_bg["id"], "event"), (mine["id"], "me")]
    bobs = (
        await api.ok(
            "GET",
            f"/api/sessions/{demo.session_id}/backgrounds",
            token=None,
            params={"t": demo.secret("Bob")},
        )
    )["backgrounds"]
    assert [b["id"] for b in bobs] == [event_bg["id"]]
    admin_list = await api.ok("GET", f"/api/admin/events/{demo.event_id}/assets")
    assert [a["id"] for a in admin_list["assets"]] == [event_bg["id"]]
    # Only the owner can delete their own.
    tb = {"t": demo.secret("Bob")}
    assert (await api.delete(f"/api/me/backgrounds/{mine['id']}", token=None, params=tb)).status == 404
    assert (await api.delete(f"/api/me/backgrounds/{mine['id']}", token=None, params=t)).status == 204
    assert (await api.get(mine["url"], token=None)).status == 404
    assert (await api.delete(f"/api/admin/assets/{event_bg['id']}")).status == 204
    assert (await api.get(event_bg["url"], token=None)).status == 404


async def test_upload_count_per_ticket_is_limited(start_server: Any) -> None:
    api: Api = await start_server(max_uploads_per_ticket=2)
    demo = await make_demo(api, SESSION)
    t = {"t": demo.secret("Cy")}
    for _ in range(2):
        await api.ok("POST", "/api/me/backgrounds", token=None, params=t, data=image_bytes(), status=201)
    reply = await api.post("/api/me/backgrounds", token=None, params=t, data=image_bytes())
    assert reply.status == 409
    files = [p for p in (api.data_dir / "media").iterdir()]
    assert len(files) == 2
