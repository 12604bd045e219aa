"""The organiser's API against a real server: CRUD, validation with the right status codes, scoping."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from tests.web.api_client import EVENT, SESSION, Api, Demo, StartServer, make_demo


async def test_event_crud_round_trip(api: Api) -> None:
    created = await api.ok("POST", "/api/admin/events", EVENT, status=201)
    assert created["name"] == "Demo Day"
    assert created["days"] == ["2030-05-01", "2030-05-02"]
    eid = created["id"]
    listed = await api.ok("GET", "/api/admin/events")
    assert [e["id"] for e in listed["events"]] == [eid]
    patched = await api.ok(
        "PATCH", f"/api/admin/events/{eid}", {"name": "Demo Day 2030", "days": ["2030-05-01", "2030-05-03"]}
    )
    assert patched["name"] == "Demo Day 2030"
    assert patched["timezone"] == "Europe/Berlin"
    assert patched["days"] == ["2030-05-01", "2030-05-03"]
    detail = await api.ok("GET", f"/api/admin/events/{eid}")
    assert detail["ticket_types"] == [] and detail["sessions"] == []
    assert (await api.delete(f"/api/admin/events/{eid}")).status == 204
    assert (await api.get(f"/api/admin/events/{eid}")).status == 404


async def test_demo_event_with_types_tickets_and_session(api: Api, demo: Demo) -> None:
    detail = await api.ok("GET", f"/api/admin/events/{demo.event_id}")
    assert [t["name"] for t in detail["ticket_types"]] == ["Attendee", "Sponsor", "Speaker"]
    assert {t["name"]: t["ticket_count"] for t in detail["ticket_types"]} == {
        "Attendee": 2,
        "Sponsor": 1,
        "Speaker": 1,
    }
    [session] = detail["sessions"]
    # Times without an offset are the event's local time (Berlin is UTC+2 in May).
    assert session["starts_at"] == "2030-05-01T07:00:00Z"
    assert session["ends_at"] == "2030-05-01T08:00:00Z"
    assert session["status"] == "upcoming"
    assert session["allow_rematch"] is False
    assert session["rematch_cooldown_seconds"] == 300
    assert session["max_extensions"] == 1
    assert session["allowed_pairs"] is None

    tickets = (await api.ok("GET", f"/api/admin/events/{demo.event_id}/tickets"))["tickets"]
    assert [t["name"] for t in tickets] == ["Ada", "Bob", "Cy", "Org"]
    ada = tickets[0]
    assert ada["headline"] == "Engineer" and ada["ticket_type"] == "Attendee" and not ada["is_admin"]
    assert len(ada["secret"]) >= 32
    assert len({t["secret"] for t in tickets}) == 4
    [link] = ada["join_links"]
    assert link["url"] == f"{api.url}/s/{demo.session_id}?t={ada['secret']}"
    assert tickets[3]["is_admin"] is True


async def test_join_links_use_the_public_host(start_server: StartServer) -> None:
    api = await start_server(public_host="meet.example.org")
    demo = await make_demo(api)
    ticket = await api.ok("GET", f"/api/admin/tickets/{demo.tid('Ada')}")
    assert (
        ticket["join_links"][0]["url"]
        == f"https://meet.example.org/s/{demo.session_id}?t={demo.secret('Ada')}"
    )


async def test_ticket_patch_and_secret_rotation(api: Api, demo: Demo) -> None:
    tid = demo.tid("Bob")
    old = demo.secret("Bob")
    patched = await api.ok(
        "PATCH", f"/api/admin/tickets/{tid}", {"headline": "CTO", "ticket_type": "Speaker", "company": None}
    )
    assert patched["headline"] == "CTO" and patched["ticket_type"] == "Speaker" and patched["company"] is None
    assert patched["secret"] == old
    rotated = await api.ok("PATCH", f"/api/admin/tickets/{tid}", {"regenerate_secret": True})
    assert rotated["secret"] != old
    assert (await api.get(f"/api/sessions/{demo.session_id}", token=None, params={"t": old})).status == 401
    ok = await api.get(f"/api/sessions/{demo.session_id}", token=None, params={"t": rotated["secret"]})
    assert ok.status == 200
    assert (await api.delete(f"/api/admin/tickets/{tid}")).status == 204
    assert (await api.get(f"/api/admin/tickets/{tid}")).status == 404


async def test_session_rules_and_matrix(api: Api, demo: Demo) -> None:
    sid = demo.session_id
    patched = await api.ok(
        "PATCH",
        f"/api/admin/sessions/{sid}",
        {
            "meeting_seconds": 300,
            "allow_rematch": True,
            "rematch_cooldown_seconds": 60,
            "max_extensions": 2,
            "allowed_pairs": [["Sponsor", "Attendee"], ["Attendee", "Attendee"]],
        },
    )
    assert patched["meeting_seconds"] == 300 and patched["allow_rematch"] is True
    assert patched["rematch_cooldown_seconds"] == 60 and patched["max_extensions"] == 2
    assert sorted(map(sorted, patched["allowed_pairs"])) == [
        ["Attendee", "Attendee"],
        ["Attendee", "Sponsor"],
    ]
    # Leaving allowed_pairs out keeps the matrix; a rename shows through.
    await api.ok("PATCH", f"/api/admin/ticket-types/{demo.types['Sponsor']}", {"name": "Partner"})
    kept = await api.ok("PATCH", f"/api/admin/sessions/{sid}", {"title": "Renamed"})
    assert kept["title"] == "Renamed"
    assert sorted(map(sorted, kept["allowed_pairs"])) == [["Attendee", "Attendee"], ["Attendee", "Partner"]]
    # The store hands the media plane the same rules.
    record = await api.store.get_session(sid)
    assert record is not None and record.meeting_seconds == 300
    assert record.allowed_pairs is not None and ("Attendee", "Partner") in record.allowed_pairs
    # An explicit null lets everyone meet everyone again.
    lifted = await api.ok("PATCH", f"/api/admin/sessions/{sid}", {"allowed_pairs": None})
    assert lifted["allowed_pairs"] is None
    assert (await api.delete(f"/api/admin/sessions/{sid}")).status == 204
    assert (await api.get(f"/api/admin/sessions/{sid}")).status == 404


async def test_session_days_are_checked_in_the_events_time_zone(api: Api) -> None:
    event = await api.ok(
        "POST",
        "/api/admin/events",
        {"name": "LA", "timezone": "America/Los_Angeles", "days": ["2030-05-01"]},
        status=201,
    )
    url = f"/api/admin/events/{event['id']}/sessions"
    # 20:00 in Los Angeles on May 1 is already May 2 in UTC: still the event's day.
    evening = {
        **SESSION,
        "title": "Evening",
        "starts_at": "2030-05-01T20:00:00-07:00",
        "ends_at": "2030-05-02T06:30:00Z",
    }
    created = await api.ok("POST", url, evening, status=201)
    assert created["starts_at"] == "2030-05-02T03:00:00Z"
    # 01:00 UTC on May 1 is the evening of April 30 in Los Angeles.
    early = {
        **SESSION,
        "title": "Early",
        "starts_at": "2030-05-01T01:00:00Z",
        "ends_at": "2030-05-01T08:00:00Z",
    }
    reply = await api.post(url, early)
    assert reply.status == 422
    assert "2030-04-30" in reply.body["error"]
    # A session ending exactly at midnight stays on its day.
    late = {**SESSION, "title": "Late", "starts_at": "2030-05-01T23:00:00", "ends_at": "2030-05-02T00:00:00"}
    assert (await api.post(url, late)).status == 201


async def test_validation_errors_have_the_right_status(api: Api, demo: Demo) -> None:
    eid = demo.event_id
    sessions = f"/api/admin/events/{eid}/sessions"

    async def expect(
        status: int, method: str, path: str, body: object = None, **kw: object
    ) -> dict[str, object]:
        reply = await api.call(method, path, body, **kw)  # type: ignore[arg-type]
        assert reply.status == status, (method, path, body, reply.status, reply.body)
        assert isinstance(reply.body, dict) and isinstance(reply.body["error"], str) and reply.body["error"]
        return reply.body

    # 400: not JSON at all, or empty.
    await expect(
        400, "POST", "/api/admin/events", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    await expect(400, "POST", "/api/admin/events", data=b"")
    # 422: valid JSON that breaks the schema, with details naming the field.
    body = await expect(422, "POST", "/api/admin/events", {"name": "x"})
    assert any(d["loc"] == ["days"] for d in body["details"])  # type: ignore[attr-defined]
    await expect(422, "POST", "/api/admin/events", [1, 2])
    await expect(422, "POST", "/api/admin/events", {**EVENT, "name": "Other", "unknown": 1})
    await expect(422, "POST", "/api/admin/events", {**EVENT, "name": "Other", "days": []})
    await expect(422, "POST", "/api/admin/events", {**EVENT, "name": "Other", "timezone": "Mars/Olympus"})
    await expect(422, "POST", "/api/admin/events", {**EVENT, "name": "Other", "days": ["2030-02-30"]})
    await expect(422, "POST", sessions, {**SESSION, "title": "T1", "meeting_seconds": 59})
    await expect(422, "POST", sessions, {**SESSION, "title": "T2", "meeting_seconds": 3601})
    await expect(422, "POST", sessions, {**SESSION, "title": "T3", "ends_at": SESSION["starts_at"]})
    await expect(422, "POST", sessions, {**SESSION, "title": "T4", "ends_at": "2030-05-01T08:00:00"})
    await expect(
        422,
        "POST",
        sessions,
        {**SESSION, "title": "T5", "starts_at": "2030-05-03T09:00:00", "ends_at": "2030-05-03T10:00:00"},
    )
    await expect(422, "POST", sessions, {**SESSION, "title": "T6", "allowed_pairs": [["Attendee", "Nobody"]]})
    await expect(422, "POST", sessions, {**SESSION, "title": "T7", "allowed_pairs": []})
    await expect(422, "POST", sessions, {**SESSION, "title": "T8", "allowed_pairs": [["Attendee"]]})
    await expect(422, "POST", sessions, {**SESSION, "title": "T9", "max_extensions": -1})
    await expect(422, "PATCH", f"/api/admin/sessions/{demo.session_id}", {"title": None})
    await expect(
        422,
        "POST",
        f"/api/admin/events/{eid}/tickets",
        {"tickets": [{"name": "Z", "email": "z@example.org", "ticket_type": "Nope"}]},
    )
    await expect(
        422,
        "POST",
        f"/api/admin/events/{eid}/tickets",
        {"tickets": [{"name": "Z", "email": "not-an-email", "ticket_type": "Attendee"}]},
    )
    await expect(422, "POST", f"/api/admin/events/{eid}/tickets", {"tickets": []})
    await expect(422, "POST", f"/api/admin/events/{eid}/ticket-types", {"name": "   "})
    # 409: duplicate names, tickets for the same email, things still in use.
    await expect(409, "POST", "/api/admin/events", EVENT)
    await expect(409, "POST", f"/api/admin/events/{eid}/ticket-types", {"name": "Sponsor"})
    await expect(409, "PATCH", f"/api/admin/ticket-types/{demo.types['Speaker']}", {"name": "Sponsor"})
    await expect(409, "POST", sessions, SESSION)
    await expect(
        409,
        "POST",
        f"/api/admin/events/{eid}/tickets",
        {"tickets": [{"name": "Ada again", "email": "ADA@example.org", "ticket_type": "Attendee"}]},
    )
    await expect(
        409,
        "POST",
        f"/api/admin/events/{eid}/tickets",
        {
            "tickets": [
                {"name": "New", "email": "new@example.org", "ticket_type": "Attendee"},
                {"name": "New 2", "email": "new@example.org", "ticket_type": "Attendee"},
            ]
        },
    )
    await expect(409, "DELETE", f"/api/admin/ticket-types/{demo.types['Sponsor']}")
    await expect(409, "PATCH", f"/api/admin/events/{eid}", {"days": ["2030-05-02"]})
    # 404: unknown ids, including absurd ones, and unknown routes.
    await expect(404, "GET", "/api/admin/events/999")
    await expect(404, "GET", "/api/admin/events/99999999999999999999999")
    await expect(404, "PATCH", "/api/admin/sessions/999", {"title": "x"})
    await expect(404, "DELETE", "/api/admin/tickets/999")
    await expect(404, "DELETE", "/api/admin/ticket-types/999")
    await expect(404, "DELETE", "/api/admin/assets/999")
    await expect(404, "GET", "/api/admin/sessions/999/summary")
    await expect(404, "GET", "/api/admin/nothing-here")
    await expect(405, "PUT", f"/api/admin/events/{eid}", EVENT)

    # Nothing above changed what was stored.
    detail = await api.ok("GET", f"/api/admin/events/{eid}")
    assert detail["name"] == EVENT["name"] and detail["days"] == EVENT["days"]
    assert [s["title"] for s in detail["sessions"]] == [SESSION["title"]]
    tickets = (await api.ok("GET", f"/api/admin/events/{eid}/tickets"))["tickets"]
    assert sorted(t["name"] for t in tickets) == ["Ada", "Bob", "Cy", "Org"]
    assert len((await api.ok("GET", "/api/admin/events"))["events"]) == 1


async def test_bulk_tickets_are_all_or_nothing(api: Api, demo: Demo) -> None:
    reply = await api.post(
        f"/api/admin/events/{demo.event_id}/tickets",
        {
            "tickets": [
                {"name": "Fine", "email": "fine@example.org", "ticket_type": "Attendee"},
                {"name": "Dup", "email": "bob@example.org", "ticket_type": "Attendee"},
            ]
        },
    )
    assert reply.status == 409
    assert "bob@example.org" in reply.body["error"]
    tickets = (await api.ok("GET", f"/api/admin/events/{demo.event_id}/tickets"))["tickets"]
    assert "Fine" not in {t["name"] for t in tickets}


async def test_authentication_and_scoping(api: Api, demo: Demo) -> None:
    path = f"/api/admin/events/{demo.event_id}"
    missing = await api.get(path, token=None)
    assert missing.status == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await api.get(path, token="not-the-token")).status == 401
    assert (await api.get(path, token=None, headers={"Authorization": "Basic abc"})).status == 401
    # An attendee's ticket on the admin API: forbidden.
    assert (await api.get(path, token=demo.secret("Ada"))).status == 403
    # An organiser's ticket works for its own event only.
    org = demo.secret("Org")
    assert (await api.get(path, token=org)).status == 200
    events = await api.ok("GET", "/api/admin/events", token=org)
    assert [e["id"] for e in events["events"]] == [demo.event_id]
    assert (await api.post("/api/admin/events", {**EVENT, "name": "Mine"}, token=org)).status == 403
    other = await api.ok("POST", "/api/admin/events", {**EVENT, "name": "Other"}, status=201)
    assert (await api.get(f"/api/admin/events/{other['id']}", token=org)).status == 403
    assert (await api.get(f"/api/admin/events/{other['id']}/tickets", token=org)).status == 403
    assert (await api.delete(path, token=org)).status == 403


async def test_summary_counts_meetings_extensions_connections_and_wait(api: Api, demo: Demo) -> None:
    store = api.store
    t0 = datetime(2030, 5, 1, 7, 5, tzinfo=UTC)
    ada, bob, cy = demo.tid("Ada"), demo.tid("Bob"), demo.tid("Cy")
    m1 = await store.record_meeting_started(demo.session_id, ada, bob, t0, 4.0, 10.0)
    await store.record_meeting_ended(m1, t0 + timedelta(seconds=270), 1, "timeout")
    m2 = await store.record_meeting_started(demo.session_id, ada, cy, t0 + timedelta(minutes=6), 2.0, 0.0)
    await store.record_meeting_ended(m2, t0 + timedelta(minutes=7), 0, "left")
    await store.record_meeting_started(demo.session_id, bob, cy, t0 + timedelta(minutes=8), 8.0, 0.0)
    await store.set_connection(ada, bob, ada, "requested", t0 + timedelta(seconds=30))
    await store.set_connection(bob, ada, ada, "accepted", t0 + timedelta(seconds=40))
    await store.set_connection(cy, ada, cy, "requested", t0 + timedelta(minutes=7))
    await store.record_report(demo.session_id, cy, bob, "rude", t0 + timedelta(minutes=9))

    summary = await api.ok("GET", f"/api/admin/sessions/{demo.session_id}/summary")
    assert summary["meetings"] == 3
    assert summary["meetings_ended"] == 2
    assert summary["meetings_extended"] == 1
    assert summary["extensions"] == 1
    assert summary["attendees_met"] == 3
    assert summary["connections_accepted"] == 1
    assert summary["connections_requested"] == 1
    assert summary["average_wait_seconds"] == 4.0  # (4 + 10 + 2 + 0 + 8 + 0) / 6
    assert summary["average_meeting_seconds"] == 165.0  # (270 + 60) / 2
    assert summary["end_reasons"] == {"timeout": 1, "left": 1}
    assert summary["reports"] == 1
    assert summary["status"] == "upcoming"


async def test_live_view_without_a_running_room(api: Api, demo: Demo) -> None:
    live = await api.ok("GET", f"/api/admin/sessions/{demo.session_id}/live")
    assert live == {"session_id": demo.session_id, "status": "upcoming", "running": False, "live": None}


async def test_deleting_an_event_removes_everything_in_it(api: Api, demo: Demo) -> None:
    t0 = datetime(2030, 5, 1, 7, 5, tzinfo=UTC)
    await api.store.record_meeting_started(demo.session_id, demo.tid("Ada"), demo.tid("Bob"), t0, 1.0, 1.0)
    assert (await api.delete(f"/api/admin/events/{demo.event_id}")).status == 204
    assert await api.store.get_ticket(demo.tid("Ada")) is None
    assert await api.store.get_session(demo.session_id) is None
    assert await api.store.get_ticket_by_secret(demo.secret("Bob")) is None
    assert await api.store.meetings_for_event(demo.event_id) == []


async def test_large_bulk_ticket_list(api: Api, demo: Demo) -> None:
    tickets = [
        {
            "name": f"Guest {i}",
            "email": f"guest{i}@example.org",
            "ticket_type": "Attendee",
            "headline": "x" * 100,
        }
        for i in range(2000)
    ]
    path = f"/api/admin/events/{demo.event_id}/tickets"
    json_type = {"Content-Type": "application/json"}

    def body(value: object) -> io.BytesIO:
        # Streamed from a file-like object: the client warns about large raw bytes.
        return io.BytesIO(json.dumps(value).encode())

    created = await api.ok("POST", path, data=body({"tickets": tickets}), headers=json_type, status=201)
    assert len(created["tickets"]) == 2000
    assert len({t["secret"] for t in created["tickets"]}) == 2000
    too_big = {"tickets": [{**tickets[0], "headline": "y" * 200}] * 12_000}
    reply = await api.post(path, data=body(too_big), headers=json_type)
    assert reply.status == 413 and reply.body == {"error": "request body too large"}


async def test_out_of_range_and_unprintable_values_are_422(api: Api, demo: Demo) -> None:
    sessions = f"/api/admin/events/{demo.event_id}/sessions"
    bad_sessions = [
        {"starts_at": "9999-12-31T23:00:00-05:00", "ends_at": "9999-12-31T23:30:00-05:00"},
        {"starts_at": "0001-01-01T00:00:00+05:00", "ends_at": "0001-01-01T01:00:00+05:00"},
        {"starts_at": "2030-05-01T09:00:00", "ends_at": "2031-05-01T09:00:00"},
        {"starts_at": 1e300, "ends_at": 1e301},
        {"meeting_seconds": 10**30},
        {"title": "nul\x00"},
    ]
    for patch in bad_sessions:
        reply = await api.post(sessions, {**SESSION, "title": "Edge", **patch})
        assert reply.status == 422, (patch, reply.status, reply.body)
        reply = await api.patch(f"/api/admin/sessions/{demo.session_id}", patch)
        assert reply.status == 422, (patch, reply.status, reply.body)
    for name in ("a\x00b", "lone \ud800 surrogate", "tab\there"):
        reply = await api.post("/api/admin/events", {"name": name, "days": ["2030-01-01"]})
        assert reply.status == 422, (name, reply.body)
    reply = await api.post("/api/admin/events", {"name": "Far", "days": ["0001-01-01"]})
    assert reply.status == 422
