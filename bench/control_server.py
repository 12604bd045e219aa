"""The server side of the control-plane benchmark: `speedmeet serve` in a subprocess (on SQLite, or on a
throwaway PostgreSQL cluster), what /proc says about its CPU and memory, its /metrics, and the event,
tickets and live session set up through the admin API.

Everything here speaks to the server over HTTP on 127.0.0.1 only, so that it works against any version
of the server that keeps the `serve` command, the admin API and /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import glob
import os
import pwd
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

START_SECONDS = 90.0  # the server prints its URL within this
STOP_SECONDS = 20.0  # SIGTERM, then SIGKILL after this
TICKETS_PER_CALL = 5000  # the bulk ticket API takes at most this many
_URL_LINE = re.compile(r"running on (http://\S+)")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """The benchmark cannot run: the server did not start, or the admin API refused."""


def raise_nofile_limit() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


# --- /proc ---------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime: fields 14 and 15 of stat


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident memory) of a process, in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


# --- PostgreSQL ----------------------------------------------------------------------------------------


class PostgresCluster:
    """A throwaway PostgreSQL cluster: `initdb` in a temporary folder, a Unix socket only (no TCP port),
    default durability settings (fsync on). `database()` makes an empty database and returns its URL."""

    SERVER_USER = "postgres"  # PostgreSQL refuses to run as root; Debian's package creates this user
    ROLE = "speedmeet"

    def __init__(self) -> None:
        self.bindir = self.find_bindir()
        if self.bindir is None:
            raise BenchError("PostgreSQL server binaries (initdb, pg_ctl) are missing")
        self.root = Path(tempfile.mkdtemp(prefix="speedmeet-bench-pg-"))
        self._started = False

    @staticmethod
    def find_bindir() -> Path | None:
        found = shutil.which("pg_ctl")
        if found:
            return Path(os.path.realpath(found)).parent
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        return Path(candidates[-1]).parent if candidates else None

    def _run(self, tool: str, *args: str) -> None:
        assert self.bindir is not None
        argv = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", self.SERVER_USER, "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", self.ROLE, "-E", "UTF8")
        options = f"-k {self.root} -c listen_addresses= -c max_connections=200"
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        self._started = True

    def database(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        self._run("createdb", "-h", str(self.root), "-U", self.ROLE, name)
        return f"postgresql+asyncpg://{self.ROLE}@/{name}?host={self.root}"

    def stop(self) -> None:
        try:
            if self._started:
                self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)


# --- the server process --------------------------------------------------------------------------------


class ServerProcess:
    """`python -m web.cli serve --port 0` with a throwaway data folder; `stop()` always ends it."""

    def __init__(self, database_url: str | None = None, log_level: str = "INFO") -> None:
        self._database_url = database_url
        self._log_level = log_level
        self.dir = Path(tempfile.mkdtemp(prefix="speedmeet-bench-control-"))
        self._proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.admin_token = ""

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise BenchError("the server is not running")
        return self._proc.pid

    @property
    def log_path(self) -> Path:
        return self.dir / "server.log"

    def command(self) -> list[str]:
        args = [
            sys.executable, "-m", "web.cli", "--log-level", self._log_level, "serve",
            "--host", "127.0.0.1", "--port", "0",
            "--data-dir", str(self.dir / "data"), "--admin-token-file", str(self.dir / "token"),
            # The control plane alone is measured: the media plane in its process, idle (no offers).
            "--workers", "0",
        ]  # fmt: skip
        if self._database_url:
            args += ["--database-url", self._database_url]
        return args

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        deadline = time.monotonic() + START_SECONDS
        token_file = self.dir / "token"
        while not self.url or not token_file.exists():
            if self._proc.returncode is not None:
                raise BenchError(
                    f"the server exited at start (code {self._proc.returncode}):\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise BenchError(
                    f"the server printed no URL within {START_SECONDS:.0f} s:\n{self.log_tail()}"
                )
            found = _URL_LINE.search(self.log_path.read_text(errors="replace"))
            if found:
                self.url = found.group(1)
            await asyncio.sleep(0.1)
        self.admin_token = token_file.read_text().strip()

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def wait_idle(self, at_most: float, cores: float = 0.05, window: float = 1.0) -> bool:
        """Wait until the server uses under `cores` over `window` seconds (the start's background work,
        such as loading the effect models, is done), at most `at_most` seconds; False if it never was."""
        deadline = time.monotonic() + at_most
        before, at = cpu_seconds(self.pid), time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(window)
            now, used = time.monotonic(), cpu_seconds(self.pid)
            if (used - before) / (now - at) < cores:
                return True
            before, at = used, now
        return False

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_SECONDS; always awaited. Returns the exit code."""
        proc, self._proc = self._proc, None
        code = None
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), STOP_SECONDS)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
            code = proc.returncode
        return code

    async def kill(self) -> None:
        """SIGKILL at once (a crash), awaited."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    def remove_files(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the admin API ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveSession:
    session_id: int
    secrets: list[str]  # one ticket secret per attendee
    starts_at: datetime
    ends_at: datetime


class Admin:
    """The few admin API calls the benchmark needs."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        async with self._http.post(f"{self._base}{path}", json=body, headers=self._headers) as response:
            text = await response.text()
            if response.status >= 400:
                raise BenchError(f"POST {path}: HTTP {response.status}: {text[:500]}")
            return await response.json(content_type=None)

    async def server_now(self) -> datetime:
        """The server's clock, from the Date header of its health check."""
        async with self._http.get(f"{self._base}/healthz") as response:
            date = response.headers.get("Date")
        if not date:
            raise BenchError("the server's responses carry no Date header")
        return email.utils.parsedate_to_datetime(date)

    async def live_session(self, attendees: int, meeting_seconds: int, run_seconds: float) -> LiveSession:
        """An event on the server's today, `attendees` tickets and a session live for the whole run (it
        started five minutes ago and ends an hour after the run would), rematches allowed at once."""
        now = await self.server_now()
        starts_at = now - timedelta(minutes=5)
        ends_at = now + timedelta(seconds=run_seconds + 3600)
        # Every UTC day the session touches, and one either side: no day boundary can make it not live.
        first, last = starts_at.date() - timedelta(days=1), ends_at.date() + timedelta(days=1)
        days = [str(first + timedelta(days=i)) for i in range((last - first).days + 1)]
        stamp = now.strftime("%Y-%m-%d %H:%M:%S")
        event = await self._post(
            "/api/admin/events", {"name": f"Control bench {stamp}", "timezone": "UTC", "days": days}
        )
        event_id = int(event["id"])
        await self._post(f"/api/admin/events/{event_id}/ticket-types", {"name": "Attendee"})
        secrets: list[str] = []
        for first_index in range(0, attendees, TICKETS_PER_CALL):
            batch = range(first_index, min(attendees, first_index + TICKETS_PER_CALL))
            body = {
                "tickets": [
                    {"name": f"Attendee {i + 1}", "email": f"a{i + 1}@example.org", "ticket_type": "Attendee"}
                    for i in batch
                ]
            }
            created = await self._post(f"/api/admin/events/{event_id}/tickets", body)
            secrets += [str(t["secret"]) for t in created["tickets"]]
        session = await self._post(
            f"/api/admin/events/{event_id}/sessions",
            {
                "title": f"Control bench {stamp}",
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "meeting_seconds": meeting_seconds,
                "allow_rematch": True,
                "rematch_cooldown_seconds": 0,
                "max_extensions": 0,
            },
        )
        if session.get("status") != "live":
            raise BenchError(f"the session is {session.get('status')!r}, not live")
        return LiveSession(int(session["id"]), secrets, starts_at, ends_at)


