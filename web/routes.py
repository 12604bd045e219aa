"""The route table: one list drives both the aiohttp router and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    pass
