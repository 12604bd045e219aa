"""What one synthetic attendee measures about the video it receives.

Every received frame goes through `VideoProbe.on_frame()`. During a meeting the probe reads the frame's
stamp and asks the partner's `SendLog` when that frame was sent: the difference is the glass-to-glass
latency (send -> server decode, effect, encode -> receive and decode here), measured on one clock since
all synthetic attendees live in the load generator's process. Outside meetings the attendee receives the
server's slate, which carries no stamp.

Per meeting the probe keeps: when both attendees were ready (the later Ready), when the first partner
frame arrived, how many frames arrived after it and how many the partner sent in the same time (the
difference is frames lost or dropped by the server).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import av

from loadtest.arrival import arrival
from loadtest.stamp import read_stamp
from loadtest.tracks import SendLog

# A stamp that looks up to a send time further back than this is not trusted: the pre-encoded clip's
# frame numbers repeat every loop (6 s), so a longer delay would alias. Such frames count as `late`.
MAX_LATENCY_SECONDS = 5.0


@dataclass
class PartnerFeed:
    """How a receiver finds out about its partner's sending: their log and frame counter."""

    log: SendLog
    frames_sent: Callable[[], int]
    effects: bool


@dataclass
class MeetingRecord:
    """One meeting as one attendee saw it (times are monotonic seconds)."""

    meeting_id: str
    partner: int
    partner_effects: bool
    matched_at: float
    both_ready_at: float | None
    first_frame_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    frames: int = 0  # frames received from the first partner frame to the end
    stamped: int = 0  # of which the stamp read back and matched the partner's log
    sent_at_first: int = 0  # partner's frames_sent when the first frame arrived
    sent_at_end: int = 0
    extended: bool = False

    @property
    def ready_to_first_frame(self) -> float | None:
        if self.first_frame_at is None or self.both_ready_at is None:
            return None
        return self.first_frame_at - self.both_ready_at

    @property
    def watched_seconds(self) -> float:
        if self.first_frame_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, self.ended_at - self.first_frame_at)

    @property
    def frames_lost(self) -> int:
        if self.first_frame_at is None or self.ended_at is None:
            return 0
        return max(0, (self.sent_at_end - self.sent_at_first) - self.frames)


@dataclass
class LatencySample:
    at: float  # arrival, monotonic
    seconds: float
    partner_effects: bool


@dataclass
class VideoProbe:
    """Receive-side measurements of one attendee (see module docstring)."""

    name: str
    meetings: list[MeetingRecord] = field(default_factory=list)
    latencies: list[LatencySample] = field(default_factory=list)
    frames: int = 0  # every video frame received, slate included
    arrivals: list[float] = field(default_factory=list)  # arrival times of partner frames
    unreadable: int = 0  # frames in a meeting whose stamp did not read back (or not from the partner)
    late: int = 0  # frames whose stamp says they were sent more than MAX_LATENCY_SECONDS ago
    _current: MeetingRecord | None = None
    _feed: PartnerFeed | None = None

    @property
    def current(self) -> MeetingRecord | None:
        return self._current

    def meeting_started(
        self, meeting_id: str, partner: int, feed: PartnerFeed | None, both_ready_at: float | None
    ) -> MeetingRecord:
        if self._current is not None:
            self.meeting_ended(None)
        record = MeetingRecord(
            meeting_id=meeting_id,
            partner=partner,
            partner_effects=feed.effects if feed else False,
            matched_at=time.monotonic(),
            both_ready_at=both_ready_at,
        )
        self.meetings.append(record)
        self._current, self._feed = record, feed
        return record

    def meeting_ended(self, reason: str | None) -> None:
        record, feed = self._current, self._feed
        self._current, self._feed = None, None
        if record is None:
            return
        record.ended_at = time.monotonic()
        record.end_reason = reason
        if feed is not None:
            record.sent_at_end = feed.frames_sent()

    def on_frame(self, frame: av.VideoFrame, at: float) -> None:
        at = arrival(frame, at)
        self.frames += 1
        record, feed = self._current, self._feed
        if record is None or feed is None:
            return
        payload = read_stamp(frame)
        sent = feed.log.lookup(payload) if payload is not None else None
        latency = at - sent if sent is not None else None
        if latency is None or not 0 <= latency <= MAX_LATENCY_SECONDS:
            if record.first_frame_at is not None:
                # After the partner's first frame, an unreadable stamp is still a delivered frame.
                record.frames += 1
                self.arrivals.append(at)
                if latency is not None and latency > MAX_LATENCY_SECONDS:
                    self.late += 1
                else:
                    self.unreadable += 1
            return
        if record.first_frame_at is None:
            record.first_frame_at = at
            record.sent_at_first = feed.frames_sent()
        record.frames += 1
        record.stamped += 1
        self.arrivals.append(at)
        self.latencies.append(LatencySample(at, latency, record.partner_effects))