# --- /metrics -----------------------------------------------------------------------------------------------

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: aiohttp.ClientSession, base_url: str) -> Samples:
    """Every sample on /metrics, keyed by (name, sorted labels); empty if there is no /metrics."""
    try:
        async with http.get(f"{base_url.rstrip('/')}/metrics") as response:
            if response.status != 200:
                return {}
            text = await response.text()
    except (aiohttp.ClientError, OSError, TimeoutError):
        return {}
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return out


def counter_delta(before: Samples, after: Samples, name: str) -> float | None:
    """How much an unlabelled counter or gauge sample grew between two scrapes (None: not exposed)."""
    key = (name, ())
    if key not in after:
        return None
    return after[key] - before.get(key, 0.0)


def histogram_names(samples: Samples, pattern: str) -> list[str]:
    """Histograms (their base names) whose name matches `pattern`."""
    rx = re.compile(pattern)
    return sorted({n[: -len("_bucket")] for n, _ in samples if n.endswith("_bucket") and rx.search(n)})


def histogram_quantile(before: Samples, after: Samples, name: str, q: float) -> tuple[float | None, int]:
    """The `q` quantile (the upper bound of the bucket that holds it) of the observations a histogram
    made between two scrapes, summed over its labels, and how many there were."""
    counts: dict[float, float] = {}
    for (sample, labels), value in after.items():
        if sample != f"{name}_bucket":
            continue
        le = float(dict(labels)["le"])
        counts[le] = counts.get(le, 0.0) + value - before.get((sample, labels), 0.0)
    if not counts:
        return None, 0
    bounds = sorted(counts)
    total = counts[bounds[-1]]
    if total <= 0:
        return None, 0
    for bound in bounds:
        if counts[bound] >= q * total:
            return bound, int(total)
    return bounds[-1], int(total)
