"""The client side of the control-plane benchmark: N attendees on signalling WebSockets only (no media,
no offers), driven from one process. Attendee i opens its socket at `i * ramp / N` seconds (a join storm),
presses Ready on `welcome`, and again whenever its meeting ends (meetings that started together end
together: ready storms).

Measured on the client: socket open -> `welcome`, and `ready` sent -> `matched` received. Messages are
plain JSON, so the client works with any server that speaks protocol version 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

CONNECT_SECONDS = 30.0  # one socket's open + upgrade, at most
CLOSE_SECONDS = 20.0  # closing every socket at the end, at most
READY = json.dumps({"type": "ready"})


def message_type(text: str) -> str:
    """The `type` of a server message; cheap when `type` is the first field, as the server writes it."""
    if text.startswith('{"type":"'):
        end = text.find('"', 9)
        if end > 0:
            return text[9:end]
    try:
        value = json.loads(text)
    except ValueError:
        return "(not json)"
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else "(no type)"


@dataclass
class ClientResult:
    attendees: int
    welcome_seconds: list[float] = field(default_factory=list)  # socket open -> welcome, one per attendee
    matched_seconds: list[float] = field(default_factory=list)  # ready sent -> matched, every time
    unanswered_seconds: list[float] = field(default_factory=list)  # readies still waiting at the end
    readies: int = 0
    meetings_ended: int = 0
    messages: Counter[str] = field(default_factory=Counter)  # received, by type
    errors: Counter[str] = field(default_factory=Counter)  # `error` codes received
    connect_failures: Counter[str] = field(default_factory=Counter)
    closed_early: int = 0  # sockets the server closed before the end
    attendee_seconds: float = 0.0  # sum over attendees of the time from welcome to the end


@dataclass
class _Attendee:
    secret: str
    ws: aiohttp.ClientWebSocketResponse | None = None
    welcomed_at: float | None = None
    ready_at: float | None = None  # a `ready` not yet answered by `matched`
    closed_at: float | None = None


class ControlLoad:
    """Drive the attendees of one live session until `run()`'s deadline, then close every socket."""

    def __init__(self, base_url: str, session_id: int, secrets: list[str]) -> None:
        ws_base = base_url.rstrip("/").replace("http://", "ws://", 1)
        self._url = f"{ws_base}/api/sessions/{session_id}/ws"
        self._attendees = [_Attendee(s) for s in secrets]
        self.result = ClientResult(attendees=len(secrets))
        self._stopping = False

    @property
    def connected(self) -> int:
        return sum(1 for a in self._attendees if a.welcomed_at is not None and a.closed_at is None)

    async def run(self, ramp_seconds: float, run_seconds: float) -> ClientResult:
        """Join over `ramp_seconds`, run until `run_seconds` after the first join, close everything."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        count = len(self._attendees)
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_SECONDS)
        # No connection limit: every socket holds its connection for the whole run.
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            tasks = [
                asyncio.create_task(
                    self._attendee(http, a, started + ramp_seconds * i / max(count, 1)),
                    name=f"bench-attendee-{i}",
                )
                for i, a in enumerate(self._attendees)
            ]
            try:
                await asyncio.sleep(max(0.0, started + run_seconds - loop.time()))
            finally:
                await self._stop(tasks)
        return self.result

    async def _stop(self, tasks: list[asyncio.Task[None]]) -> None:
        end = time.monotonic()
        self._stopping = True
        for a in self._attendees:
            if a.ready_at is not None and a.closed_at is None:
                self.result.unanswered_seconds.append(end - a.ready_at)
            if a.welcomed_at is not None:
                self.result.attendee_seconds += (a.closed_at or end) - a.welcomed_at
        sockets = [a.ws for a in self._attendees if a.ws is not None and not a.ws.closed]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_SECONDS):
                await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _attendee(self, http: aiohttp.ClientSession, a: _Attendee, at: float) -> None:
        await asyncio.sleep(max(0.0, at - asyncio.get_running_loop().time()))
        result = self.result
        opened = time.monotonic()
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                a.ws = await http.ws_connect(
                    f"{self._url}?t={a.secret}", max_msg_size=0, autoping=True, autoclose=True
                )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            result.connect_failures[type(exc).__name__] += 1
            return
        ws = a.ws
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            now = time.monotonic()
            kind = message_type(msg.data)
            result.messages[kind] += 1
            if kind == "welcome":
                if a.welcomed_at is None:
                    a.welcomed_at = now
                    result.welcome_seconds.append(now - opened)
                    await self._ready(ws, a)
            elif kind == "matched":
                if a.ready_at is not None:
                    result.matched_seconds.append(now - a.ready_at)
                    a.ready_at = None
            elif kind == "meeting_ended":
                result.meetings_ended += 1
                await self._ready(ws, a)
            elif kind == "error":
                with contextlib.suppress(ValueError, AttributeError):
                    result.errors[str(json.loads(msg.data).get("code"))] += 1
        if not self._stopping:
            a.closed_at = time.monotonic()
            result.closed_early += 1

    async def _ready(self, ws: aiohttp.ClientWebSocketResponse, a: _Attendee) -> None:
        if self._stopping:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            a.ready_at = time.monotonic()
            self.result.readies += 1
            await ws.send_str(READY)
