"""Placing attendees on media workers: property tests over arbitrary reports, clock and joins."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfu.bus.subjects import WorkerReport
from sfu.interface import Load
from web.placement import Placement, PlacementSettings

SETTINGS = PlacementSettings(max_peers=10, max_loop_busy=0.8, busy_per_peer=0.05, stale_seconds=6.0)


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def _report(
    worker: str, peers: int = 0, busy: float = 0.0, state: str = "serving", instance: str = "i1"
) -> WorkerReport:
    load = Load(worker=worker, peers=peers, peers_with_effects=0, cpu_seconds=1.0, loop_busy=busy)
    return WorkerReport(worker=worker, instance=instance, state=state, load=load)  # type: ignore[arg-type]


reports = st.builds(
    _report,
    worker=st.sampled_from(["w0", "w1", "w2", "w3", "w4"]),
    peers=st.integers(0, 14),
    busy=st.floats(0.0, 1.2),
    state=st.sampled_from(["serving", "serving", "serving", "draining", "stopped"]),
)
# Each step: a report arriving after `delay` seconds, or a join.
steps = st.lists(st.one_of(st.tuples(st.floats(0.0, 4.0), reports), st.just("join")), max_size=60)


@given(steps)
def test_each_join_goes_to_an_open_worker_with_the_most_headroom(plan: list[object]) -> None:
    clock = Clock()
    placement = Placement(SETTINGS, clock)
    for step in plan:
        if step == "join":
            before = {v.worker: v for v in placement.workers()}
            open_ = [v for v in before.values() if v.available]
            chosen = placement.place()
            if not open_:
                assert chosen is None
                continue
            assert chosen is not None
            view = before[chosen]
            assert view.state == "serving" and not view.stale and view.headroom > 0
            assert view.headroom == max(v.headroom for v in open_)
            assert {v.worker: v.placed for v in placement.workers()}[chosen] == view.placed + 1
        else:
            delay, report = step  # type: ignore[misc]
            clock.now += delay
            placement.report(report)


@given(
    st.lists(st.tuples(st.integers(0, 12), st.floats(0.0, 1.0)), min_size=1, max_size=5),
    st.integers(0, 100),
)
def test_joins_without_reports_never_overfill_a_worker(loads: list[tuple[int, float]], joins: int) -> None:
    placement = Placement(SETTINGS, Clock())
    for i, (peers, busy) in enumerate(loads):
        placement.report(_report(f"w{i}", peers, busy))
    placed = [w for w in (placement.place() for _ in range(joins)) if w is not None]
    for view in placement.workers():
        assert view.peers + view.placed <= SETTINGS.max_peers or view.placed == 0
        assert view.loop_busy + (view.placed - 1) * SETTINGS.busy_per_peer < SETTINGS.max_loop_busy or (
            view.placed == 0
        )
    # It stops only when every worker is full.
    if len(placed) < joins:
        assert not placement.has_room()
        assert placement.place() is None


@given(st.integers(1, 6), st.integers(0, 60))
def test_equal_workers_share_joins_evenly(workers: int, joins: int) -> None:
    placement = Placement(PlacementSettings(max_peers=1000, busy_per_peer=0.0), Clock())
    for i in range(workers):
        placement.report(_report(f"w{i}"))
    for _ in range(joins):
        assert placement.place() is not None
    counts = [v.placed for v in placement.workers()]
    assert sum(counts) == joins and max(counts) - min(counts) <= 1


@given(st.floats(0.0, 20.0))
def test_a_worker_that_stopped_reporting_goes_stale(silence: float) -> None:
    clock = Clock()
    placement = Placement(SETTINGS, clock)
    placement.report(_report("w0"))
    clock.now += silence
    stale = silence > SETTINGS.stale_seconds
    assert (placement.place() is None) == stale
    assert placement.prune() == (["w0"] if stale else [])


def test_a_report_resets_the_placed_count_and_a_stopped_worker_is_removed() -> None:
    clock = Clock()
    placement = Placement(SETTINGS, clock)
    placement.report(_report("w0"))
    assert [placement.place() for _ in range(3)] == ["w0"] * 3
    placement.report(_report("w0", peers=3, busy=0.1))
    [view] = placement.workers()
    assert (view.peers, view.placed) == (3, 0)
    placement.report(_report("w0", state="stopped"))
    assert placement.workers() == [] and placement.place() is None


def test_unplace_gives_the_room_back() -> None:
    placement = Placement(PlacementSettings(max_peers=1), Clock())
    placement.report(_report("w0"))
    assert placement.place() == "w0"
    assert placement.place() is None
    placement.unplace("w0")
    placement.unplace("w0")  # never below zero
    assert placement.place() == "w0"
    placement.unplace("nobody")


def test_the_busy_loop_limits_a_worker_with_few_attendees() -> None:
    placement = Placement(SETTINGS, Clock())
    placement.report(_report("busy", peers=1, busy=0.79))
    placement.report(_report("idle", peers=6, busy=0.1))
    assert placement.place() == "idle"
    [busy, _] = placement.workers()
    assert busy.worker == "busy" and busy.available  # room for exactly one more by its loop
    placement.report(_report("idle", state="draining"))
    assert placement.place() == "busy"
    assert placement.place() is None


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        PlacementSettings(max_peers=0)
    with pytest.raises(ValueError):
        PlacementSettings(stale_seconds=0)


def test_place_on_counts_an_attendee_on_a_given_worker_while_it_has_room() -> None:
    clock = Clock()
    placement = Placement(PlacementSettings(max_peers=2), clock)
    placement.report(_report("w1", peers=0))
    assert placement.place_on("w1") and placement.place_on("w1")
    assert not placement.place_on("w1")  # full: two placed since its report
    assert not placement.place_on("w9")  # unknown
