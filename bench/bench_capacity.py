"""Capacity of one server on this machine, measured with the load tester (`speedmeet-loadtest`).

For blur on every attendee (processing every frame, then with `--effect-fps 20`), then for no effects:
run 2, 4, 6, ... attendees (all in meetings, meetings longer than the run) for a short while each, and
find the largest number for which every receiver gets at least 15 frames per second and the
glass-to-glass latency p95 stays under 150 ms (both in the steady state: after everyone joined and the
senders' bitrate reached its top, 20 s later; until then a server does less work than for the rest of a
meeting).
Also prints the server's CPU seconds per attendee-second at each step, the share of it on the event
loop's thread ("loop/att-s") and the number of attendees at which that thread would be busy all the
time ("1 process": one server process can serve no more, whatever the cores), and what a synthetic
attendee costs the load generator with pre-encoded vs live-encoded video.

The server runs in its own process; the load generator shares the machine with it, so on a small
machine the figures are pessimistic (the generator takes CPU the server could use). Check that nothing
else runs (`uptime`): other work makes them more so.

    python -m bench capacity
    SPEEDMEET_BENCH_MAX_PEERS=12 SPEEDMEET_BENCH_STEP_SECONDS=15 python -m bench capacity

Env: SPEEDMEET_BENCH_MAX_PEERS (default 16), SPEEDMEET_BENCH_STEP_SECONDS (seconds measured per step,
after the settling; default 20),
SPEEDMEET_BENCH_JSON (write every step's summary there).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from aio import cancel_and_wait
from loadtest.media import LoadMedia, VideoMode
from loadtest.profile import Profile
from loadtest.receive import receive_as_a_browser
from loadtest.runner import BITRATE_SETTLE_SECONDS, LoadTest, LoadTestConfig
from loadtest.stamp import read_stamp

MIN_FPS = 15.0
MAX_P95_MS = 150.0
GENERATOR_PAIRS = 4
CAPPED_EFFECT_FPS = (20,)  # the blur search again with the server's effect frame-rate cap


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


# --- what a synthetic attendee costs the generator ----------------------------------------------------


async def _generator_cost(mode: VideoMode, pairs: int, seconds: float) -> tuple[float, float]:
    """CPU seconds per attendee-second of `pairs` loopback sender -> receiver peer pairs (one pair does
    an attendee's work: send audio + video, receive as the load tester's attendees do: video decoded and
    its stamps read, audio counted), and frames per second."""
    media = await asyncio.get_running_loop().run_in_executor(None, LoadMedia.build, mode)
    config = RTCConfiguration(iceServers=[])
    frames = [0]
    consumers: list[asyncio.Task[None]] = []
    pcs: list[RTCPeerConnection] = []

    async def consume(track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.VideoFrame):
                read_stamp(frame)
                frames[0] += 1

    def on_track(track: MediaStreamTrack) -> None:
        consumers.append(asyncio.create_task(consume(track), name=f"bench-consume-{len(consumers)}"))

    try:
        for _ in range(pairs):
            sender, receiver = RTCPeerConnection(config), RTCPeerConnection(config)
            pcs += [sender, receiver]
            sender.addTrack(media.audio_track())
            sender.addTrack(media.video_track(media.send_log()))
            receiver.on("track", on_track)
            await sender.setLocalDescription(await sender.createOffer())
            await receiver.setRemoteDescription(sender.localDescription)
            # Audio as the load tester's attendees take it: counted (here by nobody), never decoded.
            receive_as_a_browser(receiver, count_audio=lambda: None)
            await receiver.setLocalDescription(await receiver.createAnswer())
            await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.sleep(3.0)  # connect, first keyframes
        cpu0, frames0, t0 = time.process_time(), frames[0], time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, frames1, t1 = time.process_time(), frames[0], time.monotonic()
    finally:
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)
        await cancel_and_wait(*consumers)
    return (cpu1 - cpu0) / (t1 - t0) / pairs, (frames1 - frames0) / (t1 - t0) / pairs


# --- capacity ---------------------------------------------------------------------------------------


def _passes(summary: dict[str, Any], peers: int) -> tuple[bool, str]:
    steady = summary["steady"]
    fps_min, p95 = steady.get("receiver_fps_min"), steady.get("latency_p95_ms")
    if steady.get("receivers", 0) < peers:
        return False, f"only {steady.get('receivers', 0)} of {peers} receivers got video"
    if fps_min is None or fps_min < MIN_FPS:
        return False, f"slowest receiver {fps_min} fps"
    if p95 is None or p95 >= MAX_P95_MS:
        return False, f"latency p95 {p95} ms"
    if summary["signalling_errors"]:
        return False, f"{summary['signalling_errors']} signalling errors"
    return True, "ok"


async def _step(peers: int, effects_share: float, seconds: float) -> dict[str, Any]:
    ramp = min(4.0, 0.5 * peers)
    config = LoadTestConfig(
        peers=peers,
        # Measured only once the senders' bitrate has reached its top, where it stays for the rest of
        # a meeting: `seconds` of that.
        duration=ramp + BITRATE_SETTLE_SECONDS + seconds,
        settle_seconds=BITRATE_SETTLE_SECONDS,
        effects_share=effects_share,
        meeting_seconds=300,  # longer than the run: everyone stays in a meeting
        ramp_seconds=ramp,
        profile=Profile.steady(),
        seed=peers,
    )
    report = await LoadTest(config).run()
    return report


def _search(
    effects_share: float,
    max_peers: int,
    seconds: float,
    results: list[dict[str, Any]],
    effect_fps: int | None = None,
) -> int:
    """Attendee counts 2, 4, ... until a step fails; returns the largest that passed. `effect_fps` is
    the server's `--effect-fps` (through its environment: the load tester starts the server)."""
    label = "blur" if effects_share else "no effect"
    if effect_fps is not None:
        label += f", --effect-fps {effect_fps}"
        os.environ["SPEEDMEET_EFFECT_FPS"] = str(effect_fps)
    else:
        os.environ.pop("SPEEDMEET_EFFECT_FPS", None)
    best = 0
    print(f"\n-- {label}: every receiver >= {MIN_FPS:.0f} fps and latency p95 < {MAX_P95_MS:.0f} ms --")
    print(
        f"{'attendees':>9}  {'fps min':>7}  {'fps p50':>7}  {'p50 ms':>7}  {'p95 ms':>7}  "
        f"{'server cpu/att-s':>16}  {'att/core':>8}  {'cores max':>9}  {'loop/att-s':>10}  {'1 process':>9}  "
        f"{'effect ms':>9}  {'encode ms':>9}  result"
    )
    for peers in range(2, max_peers + 1, 2):
        report = asyncio.run(_step(peers, effects_share, seconds))
        summary, server = report["summary"], report["server"]
        steady = summary["steady"]
        ok, why = _passes(summary, peers)
        cpu = summary["server_cpu_s_per_attendee_s"]
        per_core = f"{1 / cpu:.1f}" if cpu else "-"
        print(
            f"{peers:>9}  {_f(steady.get('receiver_fps_min')):>7}  {_f(steady.get('receiver_fps_p50')):>7}  "
            f"{_f(steady.get('latency_p50_ms')):>7}  {_f(steady.get('latency_p95_ms')):>7}  {_f(cpu):>16}  "
            f"{per_core:>8}  {_f(summary.get('server_cpu_cores_max')):>9}  "
            f"{_f(summary.get('server_loop_cpu_s_per_attendee_s')):>10}  "
            f"{_f(summary.get('attendees_per_process_limit')):>9}  "
            f"{_f(server.get('effect_ms_mean')):>9}  {_f(server.get('encode_ms_mean')):>9}  {why}",
            flush=True,
        )
        results.append({"effects_share": effects_share, "effect_fps": effect_fps, "peers": peers,
                        "passed": ok, "summary": summary, "server": server})  # fmt: skip
        if effects_share and not server.get("effect_frames"):
            print("   (the server applied no background effect: blur is not wired into the media plane)")
        if not ok:
            break
        best = peers
    return best


