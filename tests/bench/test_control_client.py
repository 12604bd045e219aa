"""The benchmark client's message reading."""

from __future__ import annotations

from bench.control_client import message_type


def test_message_type_from_the_first_field() -> None:
    assert message_type('{"type":"matched","meeting":{}}') == "matched"


def test_message_type_wherever_it_is() -> None:
    assert message_type('{"meeting": {"ticket_type": "x"}, "type": "waiting"}') == "waiting"
    assert message_type("[1, 2]") == "(no type)"
    assert message_type("not json") == "(not json)"
