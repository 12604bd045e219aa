"""The organiser's page in real Chromium: sign in with the admin token, build an event with its ticket
types, tickets and a session through the page, upload backgrounds and pre-session media, and watch the
live view follow an attendee who joins."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from tests.media import astronaut_frame, write_astronaut_y4m
from tests.web.browser import (
    LiveServer,
    Shots,
    chromium,
    live_server,
    new_page,
    unnamed_controls,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_astronaut_y4m(tmp_path_factory.mktemp("clip") / "astronaut.y4m")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path / "data") as srv:
        yield srv


@pytest.fixture
async def browser(clip: Path) -> AsyncIterator[Browser]:
    async with chromium(clip) as b:
        yield b


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Iterator[Shots]:
    yield Shots(request.node.name)


def _png(tmp_path: Path, name: str, size: tuple[int, int] = (640, 480)) -> Path:
    image = Image.fromarray(astronaut_frame(0, 2)).resize(size)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return path


async def _sign_in(page: Page, server: LiveServer) -> None:
    await page.goto(f"{server.base_url}/admin")
    await page.get_by_label("Admin token").fill(server.admin_token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Events")).to_be_visible()


async def test_wrong_token_is_refused(server: LiveServer, browser: Browser, shots: Shots) -> None:
    _, page = await new_page(browser)
    await page.goto(f"{server.base_url}/admin")
    await page.get_by_label("Admin token").fill("not-the-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("That admin token is not valid.")).to_be_visible()
    await expect(page.get_by_role("heading", name="Events")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('speedmeet.adminToken')") is None
    await shots.take(page, "wrong-token")


async def test_admin_builds_an_event_and_a_session(
    server: LiveServer, browser: Browser, shots: Shots, tmp_path: Path
) -> None:
    console: list[str] = []
    _, page = await new_page(browser, width=1280, height=900, console=console)
    await _sign_in(page, server)
    await shots.take(page, "signed-in")
    # The token survives a reload of the tab (sessionStorage), not a new tab.
    await page.reload()
    await expect(page.get_by_role("heading", name="Events")).to_be_visible()

    # An event from yesterday to tomorrow (UTC): a session that starts a minute ago and lasts an hour is on
    # its days at any time of day, midnight included, however long the test takes.
    today = datetime.now(UTC).date()
    days = [today + timedelta(days=d) for d in (-1, 0, 1)]
    # With no events yet, the "New event" form is already open.
    form = page.locator("#event-form")
    await expect(form).to_be_visible()
    await form.get_by_label("Name").fill("Spring Summit")
    await form.get_by_label("Time zone").fill("UTC")
    await form.get_by_label("Days").fill("\n".join(d.isoformat() for d in days))
    await form.get_by_role("button", name="Create event").click()
    await expect(page.get_by_role("heading", name="Spring Summit")).to_be_visible()
    events = await server.store.list_events()
    assert [(e.name, e.timezone, e.days) for e in events] == [("Spring Summit", "UTC", tuple(days))]
    event = events[0]

    # Ticket types.
    await page.get_by_role("tab", name="Ticket types").click()
    for name in ("Attendee", "Sponsor"):
        await expect(page.get_by_label("New ticket type")).to_have_value("")
        await page.get_by_label("New ticket type").fill(name)
        await page.get_by_role("button", name="Add type").click()
        await expect(page.get_by_role("list", name="Ticket types").get_by_text(name)).to_be_visible()
    await shots.take(page, "ticket-types")
    assert sorted(t.name for t in await server.store.list_ticket_types(event.id)) == ["Attendee", "Sponsor"]

    # Tickets: many pasted at once, then one through the form.
    await page.get_by_role("tab", name="Tickets").click()
    await page.get_by_text("Paste many tickets").click()
    await page.get_by_label("One per line").fill(
        "Ada Lovelace, ada@example.org, Attendee, Analyst\n"
        '"Turing, Alan", alan@example.org, Sponsor, "Cryptanalyst, codebreaker"\n'
        "Grace Hopper, grace@example.org, Attendee\n"
    )
    await page.get_by_role("button", name="Add tickets").click()
    await expect(page.get_by_text("3 tickets added.")).to_be_visible()
    await page.get_by_text("Add one ticket").click()
    one = page.locator("#ticket-form")
    await one.get_by_label("Name").fill("Olga Organiser")
    await one.get_by_label("Email").fill("olga@example.org")
    await one.get_by_label("Ticket type").select_option("Attendee")
    await one.get_by_label("Headline").fill("Runs the show")
    await one.get_by_label("Organiser (admin) ticket").check()
    await one.get_by_role("button", name="Add ticket").click()
    await expect(page.get_by_text("1 ticket added.")).to_be_visible()
    tickets = {t.name: t for t in await server.store.list_tickets(event.id)}
    assert sorted(tickets) == ["Ada Lovelace", "Grace Hopper", "Olga Organiser", "Turing, Alan"]
    assert tickets["Turing, Alan"].ticket_type == "Sponsor"
    assert tickets["Turing, Alan"].headline == "Cryptanalyst, codebreaker"
    assert tickets["Olga Organiser"].is_admin
    await shots.take(page, "tickets", full_page=True)

    # A session through the form: short meetings, re-match allowed, a restricted ticket-type matrix.
    await page.get_by_role("tab", name="Sessions").click()
    await page.get_by_role("button", name="New session").click()
    form = page.locator("#session-form")
    await form.get_by_label("Title").fill("Morning networking")
    start = datetime.now(UTC) - timedelta(minutes=1)
    end = start + timedelta(hours=1)
    await form.get_by_label("Starts (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await form.get_by_label("Ends (UTC)").fill(end.strftime("%Y-%m-%dT%H:%M"))
    await form.get_by_label("Meeting length (seconds)").fill("120")
    await form.get_by_label("Re-match cooldown (seconds)").fill("600")
    await form.get_by_label("Extensions per meeting").fill("2")
    await form.get_by_label("Allow matching with an existing match").check()
    await form.get_by_label("Everyone may meet everyone").uncheck()
    # Sponsors meet attendees, attendees meet attendees, sponsors never meet sponsors.
    await form.get_by_label("Attendee may meet Sponsor").check()
    await expect(form.get_by_label("Sponsor may meet Attendee")).to_be_checked()  # the grid is symmetric
    await form.get_by_label("Sponsor may meet Sponsor").uncheck()
    await shots.take(page, "session-form", full_page=True)
    await form.get_by_role("button", name="Create session").click()
    await expect(page.get_by_text('Session "Morning networking" created.')).to_be_visible()
    sessions = await server.store.list_sessions(event.id)
    assert len(sessions) == 1
    session = sessions[0]
    assert session.title == "Morning networking"
    assert (session.meeting_seconds, session.rematch_cooldown_seconds, session.max_extensions) == (
        120,
        600,
        2,
    )
    assert session.allow_rematch
    assert session.allowed_pairs is not None
    assert sorted(tuple(sorted(p)) for p in session.allowed_pairs) == [
        ("Attendee", "Attendee"),
        ("Attendee", "Sponsor"),
    ]
    assert abs(session.starts_at - start.replace(second=0, microsecond=0)) < timedelta(seconds=1)

    # Pre-session media for the session (the new session opens with its media and live view).
    await expect(page.get_by_role("button", name="Upload image or video")).to_be_visible()
    await page.locator("#pre-media-file").set_input_files(str(_png(tmp_path, "welcome.png")))
    await expect(page.get_by_text("Pre-session media uploaded.")).to_be_visible()
    await expect(page.get_by_role("img", name="Pre-session image")).to_be_visible()
    refreshed = await server.store.get_session(session.id)
    assert refreshed is not None and refreshed.pre_session_media is not None
    assert refreshed.pre_session_media.kind == "image"

    # Join links: each ticket's link for the session, with a copy button.
    await page.get_by_role("tab", name="Tickets").click()
    link = page.get_by_role("link", name=f"/s/{session.id}?t={tickets['Ada Lovelace'].secret}")
    await expect(link).to_be_visible()
    assert await link.get_attribute("href") == server.join_url(session.id, tickets["Ada Lovelace"].secret)
    await expect(page.get_by_role("button", name="Copy join link for Ada Lovelace")).to_be_enabled()

    # Background images for everyone.
    await page.get_by_role("tab", name="Backgrounds").click()
    await page.locator("#asset-file").set_input_files(
        [str(_png(tmp_path, "beach.png", (800, 450))), str(_png(tmp_path, "office.png", (800, 450)))]
    )
    await expect(page.get_by_text("2 background images uploaded.")).to_be_visible()
    await expect(page.get_by_role("list", name="Background images").get_by_role("img")).to_have_count(2)
    assert len(await server.store.event_backgrounds(event.id)) == 2
    await shots.take(page, "backgrounds")

    # Every control on the page has an accessible name.
    for tab in ("Sessions", "Tickets", "Ticket types", "Backgrounds", "Event"):
        await page.get_by_role("tab", name=tab).click()
        assert await unnamed_controls(page) == [], tab
    # The tabs are keyboard operable (arrow keys move between them).
    await page.get_by_role("tab", name="Sessions").focus()
    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("tab", name="Tickets")).to_be_focused()
    await expect(page.get_by_role("tab", name="Tickets")).to_have_attribute("aria-selected", "true")

    # The live view of the running session follows an attendee who joins, without a reload.
    await page.get_by_role("tab", name="Sessions").click()
    await page.get_by_role("button", name="Live view of Morning networking").click()
    await expect(page.get_by_role("heading", name="Live")).to_be_visible()
    await expect(page.get_by_text("Nobody has joined yet.")).to_be_visible()
    _, attendee = await new_page(browser)
    await attendee.goto(server.join_url(session.id, tickets["Ada Lovelace"].secret))
    await expect(attendee.get_by_role("button", name="I'm Ready")).to_be_enabled(timeout=15_000)
    await attendee.get_by_role("button", name="I'm Ready").click()
    waiting = page.locator('[data-stat="waiting"]')
    await expect(waiting).to_have_text("1", timeout=10_000)
    await expect(page.locator('[data-stat="connected"]')).to_have_text("1")
    await shots.take(page, "live-view", full_page=True)
    await attendee.get_by_role("button", name="I'm not ready any more").click()
    await expect(waiting).to_have_text("0", timeout=10_000)

    # Phone width: the page stays usable.
    await page.set_viewport_size({"width": 390, "height": 844})
    await shots.take(page, "phone-width", full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"page scrolls sideways at phone width ({width}px)"
    assert [c for c in console if "pageerror" in c] == []
    # The page keeps to its Content-Security-Policy: the browser refused nothing.
    assert [c for c in console if "Content Security Policy" in c] == []
