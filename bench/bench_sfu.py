"""Media plane: time from Ready to the first partner frame, and server CPU per forwarded video frame.

The server runs as its own process (`speedmeet serve` on 127.0.0.1, port chosen by the system, a
temporary data directory seeded beforehand); synthetic aiortc peers in this process join over the real
WebSocket and WebRTC on loopback. Effects are off.

1. **Ready -> first partner frame** (goal < 500 ms): per trial two fresh attendees connect (media up),
   the first presses Ready and waits; the clock starts when the second presses Ready and stops when each
   receives the first video frame in the partner's colour. p50 / max over the trials.
2. **Server CPU per forwarded frame**: `PAIRS` pairs in meetings, each peer sending 640x480 at 15 fps
   plus audio; over `WINDOW_SECONDS`, the server process's CPU time (user + system, from /proc) divided
   by the video frames the peers received from their partners. That CPU includes everything the server
   does for those frames: decoding each incoming stream (once), re-encoding per receiver, audio, RTP,
   signalling.

Knobs (environment): BENCH_SFU_TRIALS (default 10), BENCH_SFU_PAIRS (2), BENCH_SFU_WINDOW (10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loadtest.synthetic_peer import SyntheticPeer
from web.store import EventInput, SessionInput, Store, TicketInput, default_database_url

TRIALS = int(os.environ.get("BENCH_SFU_TRIALS", "10"))
PAIRS = int(os.environ.get("BENCH_SFU_PAIRS", "2"))
WINDOW_SECONDS = float(os.environ.get("BENCH_SFU_WINDOW", "10"))
WARMUP_SECONDS = 3.0
GOAL_MS = 500.0
COLOURS = [(220, 40, 40), (40, 60, 220)]


async def _seed(data_dir: Path, tickets: int) -> tuple[int, list[str]]:
    store = Store(default_database_url(data_dir))
    try:
        await store.migrate()
        now = datetime.now(UTC)
        event = await store.create_event(
            EventInput(name="Bench", timezone="UTC", days=(now.date(), (now + timedelta(days=1)).date()))
        )
        await store.create_ticket_type(event.id, "Attendee")
        created = await store.create_tickets(
            event.id,
            [
                TicketInput(name=f"Bench {i}", email=f"bench{i}@example.org", ticket_type="Attendee")
                for i in range(tickets)
            ],
        )
        session = await store.create_session(
            event.id,
            SessionInput(
                title="Bench",
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(hours=2),
                meeting_seconds=3600,
            ),
        )
        return session.id, [t.secret for t in created]
    finally:
        await store.close()


def _start_server(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    code = "import sys; from web.cli import main; sys.exit(main())"
    args = ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir), "--workers", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.search(r"running on (http://\S+)", line)
        if match:
            return proc, match.group(1)
    proc.kill()
    raise RuntimeError("the server did not start")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def _peer(base: str, session_id: int, secret: str, index: int, **kwargs: object) -> SyntheticPeer:
    return SyntheticPeer(
        base,
        session_id,
        secret,
        colour=COLOURS[index % 2],
        tone_hz=440.0 if index % 2 == 0 else 1000.0,
        name=f"bench{index}",
        ice_servers=[],
        **kwargs,  # type: ignore[arg-type]
    )


async def _latency_trials(base: str, session_id: int, secrets: list[str]) -> list[tuple[float, float, float]]:
    """(matched, second attendee's first partner frame, first attendee's) in ms, per trial."""
    results = []
    for trial in range(TRIALS):
        a = _peer(base, session_id, secrets[2 * trial], 0)
        b = _peer(base, session_id, secrets[2 * trial + 1], 1)
        try:
            await a.connect()
            await b.connect()
            await a.ready()
            await a.wait_for("waiting")
            await asyncio.sleep(0.3)
            started = time.monotonic()
            await b.ready()
            await b.wait_for("matched")
            matched = time.monotonic()
            seen_by_b = await b.wait_for_colour(COLOURS[0])
            seen_by_a = await a.wait_for_colour(COLOURS[1])
            results.append(
                (
                    (matched - started) * 1000,
                    (seen_by_b.at - started) * 1000,
                    (seen_by_a.at - started) * 1000,
                )
            )
            await a.leave()
            await b.wait_for("meeting_ended")
        finally:
            await a.close()
            await b.close()
    return results


async def _cpu_per_frame(
    base: str, session_id: int, secrets: list[str], pid: int
) -> tuple[float, float, int]:
    """(server CPU ms per forwarded frame, server CPU share of one core, frames forwarded)."""
    peers = [
        _peer(base, session_id, secret, i, width=640, height=480, fps=15.0, summarise=False)
        for i, secret in enumerate(secrets[: 2 * PAIRS])
    ]
    try:
        for peer in peers:
            await peer.connect()
        for a, b in zip(peers[0::2], peers[1::2], strict=True):
            await a.ready()
            await b.ready()
            await a.wait_for("matched")
            await b.wait_for("matched")
        await asyncio.sleep(WARMUP_SECONDS)
        frames_before = sum(p.video_frames for p in peers)
        cpu_before, wall_before = _cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(WINDOW_SECONDS)
        cpu = _cpu_seconds(pid) - cpu_before
        wall = time.monotonic() - wall_before
        frames = sum(p.video_frames for p in peers) - frames_before
    finally:
        for peer in peers:
            await peer.close()
    return (cpu * 1000 / frames if frames else float("nan")), cpu / wall, frames


async def _run() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sfu-") as tmp:
        data_dir = Path(tmp)
        session_id, secrets = await _seed(data_dir, 2 * TRIALS + 2 * PAIRS)
        proc, base = _start_server(data_dir)
        try:
            latencies = await _latency_trials(base, session_id, secrets)
            per_frame, cpu_share, frames = await _cpu_per_frame(
                base, session_id, secrets[2 * TRIALS :], proc.pid
            )
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()

    def stats(values: list[float]) -> str:
        return f"p50 {statistics.median(values):6.1f} ms   max {max(values):6.1f} ms"

    matched = [m for m, _, _ in latencies]
    second = [b for _, b, _ in latencies]
    first = [a for _, _, a in latencies]
    print(f"Ready -> first partner frame, loopback, {len(latencies)} trials (goal < {GOAL_MS:.0f} ms):")
    print(f"  second attendee's Ready -> 'matched' message     {stats(matched)}")
    print(f"  ... -> second attendee's first partner frame    {stats(second)}")
    print(f"  ... -> first attendee's first partner frame     {stats(first)}")
    worst = max(max(second), max(first))
    print(f"  {'meets' if worst < GOAL_MS else 'MISSES'} the goal (worst {worst:.0f} ms)")
    print(
        f"Server CPU per forwarded video frame (effects off, {PAIRS} pairs, 640x480 @ 15 fps + audio, "
        f"{WINDOW_SECONDS:.0f} s):"
    )
    print(f"  {per_frame:.2f} ms CPU per frame over {frames} frames forwarded")
    print(f"  the server process used {cpu_share:.0%} of one core")


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
