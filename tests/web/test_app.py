"""The application as a whole: restart on the same data dir, pages, health, metrics, the media-plane hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.api_client import Api, StartServer, image_bytes, make_demo, stop
from web.app import create_app
from web.config import Config
from web.pages import STATIC_DIR


async def test_everything_survives_a_restart(
    start_server: StartServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first = await start_server()
    announced = capsys.readouterr().out
    assert first.admin_token in announced and "/admin" in announced
    demo = await make_demo(first)
    bg = await first.ok(
        "POST", f"/api/admin/events/{demo.event_id}/assets", data=image_bytes("PNG", (20, 10)), status=201
    )
    await first.ok(
        "PUT", f"/api/admin/sessions/{demo.session_id}/pre-session-media", data=image_bytes("JPEG")
    )
    event_before = await first.ok("GET", f"/api/admin/events/{demo.event_id}")
    tickets_before = await first.ok("GET", f"/api/admin/events/{demo.event_id}/tickets")
    image_before = (await first.get(bg["url"], token=None)).raw
    await stop(first)

    second = await start_server(first.data_dir)
    # No new token on the second start: the first one still works.
    assert "New admin token" not in capsys.readouterr().out
    assert second.admin_token == first.admin_token
    assert await second.ok("GET", f"/api/admin/events/{demo.event_id}") == event_before
    assert await second.ok("GET", f"/api/admin/events/{demo.event_id}/tickets") == {
        "tickets": [
            {
                **t,
                "join_links": [
                    {**j, "url": j["url"].replace(first.url, second.url)} for j in t["join_links"]
                ],
            }
            for t in tickets_before["tickets"]
        ]
    }
    info = await second.ok(
        "GET", f"/api/sessions/{demo.session_id}", token=None, params={"t": demo.secret("Ada")}
    )
    assert info["pre_session_media"] is not None
    assert (await second.get(bg["url"], token=None)).raw == image_before


async def test_leftover_upload_files_are_swept_on_start(start_server: StartServer, tmp_path: Path) -> None:
    first = await start_server()
    demo = await make_demo(first)
    kept = await first.ok(
        "POST",
        "/api/me/backgrounds",
        token=None,
        params={"t": demo.secret("Ada")},
        data=image_bytes(),
        status=201,
    )
    await stop(first)
    media = first.data_dir / "media"
    (media / "half-written.part").write_bytes(b"x")
    (media / ("B" * 22 + ".png")).write_bytes(b"orphan")
    second = await start_server(first.data_dir)
    assert sorted(p.name for p in media.iterdir()) == [kept["url"].rsplit("/", 1)[1]]
    assert (await second.get(kept["url"], token=None)).status == 200


def _static_bytes(relative: str) -> bytes | None:
    path = STATIC_DIR / relative
    return path.read_bytes() if path.is_file() else None


def _some_static_file() -> str | None:
    files = sorted(p for p in STATIC_DIR.rglob("*") if p.is_file()) if STATIC_DIR.is_dir() else []
    return files[0].relative_to(STATIC_DIR).as_posix() if files else None


@pytest.mark.parametrize(("path", "page"), [("/", "index"), ("/admin", "admin"), ("/s/12", "attendee")])
async def test_pages_are_served(api: Api, path: str, page: str) -> None:
    reply = await api.get(path, token=None, params={"t": "whatever"} if page == "attendee" else None)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert b"<html" in reply.raw.lower()
    installed = _static_bytes(f"{page}.html")
    if installed is not None:
        assert reply.raw == installed


async def test_static_files_and_unknown_paths(api: Api) -> None:
    some = _some_static_file()
    if some is not None:
        reply = await api.get("/static/" + some, token=None)
        assert reply.status == 200 and reply.raw == _static_bytes(some)
    missing = await api.get("/static/../pyproject.toml", token=None)
    assert missing.status in (403, 404)
    unknown = await api.get("/no/such/page", token=None)
    assert unknown.status == 404 and unknown.body == {"error": "Not Found"}
    wrong_method = await api.call("DELETE", "/healthz", token=None)
    assert (
        wrong_method.status == 405 and "error" in wrong_method.body and "GET" in wrong_method.headers["Allow"]
    )


async def test_health_and_metrics(api: Api) -> None:
    assert await api.ok("GET", "/healthz", token=None) == {"status": "ok"}
    await api.get("/api/admin/events")
    metrics = await api.get("/metrics", token=None)
    assert metrics.status == 200
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert b"# TYPE" in metrics.raw


def test_the_app_serves_the_signalling_socket_and_its_media_plane_runs_in_process(tmp_path: Path) -> None:
    app = create_app(Config(data_dir=tmp_path, port=0, preload_effects=False))
    paths = {r.canonical for r in app.router.resources()}
    assert "/api/sessions/{session_id}/ws" in paths
    assert "/metrics" in paths and "/api/openapi.json" in paths


def test_the_control_plane_imports_no_aiortc_but_through_the_media_plane_it_starts() -> None:
    """Of the control plane, only the module that starts the in-process media plane imports aiortc (the
    rooms, the signalling and the API see the media plane through `sfu.interface` alone)."""
    import ast

    root = Path(__file__).resolve().parents[2] / "web"
    importers = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "aiortc" or n in ("sfu.media_plane", "sfu.peer") for n in names):
                importers.add(path.relative_to(root).as_posix())
    assert importers == {"rooms.py"}
