"""The signalling schema: strict parsing of client messages, and docs/protocol.md kept honest."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from wire import protocol as p

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
CLIENT_TYPES = {m.model_fields["type"].default for m in typing.get_args(typing.get_args(p.ClientMessage)[0])}
SERVER_TYPES = {m.model_fields["type"].default for m in typing.get_args(typing.get_args(p.ServerMessage)[0])}


def doc_sections() -> dict[str, list[dict[str, object]]]:
    """JSON examples of docs/protocol.md, grouped under "client" and "server" by the heading they follow."""
    text = DOC.read_text()
    client = text[text.index("## Client → server") : text.index("## Server → client")]
    server = text[text.index("## Server → client") : text.index("## Deployment notes")]
    pattern = re.compile(r"```json\n(.*?)```", re.S)
    return {
        "client": [json.loads(block) for block in pattern.findall(client)],
        "server": [json.loads(block) for block in pattern.findall(server)],
    }


def test_every_documented_example_parses_with_the_models() -> None:
    sections = doc_sections()
    for example in sections["client"]:
        message = p.parse_client(json.dumps(example))
        assert message.type == example["type"]
    for example in sections["server"]:
        message = p.parse_server(json.dumps(example))
        assert message.type == example["type"]


def test_every_message_type_is_documented_with_an_example() -> None:
    sections = doc_sections()
    assert {e["type"] for e in sections["client"]} == CLIENT_TYPES
    assert {e["type"] for e in sections["server"]} == SERVER_TYPES


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{", "Invalid JSON"),
        ('{"type": "fly"}', "does not match any of the expected tags"),
        ('{"type": "ready", "extra": 1}', "Extra inputs"),
        ('{"type": "report", "reason": ""}', "at least 1 character"),
        ('{"type": "set_background", "background": {"kind": "blur", "strength": 2}}', "less than or equal"),
        ('{"type": "preview"}', "Field required"),
        ("[]", "object"),
    ],
)
def test_malformed_client_messages_raise_protocol_error_with_a_reason(raw: str, fragment: str) -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.parse_client(raw)
    assert fragment in str(info.value)


def test_oversized_messages_are_refused_before_parsing() -> None:
    with pytest.raises(p.ProtocolError, match="too large"):
        p.parse_client(json.dumps({"type": "offer", "sdp": "x" * p.MAX_MESSAGE_BYTES}))


def test_server_messages_round_trip() -> None:
    card = p.PartnerCard(ticket_id=2, name="B", headline=None, company="C", ticket_type="A")
    messages: list[BaseModel] = [
        p.Matched(
            meeting=p.MeetingInfo(
                meeting_id="m-1",
                partner=card,
                started_at=1.0,
                ends_at=61.0,
                extend=p.ExtendInfo(extensions_left=1, window_opens_at=31.0),
            )
        ),
        p.MeetingEnded(meeting_id="m-1", reason="left", left_by="me", ended_at=10.0),
        p.Error(code="bad_message", message="nope", ref="7"),
        p.BackgroundSet(background=p.ColorBackground(rgb=(1, 2, 3)), preview=True),
    ]
    for message in messages:
        assert p.parse_server(p.dump(message)) == message


def test_ice_candidate_accepts_browser_extras() -> None:
    raw = json.dumps(
        {
            "type": "ice",
            "candidate": {
                "candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
                "usernameFragment": "abcd",
            },
        }
    )
    message = p.parse_client(raw)
    assert isinstance(message, p.Ice) and message.candidate is not None and message.candidate.sdpMid == "0"


def test_shared_interests_grow_the_meeting_info_compatibly() -> None:
    card = p.PartnerCard(ticket_id=17, name="Alan", ticket_type="Speaker")
    extend = p.ExtendInfo(extensions_left=1, window_opens_at=1.0)
    older = {"meeting_id": "m-1", "partner": card.model_dump(), "started_at": 0.0, "ends_at": 5.0,
             "extend": extend.model_dump()}  # fmt: skip
    assert p.MeetingInfo.model_validate(older).shared_interests == []  # a message without the field
    info = p.MeetingInfo(**{**older, "shared_interests": ["AI"]})
    assert p.MeetingInfo.model_validate_json(info.model_dump_json()).shared_interests == ["AI"]
