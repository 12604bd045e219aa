"""Every route in the table answers junk with a 4xx JSON error, never a 500."""

from __future__ import annotations

import re

from tests.web.api_client import Api, Demo
from web.routes import API_ROUTES

_JUNK_BODIES: list[bytes | None] = [
    None,
    b"null",
    b"[]",
    b'"text"',
    b'{"unexpected": 1}',
    b"\xff\xfe\x00garbage",
    b'{"name": {"nested": [1, 2, 3]}, "days": "soon"}',
]


async def test_junk_never_reaches_a_500(api: Api, demo: Demo) -> None:
    await _every_route_with_junk(api, demo, _ids(demo))


async def test_ids_out_of_any_integer_range_are_not_found(api: Api, demo: Demo) -> None:
    # 2**40 is beyond PostgreSQL's INTEGER columns (not SQLite's); 2**70 beyond any 64-bit integer.
    for big in (2**40, 2**70):
        await _every_route_with_junk(api, demo, dict.fromkeys(_ids(demo), str(big)), bodies=[None, b"{}"])


def _ids(demo: Demo) -> dict[str, str]:
    return {
        "event_id": str(demo.event_id),
        "session_id": str(demo.session_id),
        "ticket_id": str(demo.tid("Cy")),
        "type_id": str(demo.types["Speaker"]),
        "asset_id": "1",
        "meeting_id": "1",
        "report_id": "1",
    }


async def _every_route_with_junk(
    api: Api, demo: Demo, ids: dict[str, str], bodies: list[bytes | None] = _JUNK_BODIES
) -> None:
    # Deletions last: they would take the demo data away from the other routes.
    for route in sorted(API_ROUTES, key=lambda r: r.method == "DELETE"):
        path = re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: ids[m.group(1)], route.path)
        # The admin token, an attendee's ticket, and nothing at all.
        for token, params in (("admin", None), (None, {"t": demo.secret("Ada")}), (None, None)):
            for body in bodies:
                reply = await api.call(
                    route.method,
                    path,
                    token=token,
                    params=params,
                    data=body,
                    headers={"Content-Type": "application/json"} if body is not None else None,
                )
                assert reply.status < 500, (route.method, path, token, body, reply.status, reply.body)
                if reply.status >= 400:
                    assert isinstance(reply.body, dict) and reply.body.get("error"), (route.method, path)
