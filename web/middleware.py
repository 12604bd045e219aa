"""Middlewares: every error becomes JSON, every response gets safe headers, requests are counted, a
request timeout closes its connection."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError

from web import errors
from web.store import Conflict, InvalidData, NotAllowed, NotFound, StoreError

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STORE_ERRORS: dict[type[StoreError], type[errors.ApiError]] = {
    NotFound: errors.NotFound,
    Conflict: errors.Conflict,
    InvalidData: errors.Unprocessable,
    NotAllowed: errors.Forbidden,
}


def error_json(
    status: int, message: str, details: object = None, headers: dict[str, str] | None = None
) -> web.Response:
    body: dict[str, object] = {"error": message}
    if details is not None:
        body["details"] = details
    return web.json_response(body, status=status, headers=headers)


def validation_details(exc: ValidationError) -> list[dict[str, object]]:
    """Pydantic's errors without the echoed input (it may be large or secret)."""
    return [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def _from_store(exc: StoreError) -> errors.ApiError:
    for kind, api in _STORE_ERRORS.items():
        if isinstance(exc, kind):
            return api(str(exc))
    return errors.ApiError(str(exc))


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.ApiError as exc:
        return error_json(exc.status, exc.message, exc.details, exc.headers)
    except StoreError as exc:
        api = _from_store(exc)
        return error_json(api.status, api.message)
    except ValidationError as exc:
        return error_json(422, "invalid request", validation_details(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like pass through
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 413:
            message = "request body too large"
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")}
        return error_json(exc.status, message, headers=headers)
    except web.RequestPayloadError:
        # The client sent a malformed or truncated body.
        return error_json(400, "malformed request body")
    except Exception:
        # A bug of ours: log it with the traceback, answer without details.
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return error_json(500, "internal server error")


@web.middleware
async def close_after_timeout(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A 408 ends the connection as soon as it is sent: aiohttp would otherwise go on reading the rest of
    a body that came too slowly, for its lingering time, before it closes. The outermost middleware: the
    response is complete when it gets it."""
    response = await handler(request)
    if response.status == 408 and not response.prepared and request.transport is not None:
        response.force_close()
        await response.prepare(request)
        await response.write_eof()
        request.transport.close()
    return response


# The HTML pages: scripts, styles, images, media and connections (fetch, WebSocket) from this server only,
# nothing inline, never framed. The pages keep to it: no inline script, style or event attribute.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Everything else (JSON, files): nothing to run, never framed. Handlers may set their own (uploaded media).
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


class RequestMetrics:
    """Per-app Prometheus counters for HTTP requests (the registry lives on the app, not in a global)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "speedmeet_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "speedmeet_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
        )

    @property
    def middleware(self) -> Middleware:
        @web.middleware
        async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            start = time.perf_counter()
            route = request.match_info.route.resource
            name = route.canonical if route is not None else "unmatched"
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                self.requests.labels(request.method, name, str(status)).inc()
                self.latency.labels(request.method, name).observe(time.perf_counter() - start)

        return metrics_middleware
