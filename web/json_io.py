"""Reading request bodies into pydantic models and writing pydantic models as responses."""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from web.body import BodyStream
from web.errors import BadRequest, NotFound, Unprocessable
from web.middleware import validation_details

M = TypeVar("M", bound=BaseModel)

MAX_JSON_BYTES = 2 * 1024 * 1024
# Larger ids cannot exist: the id columns are SQL INTEGER, 32-bit on PostgreSQL (which refuses to even
# compare a larger number with one).
MAX_ID = 2**31


async def read_json(request: web.Request, model: type[M]) -> M:
    """The body as `model`: 400 if it is not JSON, 422 (with details) if it does not fit the schema."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_JSON_BYTES, actual_size=request.content_length)
    body = BodyStream.of(
        request,
        MAX_JSON_BYTES,
        lambda: web.HTTPRequestEntityTooLarge(max_size=MAX_JSON_BYTES, actual_size=body.received),
    )
    buf = bytearray()
    while chunk := await body.read():
        buf += chunk
    raw = bytes(buf)
    if not raw.strip():
        raise BadRequest("request body is empty: send a JSON object")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise Unprocessable("request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable("invalid request", validation_details(exc)) from exc


def respond(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        text=model.model_dump_json(), status=status, content_type="application/json", charset="utf-8"
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def path_id(request: web.Request, name: str) -> int:
    """An integer id from the path (routes only match digits); absurdly large ones cannot exist."""
    value = int(request.match_info[name])
    if value >= MAX_ID:
        raise NotFound(f"{name.replace('_', ' ')} {value} not found")
    return value


def respond_json(data: object, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data), status=status, content_type="application/json", charset="utf-8"
    )
