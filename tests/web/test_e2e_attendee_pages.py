"""The attendee's page outside a running session, in real Chromium against the real server: the pages
for a missing or bad ticket, and the matches shown after the session has ended."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.media import VARIANTS, write_astronaut_y4m
from tests.web.browser import (
    LiveServer,
    ShiftableClock,
    Shots,
    chromium,
    live_server,
    new_page,
)
from tests.web.summit import (
    EXTEND_WINDOW,
    PEOPLE,
    summit_event,
)
from web.room.settings import RoomSettings
from web.store import SessionInput

pytestmark = pytest.mark.browser


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
def shots(request: pytest.FixtureRequest) -> Iterator[Shots]:
    yield Shots(request.node.name)


async def test_a_ticket_is_required(server: LiveServer, clips: dict[str, Path], shots: Shots) -> None:
    session, tickets = await summit_event(server, -60, [("Olga Organiser", "Attendee")])
    async with chromium(clips["plain"]) as browser:
        _, page = await new_page(browser)
        await page.goto(f"{server.base_url}/s/{session.id}")
        await expect(page.get_by_role("heading", name="You need a ticket to join")).to_be_visible()
        await expect(page.get_by_text("organisers included")).to_be_visible()
        await shots.take(page, "no-ticket")
        await page.goto(server.join_url(session.id, "not-a-ticket"))
        await expect(page.get_by_role("heading", name="This ticket link is not valid")).to_be_visible()
        await shots.take(page, "bad-ticket")
        await page.goto(server.join_url(session.id + 100, tickets["Olga Organiser"].secret))
        await expect(page.get_by_role("heading", name="This session does not exist")).to_be_visible()
        # None of these pages asked for the camera or opened the signalling socket.
        assert await page.evaluate("window.speedmeet.signalling") is None


async def test_matches_after_the_session(server: LiveServer, clips: dict[str, Path], shots: Shots) -> None:
    """A page opened after the end shows the matches (over HTTP) and can still send a connection request."""
    session, tickets = await summit_event(server, -1800, PEOPLE)
    store = server.store
    ada, alan, grace = (tickets[n] for n in ("Ada Lovelace", "Alan Turing", "Grace Hopper"))
    # The session ran 30 minutes ago and ended 20 minutes later; Ada met Alan, then Grace.
    await store.update_session(
        session.id,
        SessionInput(
            title=session.title,
            starts_at=session.starts_at,
            ends_at=session.starts_at + timedelta(minutes=20),
            meeting_seconds=session.meeting_seconds,
        ),
    )
    for partner, minute in ((alan, 2), (grace, 8)):
        started = session.starts_at + timedelta(minutes=minute)
        meeting = await store.record_meeting_started(session.id, ada.id, partner.id, started, 1.0, 2.0)
        await store.record_meeting_ended(meeting, started + timedelta(minutes=4), 1, "timeout")
    await store.request_connection(alan.id, ada.id, session.starts_at + timedelta(minutes=5))

    async with chromium(clips["plain"]) as browser:
        _, page = await new_page(browser)
        await page.goto(server.join_url(session.id, ada.secret))
        await expect(page.get_by_role("heading", name="The session is over")).to_be_visible()
        over = page.locator("#over-matches")
        await expect(over.get_by_role("listitem")).to_have_count(2)
        await expect(over.get_by_role("listitem").first).to_contain_text("Alan Turing")
        await expect(over.get_by_role("listitem").first).to_contain_text("for 4 min")
        # Alan asked during the meeting: Ada accepts from here; she asks Grace.
        await over.get_by_role("button", name="Accept connection request from Alan Turing").click()
        await expect(over.get_by_role("button", name="Connected with Alan Turing")).to_be_visible()
        await over.get_by_role("button", name="Connect with Grace Hopper").click()
        requested = over.get_by_role("button", name="Connection requested from Grace Hopper")
        await expect(requested).to_be_visible()
        await shots.take(page, "matches-after-the-session")
        # Nothing to film after the end: the page never turned the camera on.
        assert await page.evaluate("window.speedmeet.local.stream.getTracks().length") == 0
    states = {c.other_name: (c.state, c.requested_by_me) for c in await store.connections_for_ticket(ada.id)}
    assert states == {"Alan Turing": ("accepted", False), "Grace Hopper": ("requested", True)}
