"""One API route: what the router needs and what the OpenAPI document says about it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # aiohttp syntax; `{id:\d+}` patterns become `{id}` in OpenAPI
    handler: Handler
    summary: str
    tag: str
    auth: Literal["admin", "ticket"] | None = None
    body: type[BaseModel] | None = None
    upload: tuple[str, ...] = ()  # media kinds an upload route accepts
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    query: dict[str, str] = field(default_factory=dict)  # extra query parameters: name -> description
    # Rules a JSON schema cannot state (across fields, against stored data): refused with 422, and listed
    # in the document's 422 response of the route (also as `x-rules`).
    rules: tuple[str, ...] = ()
    produces: str | None = None  # a download's media type (text/csv, ...) instead of a JSON `response`

    @property
    def name(self) -> str:
        """Unique route name, also the OpenAPI operationId."""
        return f"{self.tag}_{self.handler.__name__}"

    @property
    def openapi_path(self) -> str:
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)
