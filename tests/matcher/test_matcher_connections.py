"""The matcher: connections between people who met, and the history restored after a restart."""

from __future__ import annotations

from typing import Any

import pytest
from matcher_testing import join_ready, meet, one, only

from matcher import (
    ConnectionChanged,
    ConnectionState,
    InvalidCommand,
    Matched,
)

# Connections -------------------------------------------------------------------------------------------


def test_connection_request_and_accept_during_a_meeting(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    clock.advance(5)
    assert m.connect_request("a", "b") == [
        ConnectionChanged("a", "b", "a", ConnectionState.requested, 1005.0)
    ]
    assert m.connect_request("a", "b") == []
    (seen_by_b,) = m.view("b").connections
    assert (seen_by_b.other, seen_by_b.state, seen_by_b.requested_by) == ("a", ConnectionState.requested, "a")
    with pytest.raises(InvalidCommand):
        m.connect_accept("a", "b")  # one's own request
    clock.advance(5)
    assert m.connect_accept("b", "a") == [ConnectionChanged("a", "b", "a", ConnectionState.accepted, 1010.0)]
    assert m.connect_accept("b", "a") == []
    assert m.connect_request("b", "a") == []
    assert m.live_summary().connections_requested == 1
    assert m.live_summary().connections_accepted == 1


def test_a_request_back_accepts(make_matcher: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.connect_request("a", "b")
    (changed,) = m.connect_request("b", "a")
    assert isinstance(changed, ConnectionChanged)
    assert changed.state is ConnectionState.accepted and changed.requested_by == "a"


def test_connection_after_the_meeting_but_only_between_people_who_met(make_matcher: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.leave("a")
    m.join("c", "A")
    assert one(m.connect_request("b", "a"), ConnectionChanged).state is ConnectionState.requested
    with pytest.raises(InvalidCommand, match="met"):
        m.connect_request("a", "c")
    with pytest.raises(InvalidCommand):
        m.connect_accept("a", "c")


def test_no_connection_across_a_block(make_matcher: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.block("a", "b")
    with pytest.raises(InvalidCommand, match="blocked"):
        m.connect_request("b", "a")


# History after a restart -------------------------------------------------------------------------------


def test_seeded_history_applies_cooldown_blocks_and_connections(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(rematch_cooldown_seconds=300)
    m.seed_history(
        meetings=[("a", "b", 900.0), ("c", "d", 100.0)],
        blocks=[("e", "f")],
        connections=[("c", "d", "d", ConnectionState.accepted), ("a", "b", "a", "requested")],  # type: ignore[list-item]
    )
    join_ready(m, "a", "b")
    assert only(m.tick(), Matched) == []  # parted at 900: apart until 1200
    m.unready("a")
    m.unready("b")
    join_ready(m, "e", "f")
    assert only(m.tick(), Matched) == []  # blocked
    m.unready("e")
    m.unready("f")
    join_ready(m, "c", "d")
    assert one(m.tick(), Matched)  # parted long ago
    (connection,) = m.view("d").connections
    assert (connection.other, connection.state, connection.at) == ("c", ConnectionState.accepted, None)
    # Having met before the restart is enough to connect; the pending request can be accepted.
    assert one(m.connect_accept("b", "a"), ConnectionChanged).state is ConnectionState.accepted


@pytest.mark.parametrize(
    "history",
    [
        {"meetings": [("a", "a", 1.0)], "blocks": [], "connections": []},
        {"meetings": [("a", "b", float("nan"))], "blocks": [], "connections": []},
        {"meetings": [], "blocks": [("a", "")], "connections": []},
        {"meetings": [], "blocks": [], "connections": [("a", "b", "c", "requested")]},
        {"meetings": [], "blocks": [], "connections": [("a", "b", "a", "friends")]},
        {"meetings": [("a", "b", "yesterday")], "blocks": [], "connections": []},
        {"meetings": [("a", "b")], "blocks": [], "connections": []},
        {"meetings": [], "blocks": [("a",)], "connections": []},
    ],
)
def test_malformed_history_is_refused_whole(make_matcher: Any, history: dict[str, Any]) -> None:
    m = make_matcher()
    good = [("x", "y", 999.0)]
    with pytest.raises(InvalidCommand):
        m.seed_history(good + history["meetings"], history["blocks"], history["connections"])
    join_ready(m, "x", "y")
    assert one(m.tick(), Matched)  # the good row was not applied either
