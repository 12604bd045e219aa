"""CSV and vCard builders: spreadsheet-safe cells, RFC 4180 quoting, vCard escaping and folding."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from web.exports import BOM, connections_csv, connections_vcard, csv_text, safe_cell
from web.store import ConnectionView

AT = datetime(2030, 5, 1, 9, 30, tzinfo=UTC)


def parse(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :], newline="")))


def person(name: str, state: str = "accepted", **kw: object) -> ConnectionView:
    fields: dict[str, object] = {
        "other_ticket_id": 7,
        "other_name": name,
        "other_headline": None,
        "other_company": None,
        "other_ticket_type": "Attendee",
        "other_email": f"{name.split()[0].lower()}@example.org" if state == "accepted" else None,
        "state": state,
        "requested_by_me": True,
        "requested_at": AT,
        "accepted_at": AT if state == "accepted" else None,
    }
    fields.update({f"other_{key}": value for key, value in kw.items()})
    return ConnectionView(**fields)  # type: ignore[arg-type]


def test_cells_that_could_become_formulas_are_defused() -> None:
    for dangerous in ("=1+1", "+49 30 1234", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'):
        assert safe_cell(dangerous) == "'" + dangerous
    for harmless in ("Ada", "a=b", "1-2", "", "'quoted"):
        assert safe_cell(harmless) == harmless
    assert (safe_cell(None), safe_cell(True), safe_cell(2), safe_cell(12.345)) == ("", "yes", "2", "12.3")
    assert safe_cell(AT) == "2030-05-01T09:30:00+00:00"


def test_csv_quotes_what_needs_quoting_and_parses_back() -> None:
    text = csv_text(("name", "note"), [('Ada "the first", Lovelace', "line one\nline two"), ("=cmd", None)])
    assert text.endswith("\r\n")
    assert parse(text) == [
        ["name", "note"],
        ['Ada "the first", Lovelace', "line one\nline two"],
        ["'=cmd", ""],
    ]


def test_connections_csv_lists_accepted_connections_only() -> None:
    rows = parse(
        connections_csv(
            [
                person("Ada Lovelace", company="=Engines"),
                person("Bob Pending", state="requested"),
                person("Cy Speaker", headline="CTO"),
            ]
        )
    )
    assert rows[0] == ["name", "headline", "company", "ticket_type", "email", "connected_at"]
    assert rows[1:] == [
        ["Ada Lovelace", "", "'=Engines", "Attendee", "ada@example.org", AT.isoformat()],
        ["Cy Speaker", "CTO", "", "Attendee", "cy@example.org", AT.isoformat()],
    ]


def test_vcards_escape_fold_and_leave_out_pending_requests() -> None:
    long_company = "Analytical Engines, Difference Engines; and Ünïcödé Works " * 2
    text = connections_vcard(
        [person("Ada Lovelace", company=long_company, headline="Analyst\nPoet"), person("Bob", "requested")],
        "Demo, Day",
    )
    assert text.count("BEGIN:VCARD") == 1 and "Bob" not in text
    lines = text.split("\r\n")
    assert lines[:3] == ["BEGIN:VCARD", "VERSION:4.0", "FN:Ada Lovelace"]
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "ORG:" + long_company.replace(",", "\\,").replace(";", "\\;") in unfolded
    assert "TITLE:Analyst\\nPoet" in unfolded
    assert "EMAIL:ada@example.org" in unfolded
    assert "NOTE:Met at Demo\\, Day (speedmeet)" in unfolded
    assert text.endswith("END:VCARD\r\n")
    assert connections_vcard([person("Bob", "requested")], "Demo") == ""
