"""Downloads over HTTP: an attendee's accepted connections (vCard, CSV) and a session's CSV exports for
its organiser, checked by parsing them. Never a note; email addresses only for accepted connections."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from tests.web.api_client import Api, Demo
from web.exports import BOM

T0 = datetime(2030, 5, 1, 7, 5, tzinfo=UTC)
SECRET_NOTE = "do not leak this note"


def parse(raw: bytes) -> list[dict[str, str]]:
    text = raw.decode()
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[len(BOM) :], newline="")))


async def _history(api: Api, demo: Demo) -> dict[str, int]:
    store = api.store
    ada, bob, cy = demo.tid("Ada"), demo.tid("Bob"), demo.tid("Cy")
    # A name that would be a formula in a spreadsheet.
    await api.ok("PATCH", f"/api/admin/tickets/{cy}", {"name": '=HYPERLINK("http://evil")'})
    m1 = await store.record_meeting_started(demo.session_id, ada, bob, T0, 2.0, 1.0)
    await store.record_meeting_ended(m1, T0 + timedelta(seconds=270), 1, "timeout")
    m2 = await store.record_meeting_started(demo.session_id, bob, cy, T0 + timedelta(minutes=5), 0.0, 0.0)
    await store.record_meeting_ended(m2, T0 + timedelta(minutes=6), 0, "left")
    m3 = await store.record_meeting_started(demo.session_id, cy, ada, T0 + timedelta(minutes=7), 0.0, 0.0)
    await store.set_connection(ada, bob, ada, "requested", T0 + timedelta(minutes=1))
    await store.set_connection(ada, bob, bob, "accepted", T0 + timedelta(minutes=2))
    await store.set_connection(bob, cy, cy, "requested", T0 + timedelta(minutes=6))
    await store.notes.save_note(m1, ada, SECRET_NOTE, 5, True, T0 + timedelta(minutes=5))
    return {"m1": m1, "m2": m2, "m3": m3, "ada": ada, "bob": bob, "cy": cy}


async def test_attendee_downloads_accepted_connections_as_vcard_and_csv(api: Api, demo: Demo) -> None:
    await _history(api, demo)
    ta = {"t": demo.secret("Ada")}
    vcf = await api.call("GET", "/api/me/connections.vcf", token=None, params=ta)
    assert vcf.status == 200
    assert vcf.headers["Content-Type"].startswith("text/vcard")
    assert vcf.headers["Content-Disposition"] == 'attachment; filename="Demo-Day-connections.vcf"'
    text = vcf.raw.decode()
    assert text.count("BEGIN:VCARD") == 1
    assert "FN:Bob" in text and "EMAIL:bob@example.org" in text and "ORG:ACME" in text
    assert SECRET_NOTE not in text
    listed = await api.call("GET", "/api/me/connections.csv", token=None, params=ta)
    assert listed.status == 200 and listed.headers["Content-Type"].startswith("text/csv")
    assert [(r["name"], r["email"], r["company"]) for r in parse(listed.raw)] == [
        ("Bob", "bob@example.org", "ACME")
    ]
    # Cy's only connection is a pending request: no contact details at all.
    tc = {"t": demo.secret("Cy")}
    assert parse((await api.call("GET", "/api/me/connections.csv", token=None, params=tc)).raw) == []
    assert (await api.call("GET", "/api/me/connections.vcf", token=None, params=tc)).raw == b""
    assert (await api.call("GET", "/api/me/connections.vcf", token=None)).status == 401


async def test_organiser_exports_the_sessions_meetings_and_connections(api: Api, demo: Demo) -> None:
    ids = await _history(api, demo)
    reply = await api.call("GET", f"/api/admin/sessions/{demo.session_id}/meetings.csv")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/csv")
    assert reply.headers["Content-Disposition"].startswith("attachment; filename=")
    raw = reply.raw.decode()
    assert SECRET_NOTE not in raw and "@example.org" not in raw  # no notes, no contact details
    rows = {int(r["meeting_id"]): r for r in parse(reply.raw)}
    assert list(rows) == [ids["m1"], ids["m2"], ids["m3"]]
    first = rows[ids["m1"]]
    assert (first["a_name"], first["a_ticket_type"], first["b_name"], first["b_ticket_type"]) == (
        "Ada",
        "Attendee",
        "Bob",
        "Sponsor",
    )
    assert (first["seconds"], first["extensions"], first["end_reason"], first["connection"]) == (
        "270.0",
        "1",
        "timeout",
        "accepted",
    )
    assert datetime.fromisoformat(first["started_at"]) == T0
    second, third = rows[ids["m2"]], rows[ids["m3"]]
    assert second["b_name"] == '\'=HYPERLINK("http://evil")'  # defused, not a formula
    assert (second["end_reason"], second["connection"]) == ("left", "requested")
    assert (third["ended_at"], third["seconds"], third["end_reason"], third["connection"]) == (
        "",
        "",
        "",
        "none",
    )

    reply = await api.call("GET", f"/api/admin/sessions/{demo.session_id}/connections.csv")
    connections = parse(reply.raw)
    assert SECRET_NOTE not in reply.raw.decode()
    by_state = {r["state"]: r for r in connections}
    assert set(by_state) == {"accepted", "requested"} and len(connections) == 2
    accepted, pending = by_state["accepted"], by_state["requested"]
    assert {accepted["a_email"], accepted["b_email"]} == {"ada@example.org", "bob@example.org"}
    assert accepted["requested_by"] == "Ada" and accepted["accepted_at"]
    assert (pending["a_email"], pending["b_email"], pending["accepted_at"]) == ("", "", "")
    assert pending["requested_by"] == '\'=HYPERLINK("http://evil")'

    # Organisers only; unknown sessions are not found.
    t = {"t": demo.secret("Ada")}
    for name in ("meetings", "connections"):
        path = f"/api/admin/sessions/{demo.session_id}/{name}.csv"
        assert (await api.call("GET", path, token=None, params=t)).status == 401
        missing = await api.call("GET", f"/api/admin/sessions/99999/{name}.csv")
        assert missing.status == 404 and missing.body["error"]
