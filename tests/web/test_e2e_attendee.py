"""The attendee's page in real Chromium against the real server (HTTP API, signalling, media plane).

Each attendee runs in a Chromium of their own whose fake camera plays a different variant of the
astronaut clip (plain, mirrored, red/blue swapped), so a test can tell whose video a page receives.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, Playwright, expect

from tests.media import VARIANTS, astronaut_frame, closest_variant, write_astronaut_y4m
from tests.web.browser import (
    LiveServer,
    ShiftableClock,
    Shots,
    capture_frame,
    launch_chromium,
    live_server,
    new_page,
    playwright_driver,
    unnamed_controls,
    wait_for_video_frames,
)
from tests.web.summit import (
    EXTEND_WINDOW,
    GREEN,
    MEETING_SECONDS,
    PARTNER,
    PEOPLE,
    VARIANT_OF,
    Attendee,
    expect_colour_background,
    expect_partner_video,
    sharpness,
    summit_event,
)
from web.room.settings import RoomSettings

pytestmark = pytest.mark.browser

# Counts the oscillators the page starts (the matched chime) without touching the page's code.
CHIME_PROBE = """
(() => {
  window.__chimes = 0;
  const original = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function (...args) {
    window.__chimes += 1;
    return original.apply(this, args);
  };
})();
"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {v: write_astronaut_y4m(folder / f"{v}.y4m", variant=v) for v in VARIANTS}


@pytest.fixture
def clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture
async def server(tmp_path: Path, clock: ShiftableClock) -> AsyncIterator[LiveServer]:
    settings = RoomSettings(extend_window_seconds=EXTEND_WINDOW, clock=clock)
    async with live_server(tmp_path / "data", settings) as srv:
        yield srv


@pytest.fixture
async def driver() -> AsyncIterator[Playwright]:
    async with playwright_driver() as pw:
        yield pw


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Iterator[Shots]:
    yield Shots(request.node.name)


async def _meeting_ends_at(page: Page) -> float:
    value = await page.evaluate("window.speedmeet.meeting && window.speedmeet.meeting.ends_at")
    assert isinstance(value, float | int)
    return float(value)


async def _expect_timer_shows_deadline(page: Page) -> None:
    """The timer shows the time left to the server's deadline (machines may be slow: some slack)."""
    shown, left = await page.evaluate(
        """() => [document.querySelector('#meeting-timer').textContent,
                  window.speedmeet.meeting.ends_at - (Date.now() / 1000 + window.speedmeet.offset)]"""
    )
    minutes, seconds = shown.split(":")
    assert abs(int(minutes) * 60 + int(seconds) - left) <= 2.5, (shown, left)


async def _timer_seconds(page: Page) -> int:
    text = (await page.locator("#meeting-timer").inner_text()).strip()
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


