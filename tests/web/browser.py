"""End-to-end browser harness: Debian's Chromium driven by Playwright, fake cameras fed from a y4m clip of
a real person, screenshots of each step under ``artifacts/e2e/<test>/``.

Test modules use it through small fixtures of their own (see ``tests/web/test_e2e_*.py``)::

    async with chromium(clip) as browser:
        page = await new_attendee_page(browser)
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright, expect

from web.app import create_app
from web.config import Config
from web.keys import ROOM_SETTINGS_KEY, STORE_KEY
from web.room.settings import RoomSettings
from web.store import Store

CHROMIUM = Path("/usr/bin/chromium")

# Machines running these tests are often busy (video in three browsers and the server on two cores):
# assertions wait longer than Playwright's default 5 s before they fail.
expect.set_options(timeout=15_000)
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"


def require_chromium() -> Path:
    """The Chromium binary, or skip the test naming what is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium: `make browser`)")
    return CHROMIUM


def chromium_args(clip: Path) -> list[str]:
    """Flags for a headless Chromium with a fake camera/microphone that needs no permission prompt."""
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        # The matched chime and the partner's audio may play without a click in a fresh tab.
        "--autoplay-policy=no-user-gesture-required",
    ]


@asynccontextmanager
async def playwright_driver() -> AsyncIterator[Playwright]:
    """Playwright's driver process; stopped (with every browser it launched) on exit."""
    require_chromium()
    async with async_playwright() as playwright:
        yield playwright


async def launch_chromium(playwright: Playwright, clip: Path) -> Browser:
    """A headless Chromium whose fake camera plays `clip` (one per distinct camera: the flag is global)."""
    return await playwright.chromium.launch(
        executable_path=str(require_chromium()), headless=True, args=chromium_args(clip)
    )


@asynccontextmanager
async def chromium(clip: Path) -> AsyncIterator[Browser]:
    """One Chromium with its own driver; closed on exit."""
    async with playwright_driver() as playwright:
        browser = await launch_chromium(playwright, clip)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(
    browser: Browser, *, width: int = 1100, height: int = 800, console: list[str] | None = None
) -> tuple[BrowserContext, Page]:
    """A page in its own context (own storage, own camera), collecting console errors into `console`."""
    context = await browser.new_context(
        viewport={"width": width, "height": height}, permissions=["camera", "microphone"]
    )
    page = await context.new_page()
    if console is not None:
        name = f"page{len(browser.contexts)}"
        page.on(
            "console",
            lambda msg: (
                console.append(f"{name} {msg.type}: {msg.text}") if msg.type in ("error", "warning") else None
            ),
        )
        page.on("pageerror", lambda exc: console.append(f"{name} pageerror: {exc}"))
    return context, page


