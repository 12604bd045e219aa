"""A load test's results: the summary table, the JSON report and the plot over time.

`build_report()` turns what the attendees measured (their probes and counters) and the timeline the
runner sampled into a JSON-able dict; `format_table()` prints it; `write_plot()` draws the timeline.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loadtest.attendee import SyntheticAttendee

# Server error codes a well-behaved client still gets when two attendees race (both offer to extend,
# one leaves as the other accepts): reported apart from real signalling errors.
RACE_ERROR_CODES = frozenset({"invalid_command", "not_in_meeting"})
MIN_WATCHED_SECONDS = 2.0
GENERATOR_LAG_WARNING_MS = 30.0  # a receiver needs this much partner video for a frame-rate figure


@dataclass
class TimelineSample:
    """One second of the run, as the runner sampled it."""

    t: float  # seconds since the run started
    connected: int
    in_meetings: int
    receivers: int  # attendees that have received their current partner's first frame
    fps_per_receiver: float | None  # partner frames per second per receiver, this interval
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    server_cpu_cores: float | None  # server CPU seconds per second, this interval
    server_rss_mb: float | None
    server_loop_lag_ms: float | None  # worst event-loop lag the server saw in its last second
    generator_cpu_cores: float
    generator_loop_lag_ms: float | None  # worst lag of the load generator's event loop, this interval
    attendee_seconds: float  # connected attendees x interval
    server_cpu_seconds: float | None  # server CPU used in this interval
    generator_cpu_seconds: float
    server_loop_cpu_seconds: float | None = None  # of the server's CPU, on its event loop's thread
    server_loop_cores: float | None = None  # the same per second: at 1.0 the process is full


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000.0, 1)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def _latency_stats(seconds: Sequence[float]) -> dict[str, Any]:
    return {
        "count": len(seconds),
        "p50_ms": _ms(percentile(seconds, 50)),
        "p95_ms": _ms(percentile(seconds, 95)),
        "max_ms": _ms(max(seconds) if seconds else None),
    }


def receiver_fps(attendee: SyntheticAttendee) -> float | None:
    """Partner frames per second this attendee received, over all its meetings (from each first frame)."""
    frames = sum(m.frames for m in attendee.probe.meetings)
    seconds = sum(m.watched_seconds for m in attendee.probe.meetings)
    if seconds < MIN_WATCHED_SECONDS:
        return None
    return frames / seconds


def steady_rate(samples: Iterable[TimelineSample], attr: str) -> float | None:
    """CPU seconds per attendee-second over the samples where every figure is known."""
    used = 0.0
    attendee_seconds = 0.0
    for sample in samples:
        value = getattr(sample, attr)
        if value is None or sample.attendee_seconds <= 0:
            continue
        used += value
        attendee_seconds += sample.attendee_seconds
    return used / attendee_seconds if attendee_seconds > 0 else None


def build_report(
    *,
    config: dict[str, Any],
    attendees: Sequence[SyntheticAttendee],
    timeline: Sequence[TimelineSample],
    steady_from: float,
    server: dict[str, Any],
    generator: dict[str, Any] | None = None,
    started: float | None = None,
    ended: float | None = None,
) -> dict[str, Any]:
    """The whole report. `steady_from`: seconds into the run after which every attendee had joined
    (CPU rates and the `steady` figures are taken from there on, leaving out the connection ramp);
    `started`/`ended`: the run's monotonic start and end."""
    meetings = {m.meeting_id for a in attendees for m in a.probe.meetings}
    records = [m for a in attendees for m in a.probe.meetings]
    ready_to_first = [r for m in records if (r := m.ready_to_first_frame) is not None]
    fps_values = [f for a in attendees if (f := receiver_fps(a)) is not None]
    latencies = [s.seconds for a in attendees for s in a.probe.latencies]
    with_effects = [s.seconds for a in attendees for s in a.probe.latencies if s.partner_effects]
    without_effects = [s.seconds for a in attendees for s in a.probe.latencies if not s.partner_effects]
    received = sum(m.frames for m in records)
    lost = sum(m.frames_lost for m in records)
    unreadable = sum(a.probe.unreadable for a in attendees)
    late = sum(a.probe.late for a in attendees)
    errors: Counter[str] = Counter()
    for a in attendees:
        errors.update(a.counters.errors)
    real_errors = sum(n for code, n in errors.items() if code not in RACE_ERROR_CODES)
    raced = sum(n for code, n in errors.items() if code in RACE_ERROR_CODES)
    steady = [s for s in timeline if s.t >= steady_from]
    loop_rate = steady_rate(steady, "server_loop_cpu_seconds")
    lag = [s.server_loop_lag_ms for s in timeline if s.server_loop_lag_ms is not None]
    steady_stats: dict[str, Any] = {"from_s": steady_from}
    if started is not None and ended is not None and ended - (started + steady_from) >= 1.0:
        window_start = started + steady_from
        window = ended - window_start
        per_receiver = [
            sum(1 for at in a.probe.arrivals if at >= window_start) / window
            for a in attendees
            if a.probe.arrivals and a.probe.arrivals[-1] >= window_start
        ]
        steady_latency = [s.seconds for a in attendees for s in a.probe.latencies if s.at >= window_start]
        steady_stats.update(
            {
                "seconds": round(window, 1),
                "receivers": len(per_receiver),
                "receiver_fps_min": _round(min(per_receiver) if per_receiver else None, 1),
                "receiver_fps_p50": _round(percentile(per_receiver, 50), 1),
                "latency_p50_ms": _ms(percentile(steady_latency, 50)),
                "latency_p95_ms": _ms(percentile(steady_latency, 95)),
            }
        )
    summary = {
        "peers": len(attendees),
        "peers_with_effects": sum(1 for a in attendees if a.effects),
        "meetings": len(meetings),
        "meeting_records": len(records),
        "extensions": sum(a.counters.extensions for a in attendees),
        "connections": sum(a.counters.connections for a in attendees),
        "early_leaves": sum(a.counters.early_leaves for a in attendees),
        "drops": sum(a.counters.drops for a in attendees),
        "ready_to_first_frame_ms": {
            "count": len(ready_to_first),
            "p50": _ms(percentile(ready_to_first, 50)),
            "p95": _ms(percentile(ready_to_first, 95)),
        },
        "receiver_fps": {
            "receivers": len(fps_values),
            "min": _round(min(fps_values) if fps_values else None, 1),
            "p5": _round(percentile(fps_values, 5), 1),
            "p50": _round(percentile(fps_values, 50), 1),
        },
        "latency": {
            **_latency_stats(latencies),
            "effects_on": _latency_stats(with_effects),
            "effects_off": _latency_stats(without_effects),
        },
        "frames_received": received,
        "frames_lost": lost,
        "frames_lost_share": _round(lost / (received + lost) if received + lost else None, 4),
        "stamps_unreadable_share": _round(unreadable / received if received else None, 4),
        "frames_later_than_5s": late,
        "signalling_errors": real_errors,
        "rejected_commands": raced,
        "errors_by_code": dict(sorted(errors.items())),
        "attendee_seconds": round(sum(a.counters.connected_seconds for a in attendees), 1),
        "server_cpu_s_per_attendee_s": _round(steady_rate(steady, "server_cpu_seconds"), 4),
        "server_loop_cpu_s_per_attendee_s": _round(loop_rate, 4),
        # Where the loop's thread would be busy all the time: one server process can serve no more.
        "attendees_per_process_limit": round(1.0 / loop_rate) if loop_rate else None,
        "server_peak_memory_mb": server.get("peak_memory_mb"),
        "server_cpu_cores_p50": _round(
            percentile([c for x in steady if (c := x.server_cpu_cores) is not None], 50), 2
        ),
        "server_cpu_cores_max": _round(
            max((c for x in steady if (c := x.server_cpu_cores) is not None), default=None), 2
        ),
        "server_loop_lag_max_ms": _round(max(lag) if lag else None, 1),
        "server_meetings_started": server.get("meetings_started"),
        "generator_cpu_s_per_attendee_s": _round(steady_rate(steady, "generator_cpu_seconds"), 4),
        "generator_loop_lag_p95_ms": (generator or {}).get("loop_lag_p95_ms"),
        "steady": steady_stats,
    }
    receivers = [
        {
            "name": a.name,
            "ticket_id": a.ticket_id,
            "effects": a.effects,
            "meetings": len({m.meeting_id for m in a.probe.meetings}),
            "fps": _round(receiver_fps(a), 1),
            "latency_p50_ms": _ms(percentile([s.seconds for s in a.probe.latencies], 50)),
            "frames_lost": sum(m.frames_lost for m in a.probe.meetings),
            "errors": dict(a.counters.errors),
        }
        for a in attendees
    ]
    return {
        "config": config,
        "summary": summary,
        "server": server,
        "receivers": receivers,
        "timeline": [asdict(s) for s in timeline],
    }


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    return f"{value}{unit}"


