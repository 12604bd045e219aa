"""Errors become JSON with the right status; a real bug is logged and answered with a bare 500."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, ValidationError

from web import errors
from web.middleware import error_middleware, security_headers
from web.store import Conflict, InvalidData, NotAllowed, NotFound

Client = TestClient[web.Request, web.Application]


class _Model(BaseModel):
    n: int


async def _bug(request: web.Request) -> web.Response:
    raise RuntimeError("secret internal detail")


async def _api_error(request: web.Request) -> web.Response:
    raise errors.PayloadTooLarge("too big", headers={"X-Extra": "1"})


async def _store_error(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    raise {"nf": NotFound, "cf": Conflict, "inv": InvalidData, "na": NotAllowed}[kind]("store says no")


async def _validation(request: web.Request) -> web.Response:
    try:
        _Model.model_validate({"n": "x"})
    except ValidationError:
        raise
    return web.Response()


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/elsewhere")


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    app = web.Application(middlewares=[security_headers, error_middleware])
    app.router.add_get("/bug", _bug)
    app.router.add_get("/api-error", _api_error)
    app.router.add_get("/store/{kind}", _store_error)
    app.router.add_get("/validation", _validation)
    app.router.add_get("/redirect", _redirect)
    c = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await c.start_server()
    yield c
    await c.close()


async def test_a_bug_is_logged_and_answered_without_details(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="web.middleware"):
        r = await client.get("/bug")
        assert r.status == 500
        body = await r.json()
    assert body == {"error": "internal server error"}
    assert "secret internal detail" not in str(body)
    assert any("GET /bug" in rec.getMessage() and rec.exc_info for rec in caplog.records)


async def test_errors_map_to_statuses(client: Client) -> None:
    r = await client.get("/api-error")
    assert r.status == 413 and (await r.json()) == {"error": "too big"} and r.headers["X-Extra"] == "1"
    for kind, status in (("nf", 404), ("cf", 409), ("inv", 422), ("na", 403)):
        r = await client.get(f"/store/{kind}")
        assert r.status == status and (await r.json()) == {"error": "store says no"}
    r = await client.get("/validation")
    body = await r.json()
    assert r.status == 422 and body["details"][0]["loc"] == ["n"]
    r = await client.get("/redirect", allow_redirects=False)
    assert r.status == 302
    r = await client.get("/nothing")
    assert r.status == 404 and r.content_type == "application/json"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
