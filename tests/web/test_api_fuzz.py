"""Fuzzing the HTTP API from its own OpenAPI document, on a real server (SQLite and PostgreSQL).

For every operation, schemathesis (on hypothesis) draws requests that fit the document (positive) and
requests that break it (negative), against a fresh event with tickets, a session, a meeting and uploads,
with the admin token or a ticket secret (and with drawn ones); uploads as multipart forms and as raw
bodies. Every response must:

* never be a 5xx;
* have a status, a content type and a body that the document states for the operation;
* refuse every negative request with a 4xx;
* accept every positive request, unless the refusal is one the document gives a reason for: 401/403/404/409
  always, 400/413/415 for uploads, and 422 only where the operation documents rules that a JSON schema cannot
  carry (ends_at after starts_at, an existing ticket type, ...).

The runs are derandomised, so the suite is stable; `SPEEDMEET_FUZZ_EXAMPLES` (default 10 per operation and
mode) and `SPEEDMEET_FUZZ_SEED` widen the search for a longer hunt.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.web.api_client import Api, StartServer, image_bytes
from web.routes import API_ROUTES

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis (a test dependency) is not installed")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("SPEEDMEET_FUZZ_EXAMPLES", "10"))
SEED = os.environ.get("SPEEDMEET_FUZZ_SEED")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Ticket secrets beyond what schemathesis draws for a query string: any text, and a few hostile ones.
SECRETS = st.one_of(st.sampled_from(["\x00", "a\x00b", "%00", "\u202e", "x" * 300, "' OR 1=1 --"]), st.text())
# Refusals of a request that fits the schema that need no rule in the document: who asks, what exists.
ALWAYS_ALLOWED = {401, 403, 404, 409}


@dataclass
class World:
    """One event to fuzz an operation against: ids for the path, the admin token and a ticket secret."""

    admin_token: str
    secret: str
    admin_ids: dict[str, list[int]]
    attendee_ids: dict[str, list[int]]


@dataclass
class Findings:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[tuple[str, str, int, str], str] = field(default_factory=dict)

    def fail(self, label: str, mode: str, status: int, title: str, detail: str) -> None:
        self.failures.setdefault((label, mode, status, title), detail)

    def report(self) -> str:
        return "\n\n".join(
            f"{label} ({mode}): {status} {title}\n{detail}"
            for (label, mode, status, title), detail in sorted(self.failures.items())
        )


async def _world(api: Api, n: int) -> World:
    event = await api.ok(
        "POST",
        "/api/admin/events",
        {"name": f"Fuzz {n}", "timezone": "Europe/Berlin", "days": ["2030-06-01", "2030-06-02"]},
        status=201,
    )
    eid = event["id"]
    types = {}
    for name in ("Attendee", "Sponsor", "Spare"):
        t = await api.ok("POST", f"/api/admin/events/{eid}/ticket-types", {"name": name}, status=201)
        types[name] = t["id"]
    session = await api.ok(
        "POST",
        f"/api/admin/events/{eid}/sessions",
        {
            "title": "Afternoon",
            "starts_at": "2030-06-01T14:00:00",
            "ends_at": "2030-06-01T15:00:00",
            "meeting_seconds": 180,
            "allowed_pairs": [["Attendee", "Sponsor"], ["Attendee", "Attendee"]],
        },
        status=201,
    )
    people = [("Ada", "Attendee"), ("Bob", "Sponsor"), ("Cy", "Attendee")]
    created = await api.ok(
        "POST",
        f"/api/admin/events/{eid}/tickets",
        {
            "tickets": [
                {"name": name, "email": f"{name.lower()}{n}@example.org", "ticket_type": kind}
                for name, kind in people
            ]
        },
        status=201,
    )
    ids = {t["name"]: t["id"] for t in created["tickets"]}
    secret = next(t["secret"] for t in created["tickets"] if t["name"] == "Ada")
    started = datetime(2030, 6, 1, 12, 5, tzinfo=UTC)
    meeting = await api.store.record_meeting_started(session["id"], ids["Ada"], ids["Bob"], started, 1.0, 2.0)
    await api.store.record_meeting_ended(meeting, started.replace(minute=8), 0, "timeout")
    await api.store.notes.save_note(meeting, ids["Ada"], "Follow up", 4, True, started.replace(minute=9))
    await api.store.record_report(session["id"], ids["Ada"], ids["Bob"], "late", started.replace(minute=7))
    [report] = await api.store.moderation.reports(session["id"])
    await api.store.moderation.remove(session["id"], ids["Bob"], started.replace(minute=10))
    asset = await api.ok("POST", f"/api/admin/events/{eid}/assets", data=image_bytes(), status=201)
    own = await api.ok(
        "POST", "/api/me/backgrounds", data=image_bytes(), token=None, status=201, params={"t": secret}
    )
    return World(
        admin_token=api.admin_token,
        secret=secret,
        admin_ids={
            "event_id": [eid],
            "session_id": [session["id"]],
            "ticket_id": [ids["Bob"], ids["Cy"]],
            "type_id": [types["Spare"], types["Sponsor"]],
            "asset_id": [asset["id"]],
            "report_id": [report.id],
        },
        attendee_ids={
            "session_id": [session["id"]],
            "ticket_id": [ids["Bob"], ids["Cy"]],  # met and not met
            "asset_id": [own["id"], asset["id"]],  # mine and the organiser's
            "meeting_id": [meeting],  # Ada met Bob
        },
    )


def _documents_rules(operation: Any) -> bool:
    """Whether the operation's 422 response names rules beyond the schema (`x-rules`)."""
    response = operation.definition.raw.get("responses", {}).get("422", {})
    return bool(response.get("x-rules"))