def _f(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) and value < 1 else str(value)


def main() -> None:
    max_peers = _env_int("SPEEDMEET_BENCH_MAX_PEERS", 16)
    seconds = float(_env_int("SPEEDMEET_BENCH_STEP_SECONDS", 20))
    print("video sent by each attendee: 640x480 at 30 fps, VP8 ~600 kbit/s, plus Opus audio")
    print(
        f"steps of {BITRATE_SETTLE_SECONDS:.0f} s settling + {seconds:.0f} s measured, meetings longer than "
        f"a step; {_load()}"
    )

    print("\n-- load generator cost per synthetic attendee (send + receive, loopback pairs) --")
    for mode in (VideoMode.encoded, VideoMode.live):
        cpu, fps = asyncio.run(_generator_cost(mode, GENERATOR_PAIRS, 8.0))
        print(
            f"{mode.value:>8} video: {cpu:.3f} CPU s per attendee-second ({fps:.1f} fps received)", flush=True
        )

    results: list[dict[str, Any]] = []
    saved = os.environ.get("SPEEDMEET_EFFECT_FPS")
    try:
        blur = _search(1.0, max_peers, seconds, results)
        capped = {fps: _search(1.0, max_peers, seconds, results, effect_fps=fps) for fps in CAPPED_EFFECT_FPS}
        plain = _search(0.0, max_peers, seconds, results)
    finally:
        if saved is None:
            os.environ.pop("SPEEDMEET_EFFECT_FPS", None)
        else:
            os.environ["SPEEDMEET_EFFECT_FPS"] = saved
    with_cap = ", ".join(f"blur at --effect-fps {fps} {best}" for fps, best in capped.items())
    print(f"\nlargest passing (up to {max_peers} tried): blur {blur}, {with_cap}, no effect {plain}")
    print(f"machine after: {_load()}")
    out = os.environ.get("SPEEDMEET_BENCH_JSON")
    if out:
        Path(out).write_text(json.dumps(results, indent=2))
        print(f"steps written to {out}")


if __name__ == "__main__":
    main()