class ShiftableClock:
    """Wall clock for the rooms that a test can move forward (to end a session without waiting)."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


@dataclass
class LiveServer:
    app: web.Application
    base_url: str
    admin_token: str

    @property
    def store(self) -> Store:
        return self.app[STORE_KEY]

    def join_url(self, session_id: int, secret: str) -> str:
        return f"{self.base_url}/s/{session_id}?t={secret}"


@asynccontextmanager
async def live_server(data_dir: Path, settings: RoomSettings | None = None) -> AsyncIterator[LiveServer]:
    """The real application on 127.0.0.1 (a free port) with a fresh data dir; its admin token is read from
    the token file the server writes on first start."""
    token_file = data_dir / "admin-token"
    config = Config(host="127.0.0.1", port=0, data_dir=data_dir, admin_token_file=token_file)
    app = create_app(config)
    if settings is not None:
        app[ROOM_SETTINGS_KEY] = settings
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        token = token_file.read_text().strip()
        yield LiveServer(app=app, base_url=f"http://127.0.0.1:{port}", admin_token=token)
    finally:
        await runner.cleanup()


class Shots:
    """Numbered screenshots of each step of one test, in ``artifacts/e2e/<test name>/``."""

    def __init__(self, test_name: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        self.dir = ARTIFACTS / safe
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.started = time.monotonic()

    async def take(self, page: Page, step: str, *, full_page: bool = False) -> Path:
        """Save a screenshot; `timings.txt` beside it says when each step was reached (slow machines)."""
        self.count += 1
        path = self.dir / f"{self.count:02d}-{re.sub(r'[^A-Za-z0-9_-]+', '-', step)}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        with (self.dir / "timings.txt").open("a") as log:
            log.write(f"{time.monotonic() - self.started:7.1f} s  {path.name}\n")
        return path


# ---- reading video out of a page ----------------------------------------------------------------

VIDEO_STATS_JS = """(selector) => {
  const v = document.querySelector(selector);
  if (!v) return null;
  const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
  return {
    width: v.videoWidth, height: v.videoHeight, paused: v.paused, readyState: v.readyState,
    currentTime: v.currentTime, frames: q ? q.totalVideoFrames : 0, dropped: q ? q.droppedVideoFrames : 0,
  };
}"""

CAPTURE_FRAME_JS = """(selector) => {
  const v = document.querySelector(selector);
  if (!v || !v.videoWidth) return null;
  const c = document.createElement('canvas');
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  c.getContext('2d').drawImage(v, 0, 0);
  return c.toDataURL('image/png');
}"""


async def video_stats(page: Page, selector: str) -> dict[str, Any] | None:
    stats: dict[str, Any] | None = await page.evaluate(VIDEO_STATS_JS, selector)
    return stats


FRAMES_GROW_JS = """([selector, n]) => {
  const v = document.querySelector(selector);
  if (!v) return false;
  const frames = v.getVideoPlaybackQuality().totalVideoFrames;
  const seen = (window.__framesSeen ??= {});
  // A new stream on the element (a renegotiation) starts counting again: so does this check.
  if (!seen[selector] || frames < seen[selector].last) seen[selector] = { base: frames, last: frames };
  seen[selector].last = frames;
  return v.videoWidth > 0 && frames - seen[selector].base >= n;
}"""


async def wait_for_video_frames(
    page: Page, selector: str, *, count: int = 3, timeout_ms: float = 30_000
) -> None:
    """Wait until the video element has decoded `count` more frames, with a real size."""
    await page.evaluate("(sel) => { if (window.__framesSeen) delete window.__framesSeen[sel]; }", selector)
    await page.wait_for_function(FRAMES_GROW_JS, arg=[selector, count], timeout=timeout_ms)


async def capture_frame(page: Page, selector: str, *, wait_s: float = 10.0) -> np.ndarray:
    """The current frame of a video element as an RGB array (drawn through a canvas in the page).

    Waits up to `wait_s` seconds for a frame: after a renegotiation the element briefly has none."""
    deadline = time.monotonic() + wait_s
    while True:
        data_url = await page.evaluate(CAPTURE_FRAME_JS, selector)
        if data_url:
            raw = base64.b64decode(data_url.split(",", 1)[1])
            return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))
        assert time.monotonic() < deadline, f"{selector} has no frame to capture"
        await asyncio.sleep(0.2)


UNNAMED_CONTROLS_JS = r"""() => {
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const text = (el) => (el ? el.textContent.trim() : "");
  const named = (el) => {
    if ((el.getAttribute("aria-label") || "").trim()) return true;
    const by = el.getAttribute("aria-labelledby");
    if (by && by.split(/\s+/).some((id) => text(document.getElementById(id)))) return true;
    if (el.labels && Array.from(el.labels).some((label) => text(label))) return true;
    if (["BUTTON", "A"].includes(el.tagName) || el.getAttribute("role")) return text(el).length > 0;
    return Boolean(el.title);
  };
  const selector = "button, a[href], input:not([type=hidden]), select, textarea, " +
    "[role=button], [role=tab], [role=menuitem]";
  return Array.from(document.querySelectorAll(selector))
    .filter(visible)
    .filter((el) => !named(el))
    .map((el) => el.outerHTML.slice(0, 160));
}"""


async def unnamed_controls(page: Page) -> list[str]:
    """Visible controls without an accessible name (should be none)."""
    found: list[str] = await page.evaluate(UNNAMED_CONTROLS_JS)
    return found
