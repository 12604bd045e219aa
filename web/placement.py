"""Placing attendees on media workers: pure bookkeeping over the workers' reports (no I/O; the clock is
injected).

Every worker reports its state and load every ~2 s (`sfu.bus.WorkerReport`). A joining attendee goes
to the worker with the most headroom, which is the smaller of two shares:

- attendees: ``1 - (reported + placed since the report) / max_peers``;
- event loop: ``1 - (reported busy share + placed since the report × busy_per_peer) / max_loop_busy``
  (all of a worker's per-packet media work runs on its one event-loop thread: that thread, not the
  machine's cores, is what fills up first).

Attendees placed since a worker's last report are counted as if they were there already, so a burst
of joins between two reports spreads over the workers instead of piling onto the emptiest one.

A worker takes no one when it is draining or stopped, when it has not reported for `stale_seconds`
(it is presumed dead), or when either share is used up. `place()` then returns None: no worker has
room, and the attendee must be told so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sfu.bus.subjects import WorkerReport, WorkerState


@dataclass(frozen=True)
class PlacementSettings:
    # One process was measured full at about 30-50 attendees (docs/performance.md): stay below.
    max_peers: int = 30
    # The busy share of a worker's event loop above which it takes no one new (1.0: always busy).
    max_loop_busy: float = 0.8
    # The loop share one more attendee is expected to take until the next report shows it
    # (measured: about 0.02 event-loop seconds per attendee-second without effects, 0.03 with).
    busy_per_peer: float = 0.03
    # No report for this long (three missed ~2 s reports): the worker is presumed gone.
    stale_seconds: float = 6.0

    def __post_init__(self) -> None:
        if self.max_peers < 1 or not self.max_loop_busy > 0 or self.busy_per_peer < 0:
            raise ValueError(f"bad placement settings {self!r}")
        if not self.stale_seconds > 0:
            raise ValueError("stale_seconds must be positive")


@dataclass
class _Worker:
    report: WorkerReport
    at: float  # clock time of the report
    placed: int = 0  # attendees placed on it since the report


@dataclass(frozen=True)
class WorkerView:
    """One worker as placement sees it (for /metrics, /healthz and the organiser's live view)."""

    worker: str
    instance: str
    state: WorkerState
    public_ip: str | None
    peers: int  # reported
    peers_with_effects: int  # reported
    placed: int  # placed since the report
    loop_busy: float  # reported
    age: float  # seconds since the report
    stale: bool
    headroom: float  # the smaller share left (see module docstring); <= 0: full
    available: bool  # takes new attendees now


@dataclass
class Placement:
    """See module docstring."""

    settings: PlacementSettings = field(default_factory=PlacementSettings)
    clock: Callable[[], float] = time.monotonic
    _workers: dict[str, _Worker] = field(default_factory=dict, init=False)

    def report(self, report: WorkerReport) -> None:
        """Take a worker's report; a "stopped" one removes the worker."""
        if report.state == "stopped":
            self._workers.pop(report.worker, None)
        else:
            self._workers[report.worker] = _Worker(report, self.clock())

    def place(self) -> str | None:
        """The worker to put one more attendee on (counted as placed on it), or None if none has room."""
        views = [v for v in self.workers() if v.available]
        if not views:
            return None
        # Most headroom; on a tie the fewest attendees, then the first id (deterministic).
        best = min(views, key=lambda v: (-v.headroom, v.peers + v.placed, v.worker))
        self._workers[best.worker].placed += 1
        return best.worker

    def place_on(self, worker: str) -> bool:
        """Put one more attendee on this worker, if it takes new ones now (counted as placed on it)."""
        view = next((v for v in self.workers() if v.worker == worker), None)
        if view is None or not view.available:
            return False
        self._workers[worker].placed += 1
        return True

    def unplace(self, worker: str) -> None:
        """Take back a placement not yet in a report (the worker refused the attendee)."""
        entry = self._workers.get(worker)
        if entry is not None and entry.placed > 0:
            entry.placed -= 1

    def forget(self, worker: str) -> None:
        self._workers.pop(worker, None)

    def prune(self) -> list[str]:
        """Remove the stale workers and return their ids (their attendees' media is lost)."""
        gone = [v.worker for v in self.workers() if v.stale]
        for worker in gone:
            del self._workers[worker]
        return gone

    def has_room(self) -> bool:
        return any(v.available for v in self.workers())

    def workers(self) -> list[WorkerView]:
        """Every known worker, by id."""
        now = self.clock()
        return [self._view(entry, now) for _, entry in sorted(self._workers.items())]

    def _view(self, entry: _Worker, now: float) -> WorkerView:
        s = self.settings
        report, load = entry.report, entry.report.load
        peers = load.peers if load is not None else 0
        busy = load.loop_busy if load is not None else 0.0
        peer_room = 1.0 - (peers + entry.placed) / s.max_peers
        busy_room = 1.0 - (busy + entry.placed * s.busy_per_peer) / s.max_loop_busy
        headroom = min(peer_room, busy_room)
        age = now - entry.at
        stale = age > s.stale_seconds
        return WorkerView(
            worker=report.worker,
            instance=report.instance,
            state=report.state,
            public_ip=report.public_ip,
            peers=peers,
            peers_with_effects=load.peers_with_effects if load is not None else 0,
            placed=entry.placed,
            loop_busy=busy,
            age=age,
            stale=stale,
            headroom=headroom,
            available=report.state == "serving" and not stale and headroom > 0,
        )
