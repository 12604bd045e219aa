"""Downloads: spreadsheet-safe CSV and vCard, built from store records (pure functions, no I/O).

Privacy: contact details appear only for accepted connections; private notes never appear.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from web.store import ConnectionRecord, ConnectionView, MeetingRecord, TicketRecord

# A cell starting with one of these could become a formula in a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # lets spreadsheets read the file as UTF-8


def safe_cell(value: object) -> str:
    """The text of one cell; a leading =, +, -, @, tab or carriage return gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (RFC 4180: CRLF, quoted as needed) with a UTF-8 byte order mark."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return BOM + buf.getvalue()


# ---- an attendee's accepted connections -------------------------------------------------------------------

CONNECTION_HEADER = ("name", "headline", "company", "ticket_type", "email", "connected_at")


def accepted(connections: Iterable[ConnectionView]) -> list[ConnectionView]:
    return [c for c in connections if c.state == "accepted" and c.other_email]


def connections_csv(connections: Iterable[ConnectionView]) -> str:
    rows = [
        (c.other_name, c.other_headline, c.other_company, c.other_ticket_type, c.other_email, c.accepted_at)
        for c in accepted(connections)
    ]
    return csv_text(CONNECTION_HEADER, rows)


def _vcard_text(value: str) -> str:
    """Escape a vCard text value (RFC 6350 section 3.4)."""
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 6350 section 3.2)."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def connections_vcard(connections: Iterable[ConnectionView], event_name: str) -> str:
    """One vCard 4.0 per accepted connection."""
    cards = []
    for c in accepted(connections):
        lines = ["BEGIN:VCARD", "VERSION:4.0", f"FN:{_vcard_text(c.other_name)}"]
        if c.other_company:
            lines.append(f"ORG:{_vcard_text(c.other_company)}")
        if c.other_headline:
            lines.append(f"TITLE:{_vcard_text(c.other_headline)}")
        lines.append(f"EMAIL:{_vcard_text(c.other_email or '')}")
        lines.append(f"NOTE:{_vcard_text(f'Met at {event_name} (speedmeet)')}")
        lines.append("END:VCARD")
        cards.append("\r\n".join(_fold(line) for line in lines) + "\r\n")
    return "".join(cards)


# ---- a session, for its organiser --------------------------------------------------------------------------

MEETING_HEADER = (
    "meeting_id",
    "started_at",
    "ended_at",
    "seconds",
    "extensions",
    "end_reason",
    "a_ticket_id",
    "a_name",
    "a_ticket_type",
    "b_ticket_id",
    "b_name",
    "b_ticket_type",
    "connection",
)
SESSION_CONNECTION_HEADER = (
    "a_ticket_id",
    "a_name",
    "a_email",
    "b_ticket_id",
    "b_name",
    "b_email",
    "state",
    "requested_by",
    "requested_at",
    "accepted_at",
)


@dataclass(frozen=True)
class SessionExport:
    meetings: Sequence[MeetingRecord]
    tickets: dict[int, TicketRecord]
    connections: Sequence[ConnectionRecord]  # of the event; only pairs who met in the session are used

    def _pairs(self) -> set[tuple[int, int]]:
        return {(min(x.a_ticket_id, x.b_ticket_id), max(x.a_ticket_id, x.b_ticket_id)) for x in self.meetings}

    def _connections(self) -> list[ConnectionRecord]:
        pairs = self._pairs()
        return [c for c in self.connections if (c.a_ticket_id, c.b_ticket_id) in pairs]

    def _name(self, ticket_id: int) -> str:
        ticket = self.tickets.get(ticket_id)
        return ticket.name if ticket is not None else ""

    def meetings_csv(self) -> str:
        """Who met whom, when, how long, extensions, end reason, connection state; no contact details."""
        state = {(c.a_ticket_id, c.b_ticket_id): c.state for c in self._connections()}
        rows = []
        for x in self.meetings:
            a, b = self.tickets.get(x.a_ticket_id), self.tickets.get(x.b_ticket_id)
            seconds = (x.ended_at - x.started_at).total_seconds() if x.ended_at is not None else None
            pair = (min(x.a_ticket_id, x.b_ticket_id), max(x.a_ticket_id, x.b_ticket_id))
            rows.append(
                (
                    x.id,
                    x.started_at,
                    x.ended_at,
                    seconds,
                    x.extensions,
                    x.end_reason,
                    x.a_ticket_id,
                    a.name if a else "",
                    a.ticket_type if a else "",
                    x.b_ticket_id,
                    b.name if b else "",
                    b.ticket_type if b else "",
                    state.get(pair, "none"),
                )
            )
        return csv_text(MEETING_HEADER, rows)

    def connections_csv(self) -> str:
        """The connections between people who met in the session; email addresses only once accepted."""
        rows = []
        for c in self._connections():
            a, b = self.tickets.get(c.a_ticket_id), self.tickets.get(c.b_ticket_id)
            shared = c.state == "accepted"
            rows.append(
                (
                    c.a_ticket_id,
                    self._name(c.a_ticket_id),
                    a.email if a and shared else "",
                    c.b_ticket_id,
                    self._name(c.b_ticket_id),
                    b.email if b and shared else "",
                    c.state,
                    self._name(c.requested_by),
                    c.requested_at,
                    c.accepted_at,
                )
            )
        return csv_text(SESSION_CONNECTION_HEADER, rows)