def format_table(report: dict[str, Any]) -> str:
    s = report["summary"]
    rf, fps, lat, steady = s["ready_to_first_frame_ms"], s["receiver_fps"], s["latency"], s["steady"]
    late = s["frames_later_than_5s"]
    rows = [
        ("peers (with background effect)", f"{s['peers']} ({s['peers_with_effects']})"),
        ("meetings held", _fmt(s["meetings"])),
        (
            "  extensions / connections / early leaves / drops",
            f"{s['extensions']} / {s['connections']} / {s['early_leaves']} / {s['drops']}",
        ),
        ("Ready -> first partner frame p50 / p95", f"{_fmt(rf['p50'], ' ms')} / {_fmt(rf['p95'], ' ms')}"),
        (
            "delivered fps per receiver p5 / p50 (min)",
            f"{_fmt(fps['p5'])} / {_fmt(fps['p50'])} ({_fmt(fps['min'])})",
        ),
        ("glass-to-glass latency p50 / p95", f"{_fmt(lat['p50_ms'], ' ms')} / {_fmt(lat['p95_ms'], ' ms')}"),
        (
            "  partner with effect p50 / p95",
            f"{_fmt(lat['effects_on']['p50_ms'], ' ms')} / {_fmt(lat['effects_on']['p95_ms'], ' ms')}",
        ),
        (
            "  partner without effect p50 / p95",
            f"{_fmt(lat['effects_off']['p50_ms'], ' ms')} / {_fmt(lat['effects_off']['p95_ms'], ' ms')}",
        ),
        (
            f"steady state (from {steady['from_s']:.0f} s): fps min / p50",
            f"{_fmt(steady.get('receiver_fps_min'))} / {_fmt(steady.get('receiver_fps_p50'))}",
        ),
        (
            "  latency p50 / p95",
            f"{_fmt(steady.get('latency_p50_ms'), ' ms')} / {_fmt(steady.get('latency_p95_ms'), ' ms')}",
        ),
        ("frames lost", f"{s['frames_lost']} of {s['frames_received'] + s['frames_lost']}"),
        ("stamps unreadable (frames over 5 s late)", f"{_fmt(s['stamps_unreadable_share'])} ({late})"),
        (
            "signalling errors (+ rejected racing commands)",
            f"{s['signalling_errors']} (+{s['rejected_commands']})",
        ),
        ("server CPU s per attendee-second", _fmt(s["server_cpu_s_per_attendee_s"])),
        (
            "  of which its event loop (one process's limit)",
            f"{_fmt(s['server_loop_cpu_s_per_attendee_s'])} "
            f"({_fmt(s['attendees_per_process_limit'])} attendees)",
        ),
        (
            "server CPU cores used p50 / max",
            f"{_fmt(s['server_cpu_cores_p50'])} / {_fmt(s['server_cpu_cores_max'])}",
        ),
        ("server peak memory", _fmt(s["server_peak_memory_mb"], " MB")),
        ("server event-loop lag max", _fmt(s["server_loop_lag_max_ms"], " ms")),
        ("load generator CPU s per attendee-second", _fmt(s["generator_cpu_s_per_attendee_s"])),
        ("load generator event-loop lag p95", _fmt(s["generator_loop_lag_p95_ms"], " ms")),
    ]
    if (s["generator_loop_lag_p95_ms"] or 0) > GENERATOR_LAG_WARNING_MS:
        rows.append(("WARNING", "the load generator lagged: latency figures include its own delay"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    if s["errors_by_code"]:
        lines.append(
            f"{'errors by code':<{width}}  " + ", ".join(f"{k}={v}" for k, v in s["errors_by_code"].items())
        )
    return "\n".join(lines)


def write_plot(report: dict[str, Any], path: Path) -> None:
    """Four panels over time: attendees, delivered frame rate, latency, CPU and memory (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = report["timeline"]
    t = [s["t"] for s in timeline]

    def series(key: str) -> list[float]:
        return [math.nan if s[key] is None else s[key] for s in timeline]

    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    try:
        axes[0].plot(t, series("connected"), label="connected")
        axes[0].plot(t, series("in_meetings"), label="in meetings")
        axes[0].set_ylabel("attendees")
        axes[0].legend(loc="upper left")
        axes[1].plot(t, series("fps_per_receiver"), label="partner frames/s per receiver")
        axes[1].axhline(15, color="grey", linestyle=":", linewidth=1)
        axes[1].set_ylabel("fps")
        axes[1].legend(loc="lower left")
        axes[2].plot(t, series("latency_p50_ms"), label="p50")
        axes[2].plot(t, series("latency_p95_ms"), label="p95")
        axes[2].axhline(150, color="grey", linestyle=":", linewidth=1)
        axes[2].set_ylabel("glass-to-glass ms")
        axes[2].legend(loc="upper left")
        axes[3].plot(t, series("server_cpu_cores"), label="server CPU (cores)")
        axes[3].plot(t, series("server_loop_cores"), label="of which its event loop (full at 1)")
        axes[3].plot(t, series("generator_cpu_cores"), label="load generator CPU (cores)")
        axes[3].set_ylabel("cores")
        axes[3].set_xlabel("seconds")
        axes[3].legend(loc="upper left")
        memory = axes[3].twinx()
        memory.plot(t, series("server_rss_mb"), color="tab:red", linestyle="--", label="server RSS (MB)")
        memory.set_ylabel("MB")
        memory.legend(loc="upper right")
        config = report["config"]
        fig.suptitle(
            f"speedmeet load test: {config.get('peers')} attendees, "
            f"{round(100 * float(config.get('effects_share', 0)))}% with blur, {config.get('video')} video"
        )
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=90)
    finally:
        plt.close(fig)