@pytest.mark.timeout(480)  # a whole session with three browsers; generous for a busy machine
async def test_speed_networking_in_the_browser(
    server: LiveServer,
    clips: dict[str, Path],
    driver: Playwright,
    clock: ShiftableClock,
    shots: Shots,
    tmp_path: Path,
) -> None:
    console: list[str] = []
    people: dict[str, Attendee] = {}
    browsers: dict[str, tuple[Browser, Page]] = {}
    for name, (width, height) in (
        ("Ada Lovelace", (1100, 800)),
        ("Alan Turing", (1100, 800)),
        ("Grace Hopper", (390, 844)),  # on a phone
    ):
        browser = await launch_chromium(driver, clips[VARIANT_OF[name]])
        context, page = await new_page(browser, width=width, height=height, console=console)
        await context.add_init_script(CHIME_PROBE)
        browsers[name] = (browser, page)
    # The session starts a few seconds from now: long enough to see the page before the start, even on a
    # busy machine.
    session, tickets = await summit_event(server, 15, PEOPLE)
    # A pre-session image, as the organiser would upload it.
    image = Image.fromarray(astronaut_frame(0, 2)).resize((320, 240))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    await _upload(server, f"/api/admin/sessions/{session.id}/pre-session-media", "PUT", buf.getvalue())
    await _upload(server, f"/api/admin/events/{session.event_id}/assets", "POST", buf.getvalue())
    own_png = tmp_path / "mine.png"
    Image.fromarray(np.full((240, 320, 3), (200, 120, 40), dtype=np.uint8)).save(own_png)

    for name, (browser, page) in browsers.items():
        people[name] = Attendee(name, VARIANT_OF[name], tickets[name], browser, page)
    ada, alan, grace = people["Ada Lovelace"], people["Alan Turing"], people["Grace Hopper"]

    # Before the start: title, pre-session image and a countdown; then the page switches by itself.
    for a in (ada, alan):
        await a.page.goto(server.join_url(session.id, a.ticket.secret))
    await expect(ada.page.get_by_role("heading", name="Morning networking")).to_be_visible()
    await expect(ada.page.get_by_role("img", name="Picture for Morning networking")).to_be_visible()
    await expect(ada.page.get_by_role("timer")).to_have_text(re.compile(r"^0:[01]\d$"))
    await shots.take(ada.page, "upcoming")
    for a in (ada, alan):
        await expect(a.button("I'm Ready")).to_be_enabled(timeout=20_000)
    await shots.take(ada.page, "ready-screen")
    assert await unnamed_controls(ada.page) == []

    # Both press I'm Ready and are matched: chime, flash, partner card, partner's video.
    await ada.button("I'm Ready").click()
    await expect(ada.page.get_by_role("heading", name="Finding your next match")).to_be_visible()
    await expect(ada.page.locator("#waiting-counts")).to_contain_text("waiting")
    await shots.take(ada.page, "waiting")
    await alan.button("I'm Ready").click()
    for me, partner in ((ada, alan), (alan, ada)):
        await expect(me.page.get_by_role("heading", name=partner.name)).to_be_visible(timeout=15_000)
        await expect(me.page.locator("#partner-headline")).to_have_text(
            f"{partner.name.split()[0]}'s headline"
        )
        # Screen readers hear it too.
        await expect(me.page.locator("#announcer")).to_contain_text(f"You're matched with {partner.name}")
        assert await me.page.evaluate("window.__chimes") >= 2  # two notes
        assert "matched-flash" in (await me.page.locator("#stage").get_attribute("class") or "")
    await expect(ada.page.locator("#partner-type")).to_have_text("Sponsor")
    await expect(alan.page.locator("#partner-type")).to_have_text("Attendee")
    await expect_partner_video(ada, alan)
    await expect_partner_video(alan, ada)
    await shots.take(ada.page, "matched-ada")
    await shots.take(alan.page, "matched-alan")
    assert await unnamed_controls(ada.page) == []

    # The timer counts down, and both pages agree on the deadline.
    first = await _timer_seconds(ada.page)
    await expect(ada.page.locator("#meeting-timer")).not_to_have_text(
        f"{first // 60}:{first % 60:02d}", timeout=10_000
    )
    second = await _timer_seconds(ada.page)
    assert second < first, (first, second)
    for a in (ada, alan):
        await _expect_timer_shows_deadline(a.page)
    assert 0 < second <= MEETING_SECONDS
    assert abs(await _meeting_ends_at(ada.page) - await _meeting_ends_at(alan.page)) < 0.01
    # Same machine, same clock: each page's correction to the server's clock is small.
    for a in (ada, alan):
        assert abs(await a.page.evaluate("window.speedmeet.offset")) < 1.0

    # The organiser edits the session mid-meeting: the pages show the new title, and the tab still names
    # the partner.
    for title in ("Morning networking, edited", session.title):
        await _patch_session(server, session.id, {"title": title})
        for a, partner in ((ada, alan), (alan, ada)):
            await expect(a.page.locator("#session-title")).to_have_text(title)
            await expect(a.page).to_have_title(f"Meeting {partner.name} · speedmeet")

    # Extend: Ada offers, Alan sees Accept, accepts; the deadline moves by half the meeting length.
    before = await _meeting_ends_at(ada.page)
    await ada.button("Extend", exact=False).click()
    await expect(ada.page.get_by_text("Extension requested")).to_be_visible()
    accept = alan.page.get_by_role("button", name="Accept: Ada Lovelace wants to extend")
    await expect(accept).to_be_visible()
    await expect(alan.button("Decline extending the meeting")).to_be_visible()
    await shots.take(alan.page, "extend-offered")
    timer_before = await _timer_seconds(alan.page)
    await accept.click()
    for a in (ada, alan):
        await a.page.wait_for_function(
            "(t) => window.speedmeet.meeting && window.speedmeet.meeting.ends_at > t", arg=before + 1
        )
        assert await _meeting_ends_at(a.page) == pytest.approx(before + MEETING_SECONDS / 2, abs=0.01)
        # No extensions left: the button is gone for good.
        await expect(a.page.locator("#btn-extend")).to_be_hidden()
    # The timers jumped: they show the time left to the new deadline, more than there was before.
    for a in (ada, alan):
        await _expect_timer_shows_deadline(a.page)
    assert await _timer_seconds(alan.page) > timer_before

    # Connect: "Requested" for the sender, "Accept" for the other, "Connected" for both after.
    await ada.button("Connect with Alan Turing").click()
    await expect(ada.button("Connection requested from Alan Turing")).to_be_disabled()
    await expect(ada.button("Connection requested from Alan Turing")).to_have_text("Requested")
    accept_connection = alan.button("Accept connection request from Ada Lovelace")
    await expect(accept_connection).to_have_text("Accept")
    await shots.take(alan.page, "connect-requested")
    await accept_connection.click()
    await expect(alan.button("Connected with Ada Lovelace")).to_have_text("Connected")
    await expect(ada.button("Connected with Alan Turing")).to_have_text("Connected")

    # Meanwhile the organiser's live view shows the meeting in progress with its time left.
    _, admin = await new_page(grace.browser, width=1280, height=900, console=console)
    await admin.goto(f"{server.base_url}/admin")
    await admin.get_by_label("Admin token").fill(server.admin_token)
    await admin.get_by_role("button", name="Sign in").click()
    await admin.get_by_role("button", name="Live view of Morning networking").click()
    row = (
        admin.get_by_role("table", name="Meetings in progress")
        .get_by_role("row")
        .filter(has_text="Ada Lovelace & Alan Turing")
    )
    await expect(row).to_contain_text(re.compile(r"\d:\d\d"), timeout=10_000)
    await expect(row).to_contain_text("1")  # extensions so far
    await expect(admin.locator('[data-stat="meetings_running"]')).to_have_text("1")
    await expect(admin.locator('[data-stat="connections_accepted"]')).to_have_text("1")
    await shots.take(admin, "admin-live-meeting", full_page=True)
    await admin.context.close()

    # Blur chosen by Alan shows up blurred in Ada's view of him (pixels of a captured frame).
    sharp = await sharpness(ada.page, alan.variant)
    await alan.button("Background settings").click()
    await expect(alan.page.get_by_role("heading", name="Background")).to_be_visible()
    await alan.page.get_by_role("group", name="Background options").get_by_role("button", name="Blur").click()
    await expect(
        alan.page.get_by_role("group", name="Background options").get_by_role("button", name="Blur")
    ).to_have_attribute("aria-pressed", "true")
    await shots.take(alan.page, "background-panel")
    await alan.page.keyboard.press("Escape")
    await expect(alan.page.get_by_role("heading", name="Background")).to_be_hidden()
    blurred = sharp
    for _ in range(30):
        await asyncio.sleep(0.5)
        blurred = await sharpness(ada.page, alan.variant, samples=1)
        if blurred < 0.35 * sharp:
            break
    blurred = await sharpness(ada.page, alan.variant)
    await shots.take(ada.page, "partner-blurred")
    assert blurred < 0.35 * sharp, f"background detail {sharp:.0f} -> {blurred:.0f}: not blurred"
    assert closest_variant(await capture_frame(ada.page, PARTNER)) == alan.variant

    # A reload resumes the meeting from the server's state.
    ends_at = await _meeting_ends_at(alan.page)
    await alan.page.reload()
    await expect(alan.page.get_by_role("heading", name="Ada Lovelace")).to_be_visible(timeout=15_000)
    assert await _meeting_ends_at(alan.page) == pytest.approx(ends_at, abs=0.01)
    await expect(alan.button("Connected with Ada Lovelace")).to_be_visible()
    await expect_partner_video(alan, ada)

    # Leave (the phone icon) ends only the meeting: both are back at the ready screen.
    await ada.button("Leave meeting").click()
    for a in (ada, alan):
        await expect(a.button("I'm Ready")).to_be_visible(timeout=10_000)
    await expect(ada.page.locator("#last-meeting")).to_have_text("You left the meeting with Alan Turing.")
    await expect(alan.page.locator("#last-meeting")).to_have_text("Ada Lovelace left the meeting.")
    await shots.take(alan.page, "after-leave")

    # A third attendee (on a phone, using the keyboard) meets one of them; Ada and Alan just met, and the
    # cooldown keeps them apart, so Grace meets Ada.
    await grace.page.goto(server.join_url(session.id, grace.ticket.secret))
    await expect(grace.button("I'm Ready")).to_be_enabled(timeout=15_000)
    await shots.take(grace.page, "phone-ready")

    # Before her first meeting Grace picks a colour background; the panel previews her video as the
    # server processes it (her own video comes back with the colour behind her).
    await grace.button("Background settings").click()
    options = grace.page.get_by_role("group", name="Background options")
    # The organiser's image is offered; her own upload is added and chosen.
    await expect(options.get_by_role("button", name="Background image: Image 1")).to_be_visible()
    await grace.page.get_by_label("Upload my own image").set_input_files(str(own_png))
    mine = options.get_by_role("button", name="Background image: My image 1")
    await expect(mine).to_have_attribute("aria-pressed", "true", timeout=30_000)
    await grace.page.get_by_label("Background colour").fill("#20c040")
    await expect(options.get_by_role("button", name="Colour")).to_have_attribute("aria-pressed", "true")
    await wait_for_video_frames(grace.page, "#background-preview")
    await expect_colour_background(grace.page, "#background-preview", GREEN)
    await shots.take(grace.page, "phone-background-preview")
    await grace.page.keyboard.press("Escape")
    await expect(options).to_be_hidden()
    for _ in range(30):
        await grace.page.keyboard.press("Tab")
        if await grace.page.evaluate("document.activeElement && document.activeElement.id") == "btn-ready":
            break
    await grace.page.keyboard.press("Enter")
    await expect(grace.page.get_by_role("heading", name="Finding your next match")).to_be_visible()
    await ada.button("I'm Ready").click()
    await expect(grace.page.get_by_role("heading", name="Ada Lovelace")).to_be_visible(timeout=15_000)
    await expect(ada.page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    await expect_partner_video(grace, ada)
    await wait_for_video_frames(ada.page, PARTNER)
    await expect_colour_background(ada.page, PARTNER, GREEN)  # Ada sees Grace in front of green
    await shots.take(grace.page, "phone-meeting")
    width = await grace.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 391, f"the meeting scrolls sideways at phone width ({width}px)"
    assert await unnamed_controls(grace.page) == []

    # Grace offers to extend, Ada declines: the offer disappears on both sides.
    await grace.button("Extend", exact=False).click()
    await ada.button("Decline extending the meeting").click()
    for a in (ada, grace):
        await expect(a.page.locator("#btn-extend")).to_be_hidden()
        await expect(a.page.locator("#btn-extend-accept")).to_be_hidden()
    await expect(grace.page.locator("#toast")).to_have_text("Ada Lovelace declined the extension")

    # Microphone and camera toggles.
    await grace.button("Mute microphone").click()
    await expect(grace.button("Unmute microphone")).to_have_attribute("aria-pressed", "true")
    assert await grace.page.evaluate("window.speedmeet.local.audioTrack.enabled") is False
    await grace.button("Unmute microphone").click()
    assert await grace.page.evaluate("window.speedmeet.local.audioTrack.enabled") is True

    # Block asks first (cancelled here: the meeting goes on).
    await ada.button("More options").click()
    await ada.page.get_by_role("menuitem", name="Block Grace Hopper").click()
    block = ada.page.get_by_role("dialog", name="Block Grace Hopper?")
    await expect(block).to_contain_text("never be matched with them again")
    await block.get_by_role("button", name="Cancel").click()
    await expect(block).to_be_hidden()
    await expect(ada.page.get_by_role("heading", name="Grace Hopper")).to_be_visible()

    # Block and report live in the "More options" menu; Grace reports Ada (the meeting goes on).
    await grace.button("More options").click()
    await grace.page.get_by_role("menuitem", name="Report Ada Lovelace").click()
    report = grace.page.get_by_role("dialog", name="Report Ada Lovelace to the organisers")
    await report.get_by_label("What happened?").fill("Test report: kept talking about rockets")
    await report.get_by_role("button", name="Send report").click()
    await expect(grace.page.locator("#toast")).to_contain_text("Your report was sent to the organisers")
    for _ in range(50):  # the room writes its history rows in the background
        if (await server.store.session_summary(session.id)).reports == 1:
            break
        await asyncio.sleep(0.1)
    assert (await server.store.session_summary(session.id)).reports == 1

    # Devices: camera, microphone (and speaker where the browser can) behind the settings icon.
    await ada.button("Camera, microphone and speaker settings").click()
    devices = ada.page.get_by_role("complementary", name="Devices")
    for device in ("Camera", "Microphone"):
        await expect(devices.get_by_role("combobox", name=device, exact=True)).to_have_value(re.compile(".+"))
    await shots.take(ada.page, "devices")
    await ada.page.keyboard.press("Escape")
    await expect(devices).to_be_hidden()

    # "Leave this Session" also ends only the meeting.
    await grace.button("Leave this Session").click()
    for a in (ada, grace):
        await expect(a.button("I'm Ready")).to_be_visible(timeout=10_000)

    # The session ends (the rooms' clock jumps past its end): everyone sees whom they met.
    clock.shift = session.ends_at.timestamp() - clock() + 1
    for a in (ada, alan, grace):
        await expect(a.page.get_by_role("heading", name="The session is over")).to_be_visible(timeout=10_000)
    over = ada.page.locator("#over-matches")
    await expect(over.get_by_text("Alan Turing")).to_be_visible()
    await expect(over.get_by_text("Grace Hopper")).to_be_visible()
    await expect(over.get_by_role("button", name="Connected with Alan Turing")).to_be_visible()
    await expect(alan.page.locator("#over-matches").get_by_text("Ada Lovelace")).to_be_visible()
    await expect(grace.page.locator("#over-matches").get_by_text("Ada Lovelace")).to_be_visible()
    await shots.take(ada.page, "session-over")

    # Connect from the matches list, after the meeting.
    await over.get_by_role("button", name="Connect with Grace Hopper").click()
    await expect(over.get_by_role("button", name="Connection requested from Grace Hopper")).to_be_visible()
    grace_over = grace.page.locator("#over-matches")
    await grace_over.get_by_role("button", name="Accept connection request from Ada Lovelace").click()
    await expect(grace_over.get_by_role("button", name="Connected with Ada Lovelace")).to_be_visible()
    await expect(over.get_by_role("button", name="Connected with Grace Hopper")).to_be_visible()

    # View Matches brings the list back.
    await ada.button("View Matches").click()
    dialog = ada.page.get_by_role("dialog", name="Your matches")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("listitem")).to_have_count(2)
    await shots.take(ada.page, "view-matches")
    await ada.page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    for a in people.values():
        await a.browser.close()
    errors = [c for c in console if "pageerror" in c]
    assert errors == []
    # The pages keep to their Content-Security-Policy: the browser refused nothing.
    assert [c for c in console if "Content Security Policy" in c] == []


async def _patch_session(server: LiveServer, session_id: int, body: dict[str, object]) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.patch(
            f"{server.base_url}/api/admin/sessions/{session_id}",
            json=body,
            headers={"Authorization": f"Bearer {server.admin_token}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def _upload(server: LiveServer, path: str, method: str, png: bytes) -> None:
    """An organiser's upload through the admin API (a raw PNG body)."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method,
            f"{server.base_url}{path}",
            data=png,
            headers={"Authorization": f"Bearer {server.admin_token}", "Content-Type": "image/png"},
        ) as response,
    ):
        assert response.status in (200, 201), await response.text()
