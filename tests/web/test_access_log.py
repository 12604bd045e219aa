"""Access log lines leave out the query string, where ticket secrets travel."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from web.access_log import AccessLogger


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_query_strings_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = web.Application()
    app.router.add_get("/s/{id}", _ok)
    logger = logging.getLogger("speedmeet.access.test")
    server = TestServer(app, host="127.0.0.1", port=0)
    with caplog.at_level(logging.INFO, logger="speedmeet.access.test"):
        await server.start_server(access_log_class=AccessLogger, access_log=logger)
        try:
            async with aiohttp.ClientSession() as http, http.get(server.make_url("/s/7?t=TOPSECRET")) as r:
                assert r.status == 200
        finally:
            # The line is written once the response is finished; closing waits for that.
            await server.close()
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "speedmeet.access.test"]
    assert len(lines) == 1
    assert '"GET /s/7" 200' in lines[0]
    assert "TOPSECRET" not in lines[0]