def _allowed_for_positive(operation: Any) -> set[int]:
    allowed = set(ALWAYS_ALLOWED)
    if "requestBody" in operation.definition.raw and any(
        t != "application/json" for t in operation.definition.raw["requestBody"]["content"]
    ):
        # The bytes of a generated file are not an image (415), nor always a form the upload reads: one
        # part named `file` (400, which the document gives for uploads).
        allowed |= {400, 413, 415}
    if _documents_rules(operation):
        allowed.add(422)
    return allowed


def _fuzz(operation: Any, base_url: str, world: World, findings: Findings) -> None:
    """Runs in a worker thread: hypothesis drives blocking HTTP calls to the server on the test's loop."""
    attendee = not operation.path.startswith("/api/admin/")
    headers = {} if attendee else {"Authorization": f"Bearer {world.admin_token}"}
    query = {"t": world.secret} if attendee else None
    known = world.attendee_ids if attendee else world.admin_ids
    names = [p.name for p in operation.path_parameters]
    allowed = _allowed_for_positive(operation)
    label = operation.label
    body = operation.definition.raw.get("requestBody", {}).get("content", {})
    media_types = list(body) or [None]
    fixed_ids = st.fixed_dictionaries({n: st.sampled_from(known[n]) for n in names if n in known})
    fixed_query = {"query": query} if query is not None else {}

    def drawn(mode: GenerationMode, **fixed: Any) -> st.SearchStrategy[Any]:
        return st.sampled_from(media_types).flatmap(
            lambda media_type: operation.as_strategy(generation_mode=mode, media_type=media_type, **fixed)
        )

    # The document's examples (those of the README) fit this event: some requests that succeed.
    strategies = [
        fixed_ids.flatmap(
            lambda ids: st.one_of(
                operation.get_strategies_from_examples(path_parameters=ids, **fixed_query) or [st.nothing()]
            )
        )
    ]
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        anything = [drawn(mode)]  # every part drawn, a ticket secret too
        if query is not None:
            anything.append(SECRETS.flatmap(lambda secret, m=mode: drawn(m, query={"t": secret})))
            anything.append(drawn(mode, **fixed_query))
        strategies.append(st.one_of(anything))
        # The event's own ids, with the admin token or the ticket secret.
        if names and all(n in known for n in names):
            strategies.append(
                fixed_ids.flatmap(lambda ids, m=mode: drawn(m, path_parameters=ids, **fixed_query))
            )
        elif query is not None:
            strategies.append(drawn(mode, **fixed_query))
    cases = st.one_of(strategies)
    http = requests.Session()

    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=http, headers=headers, timeout=30)
        status = response.status_code
        mode = case.meta.generation.mode.value
        findings.statuses[(label, status)] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseExceptionGroup as group:
            for failure in group.exceptions:
                title = getattr(failure, "title", type(failure).__name__)
                findings.fail(label, mode, status, title, str(group))
        except AssertionError as exc:
            findings.fail(label, mode, status, type(exc).__name__, str(exc))
        if mode == "positive" and status >= 300 and status not in allowed:
            findings.fail(
                label,
                mode,
                status,
                "a request that fits the document was refused without a documented reason",
                f"{case.as_curl_command(headers=headers)}\n{response.text[:500]}",
            )

    if SEED is not None:
        run = seed(int(SEED))(run)
    run()
    http.close()


# Operations whose success a drawn request almost never reaches, and where their successes are tested.
RARELY_SUCCEEDS = {
    "POST /api/admin/sessions/{session_id}/removals": "its body must name a ticket of the session's event "
    "that is not removed yet (tests/web/test_moderation_api.py)",
}


async def test_every_operation_answers_as_its_document_says(start_server: StartServer) -> None:
    api = await start_server()
    document = (await api.get("/api/openapi.json", token=None)).body
    schema = schemathesis.openapi.from_dict(document)
    findings = Findings()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(API_ROUTES)
    for n, operation in enumerate(operations):
        world = await _world(api, n)
        await asyncio.to_thread(_fuzz, operation, api.url, world, findings)
    assert not findings.failures, findings.report()
    # The fuzzing reached the handlers, not only the doors: every operation answered a success.
    succeeded = {label for (label, status), _ in findings.statuses.items() if status < 300}
    expected = {op.label for op in operations} - set(RARELY_SUCCEEDS)
    assert succeeded >= expected, sorted(expected - succeeded)
