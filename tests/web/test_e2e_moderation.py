"""Moderation on the organiser's page in real Chromium: remove an attendee of a running meeting from the
session, see who is removed, and record what was done about a report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, expect

from loadtest.synthetic_peer import SyntheticPeer
from tests.media import write_astronaut_y4m
from tests.web.browser import LiveServer, chromium, live_server, new_page
from web.store import EventInput, SessionInput, TicketInput
from wire import protocol as p

pytestmark = pytest.mark.browser


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path / "data") as srv:
        yield srv


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with chromium(write_astronaut_y4m(tmp_path / "astronaut.y4m")) as b:
        yield b


async def test_organiser_removes_an_attendee_and_handles_a_report(
    server: LiveServer, browser: Browser
) -> None:
    store = server.store
    now = datetime.now(UTC)
    # Days around today (UTC): the session that started a minute ago is on them at any time of day.
    days = tuple(now.date() + timedelta(days=d) for d in (-1, 0, 1))
    event = await store.create_event(EventInput("Summit", "UTC", days))
    await store.create_ticket_type(event.id, "Attendee")
    ada, bob = await store.create_tickets(
        event.id,
        [
            TicketInput("Ada", "ada@example.org", "Attendee"),
            TicketInput("Bob", "bob@example.org", "Attendee"),
        ],
    )
    session = await store.create_session(
        event.id, SessionInput("Mixer", now - timedelta(minutes=1), now + timedelta(hours=1), 300)
    )
    await store.record_report(session.id, ada.id, bob.id, "kept talking over me", now)
    a = SyntheticPeer(server.base_url, session.id, ada.secret, ice_servers=[])
    b = SyntheticPeer(server.base_url, session.id, bob.secret, ice_servers=[])
    try:
        await a.connect(negotiate=False)
        await b.connect(negotiate=False)
        await a.ready()
        await b.ready()
        await a.wait_for("matched")

        console: list[str] = []
        _, page = await new_page(browser, width=1280, height=900, console=console)
        await page.goto(f"{server.base_url}/admin")
        await page.get_by_label("Admin token").fill(server.admin_token)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("tab", name="Sessions").click()
        await page.get_by_role("button", name="Live view of Mixer").click()

        # The report: who, whom, why; the organiser records an action.
        reports = page.get_by_role("table", name="Reports")
        await expect(reports.get_by_text("kept talking over me")).to_be_visible(timeout=10_000)
        await reports.get_by_label("Action on Ada's report of Bob").select_option("warned")
        await expect(page.get_by_text("Action saved.")).to_be_visible()
        (report,) = await store.moderation.reports(session.id)
        assert report.action == "warned"

        # Remove Bob from the running meeting, confirming the dialog.
        async def accept(dialog: Dialog) -> None:
            await dialog.accept()

        page.on("dialog", accept)
        await page.get_by_role("button", name="Remove Bob from the session").click(timeout=10_000)
        await asyncio.wait_for(b.ws_closed.wait(), 10)
        assert b.close_code == p.CloseCode.REMOVED_FROM_SESSION
        removed = page.locator("#removals-list")
        await expect(removed.get_by_text("Bob")).to_be_visible()
        assert await store.moderation.removed_ticket_ids(session.id) == {bob.id}
        # And let back in.
        await removed.get_by_role("button", name="Let back in").click()
        await expect(page.get_by_text("Nobody is removed from this session.")).to_be_visible()
        assert await store.moderation.removed_ticket_ids(session.id) == set()
        assert [c for c in console if "pageerror" in c or "Content Security Policy" in c] == []
    finally:
        await a.close()
        await b.close()
