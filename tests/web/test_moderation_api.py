"""The organiser's moderation API: removals from a session and the session's reports."""

from __future__ import annotations

from datetime import timedelta

from tests.web.api_client import NOW, Api, Demo
from web.store import EventInput, TicketInput


def _removals(demo: Demo) -> str:
    return f"/api/admin/sessions/{demo.session_id}/removals"


async def test_a_removal_is_listed_refused_twice_and_undone(api: Api, demo: Demo) -> None:
    assert await api.ok("GET", _removals(demo)) == {"removals": []}
    removal = await api.ok("POST", _removals(demo), {"ticket_id": demo.tid("Bob")}, status=201)
    assert (removal["ticket_id"], removal["name"], removal["session_id"]) == (
        demo.tid("Bob"),
        "Bob",
        demo.session_id,
    )
    again = await api.post(_removals(demo), {"ticket_id": demo.tid("Bob")})
    assert again.status == 409 and "already" in again.body["error"]
    listed = await api.ok("GET", _removals(demo))
    assert [r["name"] for r in listed["removals"]] == ["Bob"]
    await api.ok("DELETE", f"{_removals(demo)}/{demo.tid('Bob')}", status=204)
    assert await api.ok("GET", _removals(demo)) == {"removals": []}
    gone = await api.delete(f"{_removals(demo)}/{demo.tid('Bob')}")
    assert gone.status == 404 and "error" in gone.body


async def test_bad_input_is_a_4xx_with_an_error(api: Api, demo: Demo) -> None:
    for body in ({}, {"ticket_id": "1"}, {"ticket_id": 0}, {"ticket_id": 2**31}, {"ticket_id": 1, "x": 1}):
        reply = await api.post(_removals(demo), body)
        assert 400 <= reply.status < 500 and "error" in reply.body, (body, reply.status)
    for ticket_id in (99999, 1_000_000):
        reply = await api.post(_removals(demo), {"ticket_id": ticket_id})
        assert reply.status == 404 and "error" in reply.body
    for path in ("/api/admin/sessions/99999/removals", "/api/admin/sessions/99999/reports"):
        reply = await api.get(path)
        assert reply.status == 404 and "error" in reply.body
    reply = await api.patch("/api/admin/reports/99999", {"action": "dismissed"})
    assert reply.status == 404 and "error" in reply.body


async def test_another_events_admin_ticket_is_forbidden_and_its_tickets_not_found(
    api: Api, demo: Demo
) -> None:
    other = await api.store.create_event(EventInput("Other Day", "UTC", (NOW.date(),)))
    await api.store.create_ticket_type(other.id, "Attendee")
    theirs = await api.store.create_tickets(
        other.id,
        [
            TicketInput("Zed", "zed@example.org", "Attendee", is_admin=True),
            TicketInput("Yan", "y@example.org", "Attendee"),
        ],
    )
    stranger = theirs[0].secret
    session_id = demo.session_id
    for method, path, body in (
        ("GET", _removals(demo), None),
        ("POST", _removals(demo), {"ticket_id": demo.tid("Ada")}),
        ("DELETE", f"{_removals(demo)}/{demo.tid('Ada')}", None),
        ("GET", f"/api/admin/sessions/{session_id}/reports", None),
    ):
        reply = await api.call(method, path, body, token=stranger)
        assert reply.status == 403 and "error" in reply.body, (method, path)
    # The event's own organiser ticket may; a ticket of another event cannot be removed from this session.
    own = demo.secret("Org")
    await api.ok("POST", _removals(demo), {"ticket_id": demo.tid("Ada")}, status=201, token=own)
    reply = await api.post(_removals(demo), {"ticket_id": theirs[1].id})
    assert reply.status == 404
    # A report of this event: another event's organiser may not act on it.
    await api.store.record_report(session_id, demo.tid("Ada"), demo.tid("Bob"), "rude", NOW)
    (report,) = (await api.ok("GET", f"/api/admin/sessions/{session_id}/reports"))["reports"]
    reply = await api.patch(f"/api/admin/reports/{report['id']}", {"action": "dismissed"}, token=stranger)
    assert reply.status == 403


async def test_reports_say_who_whom_when_why_and_what_was_done(api: Api, demo: Demo) -> None:
    session_id = demo.session_id
    reports_url = f"/api/admin/sessions/{session_id}/reports"
    assert await api.ok("GET", reports_url) == {"reports": []}
    await api.store.record_report(session_id, demo.tid("Ada"), demo.tid("Bob"), "rude", NOW)
    await api.store.record_report(
        session_id, demo.tid("Cy"), demo.tid("Bob"), "spam", NOW + timedelta(minutes=1)
    )
    reports = (await api.ok("GET", reports_url))["reports"]
    assert [(r["by_name"], r["reported_name"], r["reason"], r["action"]) for r in reports] == [
        ("Ada", "Bob", "rude", None),
        ("Cy", "Bob", "spam", None),
    ]
    assert reports[0]["by_ticket_id"] == demo.tid("Ada") and reports[0]["reported_ticket_id"] == demo.tid(
        "Bob"
    )
    url = f"/api/admin/reports/{reports[0]['id']}"
    done = await api.ok("PATCH", url, {"action": "warned", "note": "spoke to them"})
    assert (done["action"], done["action_note"]) == ("warned", "spoke to them") and done["action_at"]
    for body in (
        {"action": "banished"},
        {"action": "warned", "note": "x" * 1001},
        {"note": 3},
        {"action": 1},
    ):
        reply = await api.patch(url, body)
        assert 400 <= reply.status < 500 and "error" in reply.body, body
    assert (await api.ok("GET", reports_url))["reports"][0]["action"] == "warned"
    cleared = await api.ok("PATCH", url, {"action": None})
    assert cleared["action"] is None and cleared["action_at"] is None
