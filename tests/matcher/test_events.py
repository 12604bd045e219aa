from __future__ import annotations

import dataclasses
import json

import pytest

from matcher import (
    EVENT_TYPES,
    AttendeeState,
    ConnectionState,
    EndReason,
    Matched,
    MeetingEnded,
    WaitingStatus,
)


def test_every_event_is_a_frozen_dataclass_with_a_unique_kind() -> None:
    kinds = [cls.kind for cls in EVENT_TYPES]
    assert len(set(kinds)) == len(kinds) == 13
    for cls in EVENT_TYPES:
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        # `kind` is a class attribute, not a field: it never travels twice.
        assert "kind" not in {f.name for f in dataclasses.fields(cls)}


def test_events_cannot_be_changed() -> None:
    event = Matched("m1", "a", "b", 0.0, 60.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.a = "c"  # type: ignore[misc]


def test_matched_keeps_the_agreed_positional_fields_and_adds_waiting_times() -> None:
    event = Matched("m1", "a", "b", 10.0, 70.0)
    assert (event.meeting_id, event.a, event.b, event.started_at, event.ends_at) == (
        "m1",
        "a",
        "b",
        10.0,
        70.0,
    )
    assert event.a_waited_seconds == 0.0 and event.b_waited_seconds == 0.0


def test_enums_are_strings_with_the_agreed_values() -> None:
    assert [r.value for r in EndReason] == ["timeout", "left", "partner_left", "blocked", "session_closed"]
    assert [s.value for s in ConnectionState] == ["requested", "accepted"]
    assert [s.value for s in AttendeeState] == ["idle", "ready", "meeting"]
    assert EndReason.partner_left == "partner_left"
    assert isinstance(AttendeeState.ready, str)


def test_events_serialise_to_json_as_plain_values() -> None:
    ended = MeetingEnded("m1", "a", "b", 0.0, 60.0, EndReason.timeout, 1, None)
    status = WaitingStatus("a", 5.0, 0, 2, 12.5, "Waiting for an eligible partner")
    payload = json.loads(json.dumps({"kind": ended.kind, **dataclasses.asdict(ended)}))
    assert payload == {
        "kind": "meeting_ended",
        "meeting_id": "m1",
        "a": "a",
        "b": "b",
        "started_at": 0.0,
        "ended_at": 60.0,
        "reason": "timeout",
        "extensions": 1,
        "left_by": None,
    }
    assert json.loads(json.dumps(dataclasses.asdict(status)))["estimated_wait_seconds"] == 12.5
