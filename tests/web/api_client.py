"""A real speedmeet server on 127.0.0.1:0 with a temporary data dir, and a small JSON client for it.

The fixtures are re-exported by tests/web/conftest.py."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from web.app import create_app
from web.config import Config
from web.keys import CLOCK_KEY, STORE_KEY
from web.store import Store

# The servers' clock, fixed (no test depends on the date or time it runs at): a month before the demo event.
NOW = datetime(2030, 4, 1, 12, 0, tzinfo=UTC)
EVENT = {"name": "Demo Day", "timezone": "Europe/Berlin", "days": ["2030-05-01", "2030-05-02"]}
SESSION = {
    "title": "Morning networking",
    "starts_at": "2030-05-01T09:00:00",
    "ends_at": "2030-05-01T10:00:00",
    "meeting_seconds": 180,
}


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any
    raw: bytes = b""


@dataclass
class Api:
    """JSON over HTTP to a running server; sends the admin token unless told otherwise."""

    url: str
    admin_token: str
    http: aiohttp.ClientSession
    server: TestServer
    data_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def app(self) -> web.Application:
        return self.server.app

    @property
    def store(self) -> Store:
        return self.app[STORE_KEY]

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        token: str | None = "admin",
        data: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        h = dict(headers or {})
        if token == "admin":
            h["Authorization"] = f"Bearer {self.admin_token}"
        elif token is not None:
            h["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": h, "params": params}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        async with self.http.request(method, self.url + path, **kwargs) as r:
            raw = await r.read()
            body: Any = None
            if r.content_type == "application/json" and raw:
                body = await r.json()
            return Reply(r.status, body, r.headers, raw)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.call("POST", path, json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.call("PATCH", path, json, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.call("DELETE", path, **kw)

    async def ok(self, method: str, path: str, json: Any = None, status: int = 200, **kw: Any) -> Any:
        reply = await self.call(method, path, json, **kw)
        assert reply.status == status, (method, path, reply.status, reply.body)
        return reply.body


def make_config(data_dir: Path, **overrides: Any) -> Config:
    overrides.setdefault("preload_effects", False)  # the API tests never run an effect
    return Config(
        host="127.0.0.1", port=0, data_dir=data_dir, admin_token_file=data_dir / "admin-token", **overrides
    )


StartServer = Callable[..., Awaitable[Api]]


@pytest.fixture(params=["sqlite", "postgresql"])
async def start_server(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[StartServer]:
    """Start servers (on the same data dir and database unless given others), whose clock stands at `now`;
    all are stopped after the test. Every test that uses it runs twice: on the embedded SQLite default,
    and on a fresh PostgreSQL database (one per test, shared by the test's restarts)."""
    running: list[tuple[TestServer, aiohttp.ClientSession]] = []
    database_url = ""  # the data dir's SQLite file
    if request.param == "postgresql":
        database_url = await request.getfixturevalue("postgres_server").database()

    async def start(data_dir: Path | None = None, now: datetime = NOW, **overrides: Any) -> Api:
        d = data_dir or tmp_path / "data"
        overrides.setdefault("database_url", database_url)
        app = create_app(make_config(d, **overrides))
        app[CLOCK_KEY] = lambda: now
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        http = aiohttp.ClientSession()
        running.append((server, http))
        token = (d / "admin-token").read_text().strip()
        return Api(str(server.make_url("")).rstrip("/"), token, http, server, d)

    yield start
    for server, http in reversed(running):
        await http.close()
        await server.close()


async def stop(api: Api) -> None:
    await api.http.close()
    await api.server.close()


@pytest.fixture
async def api(start_server: StartServer) -> Api:
    return await start_server()


@dataclass
class Demo:
    """An event with two days, three ticket types, a session and four tickets."""

    event_id: int
    session_id: int
    types: dict[str, int]
    tickets: dict[str, dict[str, Any]]  # by holder name

    def secret(self, name: str) -> str:
        return str(self.tickets[name]["secret"])

    def tid(self, name: str) -> int:
        return int(self.tickets[name]["id"])


async def make_demo(api: Api, session: dict[str, Any] | None = None) -> Demo:
    event = await api.ok("POST", "/api/admin/events", EVENT, status=201)
    eid = event["id"]
    types = {}
    for name in ("Attendee", "Sponsor", "Speaker"):
        t = await api.ok("POST", f"/api/admin/events/{eid}/ticket-types", {"name": name}, status=201)
        types[name] = t["id"]
    sess = await api.ok("POST", f"/api/admin/events/{eid}/sessions", session or SESSION, status=201)
    tickets = await api.ok(
        "POST",
        f"/api/admin/events/{eid}/tickets",
        {
            "tickets": [
                {
                    "name": "Ada",
                    "email": "ada@example.org",
                    "ticket_type": "Attendee",
                    "headline": "Engineer",
                },
                {"name": "Bob", "email": "bob@example.org", "ticket_type": "Sponsor", "company": "ACME"},
                {"name": "Cy", "email": "cy@example.org", "ticket_type": "Speaker"},
                {"name": "Org", "email": "org@example.org", "ticket_type": "Attendee", "is_admin": True},
            ]
        },
        status=201,
    )
    return Demo(eid, sess["id"], types, {t["name"]: t for t in tickets["tickets"]})


@pytest.fixture
async def demo(api: Api) -> Demo:
    return await make_demo(api)


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (32, 24), mode: str = "RGB", **save: Any) -> bytes:
    img = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()
