"""Runs a load test: a server (given, or started as a subprocess), an event set up through the admin
API, N synthetic attendees for a while, a sample of everything each second, and the report.

The server runs in its own process so that its CPU time (read from its `/metrics`) is the server's
alone: the synthetic attendees share the machine but not the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from aio import cancel_and_wait
from loadtest.arrival import ARRIVAL_STAMPS
from loadtest.attendee import SyntheticAttendee
from loadtest.media import LoadMedia, VideoMode
from loadtest.profile import Profile
from loadtest.report import TimelineSample, build_report, percentile
from rtc import patches

logger = logging.getLogger(__name__)

SERVER_START_SECONDS = 60.0
SERVER_STOP_SECONDS = 15.0
SAMPLE_SECONDS = 1.0
STEADY_AFTER_RAMP_SECONDS = 2.0  # the last attendees' first frames and keyframes settle meanwhile
# aiortc's senders start a stream at 500 kbit/s and follow the receiver's estimate up to 1.5 Mbit/s in
# about 15 s: until then a server re-encodes and forwards less than it will for the rest of a meeting.
BITRATE_SETTLE_SECONDS = 20.0


class LoadTestError(Exception):
    """The load test cannot run (server did not start, admin API refused, bad settings)."""


@dataclass(frozen=True)
class LoadTestConfig:
    peers: int = 6
    duration: float = 30.0  # seconds from the first attendee joining to the end
    url: str | None = None  # a running server; None: start one
    admin_token: str | None = None  # required with `url`
    effects_share: float = 0.0  # share of attendees with the blur background
    meeting_seconds: int = 60
    video: VideoMode = VideoMode.encoded
    width: int = 640
    height: int = 480
    fps: float = 30.0
    bitrate: int = 600_000
    ramp_seconds: float | None = None  # spread joins over this; default min(5, duration / 4)
    # Seconds after the last join left out of the steady-state figures (BITRATE_SETTLE_SECONDS: after the
    # senders' bitrate has reached its top, for capacity figures that hold for a whole meeting).
    settle_seconds: float = STEADY_AFTER_RAMP_SECONDS
    profile: Profile = field(default_factory=Profile)
    seed: int = 1
    server_args: tuple[str, ...] = ()  # extra `speedmeet serve` arguments for a started server

    def __post_init__(self) -> None:
        if self.peers < 2:
            raise LoadTestError("a load test needs at least 2 attendees")
        if self.duration <= 0:
            raise LoadTestError("duration must be positive")
        if not 0.0 <= self.effects_share <= 1.0:
            raise LoadTestError("effects share must be between 0 and 1")
        if self.url is not None and not self.admin_token:
            raise LoadTestError("a server URL needs its admin token (--admin-token or --admin-token-file)")
        if self.width % 2 or self.height % 2 or self.fps <= 0:
            raise LoadTestError("video size must be even and fps positive")
        if self.settle_seconds < 0:
            raise LoadTestError("settle seconds must not be negative")

    @property
    def ramp(self) -> float:
        return self.ramp_seconds if self.ramp_seconds is not None else min(5.0, self.duration / 4)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["admin_token"] = "***" if self.admin_token else None
        out["video"] = str(self.video)
        out["profile"] = self.profile.to_json()
        out["server_args"] = list(self.server_args)
        return out


# --- the server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """`speedmeet serve` in a subprocess with a throwaway data folder. `stop()` is safe to call twice."""

    def __init__(self, extra_args: tuple[str, ...] = ()) -> None:
        self._extra = extra_args
        self._dir: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._log: TextIO | None = None
        self.url = ""
        self.admin_token = ""

    async def start(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="speedmeet-loadtest-"))
        token_file = self._dir / "admin-token"
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._log = (self._dir / "server.log").open("w")
        args = [
            sys.executable, "-m", "web.cli", "--log-level", "WARNING", "serve",
            "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", str(self._dir / "data"), "--admin-token-file", str(token_file),
            # One server process with its media (the figures are of that process), unless told otherwise.
            "--workers", "0",
            *self._extra,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = await asyncio.create_subprocess_exec(
            *args, stdout=self._log, stderr=asyncio.subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + SERVER_START_SECONDS
        async with aiohttp.ClientSession() as http:
            while True:
                if self._proc.returncode is not None:
                    raise LoadTestError(
                        f"the server exited at start (code {self._proc.returncode}):\n{self.log_tail()}"
                    )
                if time.monotonic() > deadline:
                    raise LoadTestError(
                        f"the server did not answer within {SERVER_START_SECONDS:.0f} s:\n{self.log_tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200 and token_file.exists():
                            break
                await asyncio.sleep(0.2)
        self.admin_token = token_file.read_text().strip()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def log_tail(self, lines: int = 30) -> str:
        if self._dir is None or not (self._dir / "server.log").exists():
            return ""
        if self._log is not None:
            self._log.flush()
        return "\n".join((self._dir / "server.log").read_text(errors="replace").splitlines()[-lines:])

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), SERVER_STOP_SECONDS)
            except TimeoutError:
                logger.warning("server did not stop within %.0f s; killing it", SERVER_STOP_SECONDS)
                proc.kill()
                await proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


# --- the admin API and metrics --------------------------------------------------------------------


class AdminClient:
    """The few admin API calls a load test needs."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        async with self._http.post(f"{self._base}{path}", json=body, headers=self._headers) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = None
            if response.status >= 400:
                detail = data.get("error") if isinstance(data, dict) else await response.text()
                raise LoadTestError(f"POST {path}: HTTP {response.status}: {detail}")
            return data

    async def setup_session(
        self, peers: int, meeting_seconds: int, duration: float
    ) -> tuple[int, list[tuple[int, str]]]:
        """An event for today, one ticket type, `peers` tickets and a live session.
        Returns (session id, [(ticket id, secret)])."""
        now = datetime.now(UTC)
        today = now.date()
        stamp = now.strftime("%Y-%m-%d %H:%M:%S")
        event = await self._post(
            "/api/admin/events",
            {
                "name": f"Load test {stamp}",
                "timezone": "UTC",
                "days": [str(today - timedelta(days=1)), str(today), str(today + timedelta(days=1))],
            },
        )
        event_id = int(event["id"])
        await self._post(f"/api/admin/events/{event_id}/ticket-types", {"name": "Attendee"})
        tickets = await self._post(
            f"/api/admin/events/{event_id}/tickets",
            {
                "tickets": [
                    {
                        "name": f"Synthetic {i + 1}",
                        "email": f"loadtest+{i + 1}@example.org",
                        "ticket_type": "Attendee",
                        "headline": "Load tester",
                    }
                    for i in range(peers)
                ]
            },
        )
        session = await self._post(
            f"/api/admin/events/{event_id}/sessions",
            {
                "title": f"Load test {stamp}",
                "starts_at": (now - timedelta(minutes=1)).isoformat(),
                "ends_at": (now + timedelta(seconds=duration + 600)).isoformat(),
                "meeting_seconds": meeting_seconds,
            },
        )
        return int(session["id"]), [(int(t["id"]), _secret(t)) for t in tickets["tickets"]]


