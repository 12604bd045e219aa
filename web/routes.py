"""The route table: one list drives both the aiohttp router and the OpenAPI document."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from web import admin_api, attendee_api, export_api, interests_api, moderation_api
from web.api_route import Route
from web.json_io import respond_json
from web.openapi import build_openapi
from web.pages import add_page_routes

API_ROUTES: list[Route] = [
    *admin_api.ROUTES,
    *attendee_api.ROUTES,
    *interests_api.ROUTES,
    *export_api.ROUTES,
    *moderation_api.ROUTES,
]


def _version() -> str:
    try:
        return version("speedmeet")
    except PackageNotFoundError:
        return "0.0.0"


def add_routes(app: web.Application) -> None:
    add_page_routes(app)
    for r in API_ROUTES:
        app.router.add_route(r.method, r.path, r.handler, name=r.name)
    document = build_openapi(API_ROUTES, title="speedmeet API", version=_version())

    async def openapi(request: web.Request) -> web.Response:
        return respond_json(document)

    app.router.add_get("/api/openapi.json", openapi, name="openapi")
