"""The OpenAPI document: OpenAPI 3, every API route, resolvable references, the error shape."""

from __future__ import annotations

import re
from typing import Any

from tests.web.api_client import Api
from web.routes import API_ROUTES


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_openapi_document(api: Api) -> None:
    reply = await api.get("/api/openapi.json", token=None)
    assert reply.status == 200
    doc = reply.body
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    paths = doc["paths"]
    expected = {
        ("/api/admin/events", "get"),
        ("/api/admin/events", "post"),
        ("/api/admin/events/{event_id}", "patch"),
        ("/api/admin/events/{event_id}/ticket-types", "post"),
        ("/api/admin/ticket-types/{type_id}", "delete"),
        ("/api/admin/events/{event_id}/tickets", "post"),
        ("/api/admin/tickets/{ticket_id}", "patch"),
        ("/api/admin/events/{event_id}/sessions", "post"),
        ("/api/admin/sessions/{session_id}", "delete"),
        ("/api/admin/sessions/{session_id}/pre-session-media", "put"),
        ("/api/admin/events/{event_id}/assets", "post"),
        ("/api/admin/assets/{asset_id}", "delete"),
        ("/api/admin/sessions/{session_id}/summary", "get"),
        ("/api/admin/sessions/{session_id}/live", "get"),
        ("/api/sessions/{session_id}", "get"),
        ("/api/sessions/{session_id}/matches", "get"),
        ("/api/me/connections", "get"),
        ("/api/me/connections/{ticket_id}", "post"),
        ("/api/sessions/{session_id}/backgrounds", "get"),
        ("/api/me/backgrounds", "post"),
        ("/api/admin/events/{event_id}/interests", "put"),
        ("/api/admin/sessions/{session_id}/ratings", "get"),
        ("/api/admin/sessions/{session_id}/meetings.csv", "get"),
        ("/api/me/interests", "put"),
        ("/api/me/meetings/{meeting_id}/note", "put"),
        ("/api/me/connections.vcf", "get"),
    }
    documented = {(p, m) for p, ops in paths.items() for m in ops}
    assert expected <= documented
    assert len(documented) == len(API_ROUTES)
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas, ref
    op_ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(op_ids) == len(set(op_ids))

    create_session = paths["/api/admin/events/{event_id}/sessions"]["post"]
    assert create_session["security"] == [{"adminToken": []}]
    assert {"201", "400", "401", "403", "404", "409", "422"} <= set(create_session["responses"])
    body_ref = create_session["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    session_in = schemas[body_ref.rsplit("/", 1)[1]]
    meeting = session_in["properties"]["meeting_seconds"]
    assert (meeting["minimum"], meeting["maximum"]) == (60, 3600)
    assert set(session_in["required"]) == {"title", "starts_at", "ends_at", "meeting_seconds"}
    assert create_session["parameters"][0] == {
        "name": "event_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    }
    upload = paths["/api/admin/sessions/{session_id}/pre-session-media"]["put"]
    assert {"image/png", "video/webm", "multipart/form-data"} <= set(upload["requestBody"]["content"])
    assert {"413", "415"} <= set(upload["responses"])
    export = paths["/api/admin/sessions/{session_id}/meetings.csv"]["get"]
    assert list(export["responses"]["200"]["content"]) == ["text/csv"]
    note_body = paths["/api/me/meetings/{meeting_id}/note"]["put"]["requestBody"]["content"]
    note_in = schemas[note_body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    rating = next(x for x in note_in["properties"]["rating"]["anyOf"] if x.get("type") == "integer")
    assert (rating["minimum"], rating["maximum"]) == (1, 5)
    error = schemas["ErrorOut"]
    assert error["required"] == ["error"]
    attendee = paths["/api/sessions/{session_id}"]["get"]
    assert {"ticketQuery": []} in attendee["security"]


async def test_the_document_states_every_rule_the_server_enforces(api: Api) -> None:
    doc = (await api.get("/api/openapi.json", token=None)).body
    paths, schemas = doc["paths"], doc["components"]["schemas"]

    def rules(path: str, method: str) -> list[str]:
        response = paths[path][method]["responses"]["422"]
        assert all(rule in response["description"] for rule in response.get("x-rules", []))
        return list(response.get("x-rules", []))

    assert "ends_at is after starts_at" in rules("/api/admin/events/{event_id}/sessions", "post")
    assert rules("/api/admin/sessions/{session_id}", "patch") == rules(
        "/api/admin/events/{event_id}/sessions", "post"
    )
    assert any("ticket types" in r for r in rules("/api/admin/events/{event_id}/tickets", "post"))
    assert any("ticket types" in r for r in rules("/api/admin/tickets/{ticket_id}", "patch"))
    assert any("themselves" in r for r in rules("/api/me/connections/{ticket_id}", "post"))
    assert rules("/api/admin/events", "post") == []  # everything about an event fits its schema

    event_in = schemas["EventIn"]["properties"]
    zones = event_in["timezone"]["enum"]
    assert "Europe/Berlin" in zones and "Nowhere/Nothing" not in zones
    name = re.compile(event_in["name"]["pattern"])
    assert name.search("Demo Day") and not name.search("Demo\x00Day") and not name.search("   ")
    ticket_in = schemas["TicketIn"]["properties"]
    assert ticket_in["is_admin"]["type"] == "boolean"
    session_patch = schemas["SessionPatch"]["properties"]
    assert session_patch["title"]["type"] == "string" and "anyOf" not in session_patch["title"]
    assert {"type": "null"} in session_patch["max_extensions"]["anyOf"]  # null keeps the value

    # And the server refuses what the document rules out, with 422.
    event = await api.ok("POST", "/api/admin/events", {"name": "Rules", "days": ["2030-06-01"]}, status=201)
    events, tickets = "/api/admin/events", f"/api/admin/events/{event['id']}/tickets"
    sessions = f"/api/admin/events/{event['id']}/sessions"
    await api.ok("POST", f"{events}/{event['id']}/ticket-types", {"name": "Attendee"}, status=201)
    ada = {"name": "A", "email": "a@example.org", "ticket_type": "Attendee"}
    hour = {
        "title": "S",
        "starts_at": "2030-06-01T09:00",
        "ends_at": "2030-06-01T10:00",
        "meeting_seconds": 180,
    }
    refused = [
        (events, {"name": "Zone", "timezone": "Nowhere/Nothing", "days": ["2030-06-01"]}),
        (events, {"name": "Ctrl\x07", "days": ["2030-06-01"]}),
        (events, {"name": "Year", "days": ["1999-06-01"]}),
        (tickets, {"tickets": [{**ada, "is_admin": "true"}]}),
        (tickets, {"tickets": [{**ada, "ticket_type": "Nobody"}]}),
        (sessions, {**hour, "ends_at": "2030-06-01T08:00"}),
        (sessions, {**hour, "meeting_seconds": "180"}),
        (sessions, {**hour, "starts_at": "2030-06-01 09:00"}),
    ]
    for path, body in refused:
        reply = await api.post(path, body)
        assert reply.status == 422, (body, reply.body)
        assert isinstance(reply.body["error"], str)
    [ticket] = (await api.ok("POST", tickets, {"tickets": [ada]}, status=201))["tickets"]
    myself = await api.post(f"/api/me/connections/{ticket['id']}", token=None, params={"t": ticket["secret"]})
    assert myself.status == 422 and "yourself" in myself.body["error"]