def _secret(ticket: dict[str, Any]) -> str:
    if ticket.get("secret"):
        return str(ticket["secret"])
    for link in ticket.get("join_links", []):
        values = parse_qs(urlsplit(link["url"]).query).get("t")
        if values:
            return values[0]
    raise LoadTestError(f"ticket {ticket.get('id')} came back without a secret or join link")


@dataclass
class ServerSample:
    at: float  # monotonic
    cpu_seconds: float | None
    rss_bytes: float | None
    peak_rss_bytes: float | None
    loop_lag_max: float | None
    meetings_started: float | None
    values: dict[str, float] = field(default_factory=dict)  # every unlabelled sample

    @property
    def loop_cpu_seconds(self) -> float | None:
        return self.values.get("speedmeet_event_loop_cpu_seconds_total")


async def scrape(http: aiohttp.ClientSession, base_url: str) -> ServerSample:
    """Read the server's `/metrics` (any figure it does not offer is None)."""
    at = time.monotonic()
    try:
        async with http.get(f"{base_url.rstrip('/')}/metrics", timeout=aiohttp.ClientTimeout(total=5)) as r:
            if r.status != 200:
                return ServerSample(at, None, None, None, None, None)
            text = await r.text()
    except (aiohttp.ClientError, TimeoutError, OSError):
        return ServerSample(at, None, None, None, None, None)
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.labels:
                values[sample.name] = sample.value
    return ServerSample(
        at,
        values.get("process_cpu_seconds_total"),
        values.get("process_resident_memory_bytes"),
        values.get("speedmeet_process_peak_resident_memory_bytes"),
        values.get("speedmeet_event_loop_lag_max_seconds"),
        values.get("speedmeet_meetings_started_total"),
        values,
    )


# --- the run --------------------------------------------------------------------------------------


class LagProbe:
    """How late the load generator's own event loop runs a short timer: when it is late, frames wait
    in the attendees' receive queues and the measured latency includes the generator's delay."""

    def __init__(self, interval: float = 0.05) -> None:
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self.window_max = 0.0  # worst lag since the last `take()`
        self.samples: list[float] = []

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loadtest-lag-probe")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def take(self) -> float:
        worst, self.window_max = self.window_max, 0.0
        return worst

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            lag = max(0.0, loop.time() - due)
            self.samples.append(lag)
            self.window_max = max(self.window_max, lag)


ProgressCallback = Callable[[TimelineSample, float], None]


class LoadTest:
    """One load test run: `await LoadTest(config).run()` returns the report (a JSON-able dict)."""

    def __init__(self, config: LoadTestConfig, progress: ProgressCallback | None = None) -> None:
        self.config = config
        self._progress = progress
        self.attendees: list[SyntheticAttendee] = []
        self.timeline: list[TimelineSample] = []

    async def run(self) -> dict[str, Any]:
        config = self.config
        patches.install(ARRIVAL_STAMPS)
        patches.install(patches.SPEEDUPS)  # the attendees' aiortc reads the clock for every packet too
        media_task = asyncio.get_running_loop().run_in_executor(
            None, LoadMedia.build, config.video, config.width, config.height, config.fps, config.bitrate
        )
        server: ServerProcess | None = None
        try:
            if config.url is None:
                server = ServerProcess(config.server_args)
                await server.start()
                url, token = server.url, server.admin_token
            else:
                url, token = config.url, config.admin_token or ""
            media = await media_task
            async with aiohttp.ClientSession() as http:
                admin = AdminClient(http, url, token)
                session_id, tickets = await admin.setup_session(
                    config.peers, config.meeting_seconds, config.duration
                )
                return await self._drive(http, url, session_id, tickets, media)
        finally:
            if not media_task.done():
                await asyncio.gather(media_task, return_exceptions=True)
            if server is not None:
                await server.stop()

    async def _drive(
        self,
        http: aiohttp.ClientSession,
        url: str,
        session_id: int,
        tickets: list[tuple[int, str]],
        media: LoadMedia,
    ) -> dict[str, Any]:
        config = self.config
        rng = random.Random(config.seed)
        with_effects = round(config.effects_share * config.peers)
        effect_flags = [i < with_effects for i in range(config.peers)]
        rng.shuffle(effect_flags)
        directory: dict[int, SyntheticAttendee] = {}
        for i, (ticket_id, secret) in enumerate(tickets):
            attendee = SyntheticAttendee(
                index=i + 1,
                ticket_id=ticket_id,
                secret=secret,
                base_url=url,
                session_id=session_id,
                media=media,
                effects=effect_flags[i],
                profile=config.profile,
                directory=directory,
                http=http,
                seed=rng.getrandbits(32),
            )
            directory[ticket_id] = attendee
            self.attendees.append(attendee)

        first = await scrape(http, url)
        lag = LagProbe()
        lag.start()
        started = time.monotonic()
        deadline = started + config.duration
        tasks: list[asyncio.Task[None]] = []
        sampler = asyncio.create_task(
            self._sample(http, url, started, deadline, first, lag), name="loadtest-sampler"
        )
        try:
            for i, attendee in enumerate(self.attendees):
                join_at = started + config.ramp * i / max(1, len(self.attendees) - 1)
                await asyncio.sleep(max(0.0, join_at - time.monotonic()))
                tasks.append(asyncio.create_task(attendee.run(deadline), name=f"loadtest-{attendee.name}"))
            await asyncio.gather(*tasks)
        finally:
            await cancel_and_wait(*tasks, sampler)
            await lag.stop()
            await asyncio.gather(*(a.close() for a in self.attendees), return_exceptions=True)
        ended = time.monotonic()
        last = await scrape(http, url)
        peak = max((s for s in (first.peak_rss_bytes, last.peak_rss_bytes) if s is not None), default=None)
        rss_seen = [s.server_rss_mb for s in self.timeline if s.server_rss_mb is not None]
        server_info = {
            "url": url,
            "peak_memory_mb": round(peak / 2**20, 1) if peak else (max(rss_seen) if rss_seen else None),
            "cpu_seconds": _delta(first.cpu_seconds, last.cpu_seconds),
            "meetings_started": _delta(first.meetings_started, last.meetings_started),
            **_codec_figures(first.values, last.values),
        }
        generator_lag = {
            "loop_lag_p95_ms": _ms(percentile(lag.samples, 95)),
            "loop_lag_max_ms": _ms(max(lag.samples) if lag.samples else None),
        }
        return build_report(
            config=config.to_json(),
            attendees=self.attendees,
            timeline=self.timeline,
            steady_from=config.ramp + config.settle_seconds,
            server=server_info,
            generator=generator_lag,
            started=started,
            ended=min(ended, deadline),
        )

    async def _sample(
        self,
        http: aiohttp.ClientSession,
        url: str,
        started: float,
        deadline: float,
        first: ServerSample,
        lag: LagProbe,
    ) -> None:
        previous = first
        cpu_before = time.process_time()
        arrivals_seen = {a.name: 0 for a in self.attendees}
        latencies_seen = {a.name: 0 for a in self.attendees}
        try:
            while True:
                await asyncio.sleep(SAMPLE_SECONDS)
                sample = await scrape(http, url)
                now = time.monotonic()
                interval = max(1e-3, now - previous.at)
                cpu_now = time.process_time()
                frames = 0
                window: list[float] = []
                for a in self.attendees:
                    frames += len(a.probe.arrivals) - arrivals_seen[a.name]
                    arrivals_seen[a.name] = len(a.probe.arrivals)
                    window += [s.seconds for s in a.probe.latencies[latencies_seen[a.name] :]]
                    latencies_seen[a.name] = len(a.probe.latencies)
                receivers = sum(
                    1
                    for a in self.attendees
                    if a.probe.current is not None and a.probe.current.first_frame_at
                )
                connected = sum(1 for a in self.attendees if a.connected)
                server_cpu = _delta(previous.cpu_seconds, sample.cpu_seconds)
                loop_cpu = _delta(previous.loop_cpu_seconds, sample.loop_cpu_seconds)
                point = TimelineSample(
                    t=round(now - started, 2),
                    connected=connected,
                    in_meetings=sum(1 for a in self.attendees if a.in_meeting),
                    receivers=receivers,
                    fps_per_receiver=round(frames / interval / receivers, 2) if receivers else None,
                    latency_p50_ms=_ms(percentile(window, 50)),
                    latency_p95_ms=_ms(percentile(window, 95)),
                    server_cpu_cores=round(server_cpu / interval, 3) if server_cpu is not None else None,
                    server_rss_mb=round(sample.rss_bytes / 2**20, 1) if sample.rss_bytes else None,
                    server_loop_lag_ms=_ms(sample.loop_lag_max),
                    generator_cpu_cores=round((cpu_now - cpu_before) / interval, 3),
                    generator_loop_lag_ms=_ms(lag.take()),
                    attendee_seconds=connected * interval,
                    server_cpu_seconds=server_cpu,
                    server_loop_cpu_seconds=loop_cpu,
                    server_loop_cores=round(loop_cpu / interval, 3) if loop_cpu is not None else None,
                    generator_cpu_seconds=cpu_now - cpu_before,
                )
                self.timeline.append(point)
                previous, cpu_before = sample, cpu_now
                if self._progress is not None:
                    self._progress(point, max(0.0, deadline - now))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("load test sampler crashed")


def _codec_figures(before: dict[str, float], after: dict[str, float]) -> dict[str, float | None]:
    """Frames the server decoded, processed and encoded during the run, and the mean time of each."""
    out: dict[str, float | None] = {}
    for name, metric in (
        ("decode", "video_decode"),
        ("decode_backlog", "video_decode_backlog"),
        ("effect", "effect"),
        ("encode", "video_encode"),
    ):
        count = _delta(
            before.get(f"speedmeet_{metric}_seconds_count"), after.get(f"speedmeet_{metric}_seconds_count")
        )
        total = _delta(
            before.get(f"speedmeet_{metric}_seconds_sum"), after.get(f"speedmeet_{metric}_seconds_sum")
        )
        out[f"{name}_frames"] = count
        out[f"{name}_ms_mean"] = round(1000 * total / count, 2) if count and total is not None else None
    return out


def _delta(before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    return after - before


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000.0, 1)
