"""Interests, private notes and downloads on the attendee's page, in real Chromium against the real server.

Two attendees pick interests (one on the page, one pre-filled by the organiser), see the interests they
share on each other's card, connect, and after the meeting one writes a note and a rating (the other goes
straight back to I'm Ready), finds it in View Matches, edits it, and downloads the accepted connection as
a vCard.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright, expect

from tests.media import VARIANTS, write_astronaut_y4m
from tests.web.browser import (
    LiveServer,
    Shots,
    launch_chromium,
    live_server,
    new_page,
    playwright_driver,
    unnamed_controls,
)
from web.store import EventInput, SessionInput, TicketInput

pytestmark = pytest.mark.browser

TAGS = ["AI", "Climate", "Health", "Design", "Fintech"]
NOTE = "Pilot in June: send her the deck"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {v: write_astronaut_y4m(folder / f"{v}.y4m", variant=v) for v in VARIANTS}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path / "data") as srv:
        yield srv


@pytest.fixture
async def driver() -> AsyncIterator[Playwright]:
    async with playwright_driver() as pw:
        yield pw


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Iterator[Shots]:
    yield Shots(request.node.name)


async def _event(server: LiveServer) -> tuple[int, dict[str, TicketInput], dict[str, str], dict[str, int]]:
    store = server.store
    now = datetime.now(UTC)
    event = await store.create_event(
        EventInput("Spring Summit", "UTC", tuple((now + timedelta(days=d)).date() for d in (-1, 0, 1)))
    )
    await store.interests.set_event_tags(event.id, TAGS)
    await store.create_ticket_type(event.id, "Attendee")
    people = {
        "Ada Lovelace": TicketInput("Ada Lovelace", "ada@example.org", "Attendee", headline="Analyst"),
        # The organiser pre-filled Alan's interests in the import.
        "Alan Turing": TicketInput(
            "Alan Turing",
            "alan@example.org",
            "Attendee",
            company="Bletchley",
            interests=("Climate", "Design"),
        ),
    }
    created = await store.create_tickets(event.id, list(people.values()))
    session = await store.create_session(
        event.id,
        SessionInput("Morning networking", now - timedelta(minutes=1), now + timedelta(minutes=50), 600),
    )
    return session.id, people, {t.name: t.secret for t in created}, {t.name: t.id for t in created}


async def _pick(page: Page, tags: list[str]) -> None:
    await page.get_by_role("button", name="Pick your interests").click()
    dialog = page.get_by_role("dialog", name="Your interests")
    await expect(dialog).to_be_visible()
    for tag in tags:
        chip = dialog.get_by_role("button", name=tag, exact=True)
        await chip.click()
        await expect(chip).to_have_attribute("aria-pressed", "true")
    await expect(dialog.get_by_role("status")).to_have_text("Saved.")
    await dialog.get_by_role("button", name="Close interests").click()


@pytest.mark.timeout(300)
async def test_interests_notes_and_downloads_in_the_browser(
    server: LiveServer, clips: dict[str, Path], driver: Playwright, shots: Shots, tmp_path: Path
) -> None:
    session_id, _, secrets, ids = await _event(server)
    store = server.store
    console: list[str] = []
    pages: dict[str, Page] = {}
    for name, clip in (("Ada Lovelace", "plain"), ("Alan Turing", "mirror")):
        browser = await launch_chromium(driver, clips[clip])
        _, page = await new_page(browser, console=console)
        await page.goto(server.join_url(session_id, secrets[name]))
        pages[name] = page
    ada, alan = pages["Ada Lovelace"], pages["Alan Turing"]
    for page in (ada, alan):
        await expect(page.get_by_role("button", name="I'm Ready")).to_be_enabled(timeout=20_000)

    # Ada picks her interests on the page; Alan's were pre-filled.
    await expect(alan.locator("#interests-summary")).to_contain_text("Your interests: Climate · Design")
    await _pick(ada, ["AI", "Climate", "Health"])
    await expect(ada.locator("#interests-summary")).to_contain_text("Your interests: AI · Climate · Health")
    await shots.take(ada, "interests-picked")
    assert await store.interests.ticket_interests(ids["Ada Lovelace"]) == ["AI", "Climate", "Health"]
    assert await unnamed_controls(ada) == []

    # Matched: each partner card shows the interest they share.
    for page in (ada, alan):
        await page.get_by_role("button", name="I'm Ready").click()
    for page, partner in ((ada, "Alan Turing"), (alan, "Ada Lovelace")):
        await expect(page.get_by_role("heading", name=partner)).to_be_visible(timeout=20_000)
        await expect(page.locator("#partner-shared")).to_have_text("You both: Climate")
    await shots.take(ada, "partner-card-shared-interests")
    # They connect, so that each may download the other's contact details afterwards.
    await ada.get_by_role("button", name="Connect with Alan Turing").click()
    await alan.get_by_role("button", name="Accept connection request from Ada Lovelace").click()
    await expect(ada.get_by_role("button", name="Connected with Alan Turing")).to_be_visible()

    # Ada leaves; both are back on the ready screen with the optional note form.
    await ada.get_by_role("button", name="Leave meeting").click()
    for page, partner in ((ada, "Alan Turing"), (alan, "Ada Lovelace")):
        form = page.locator("#after-meeting")
        await expect(form).to_be_visible()
        await expect(form.get_by_role("heading")).to_have_text(f"Your notes on {partner}")
        await expect(page.get_by_role("button", name="I'm Ready")).to_be_enabled()
    await shots.take(ada, "after-meeting-form")

    # Alan goes straight back to I'm Ready: the form holds nothing up and saves nothing.
    await alan.get_by_role("button", name="I'm Ready").click()
    await expect(alan.get_by_role("heading", name="Finding your next match")).to_be_visible()
    await alan.get_by_role("button", name="I'm not ready any more").click()

    # Ada writes her note and rating.
    form = ada.locator("#after-meeting")
    await form.get_by_label("4 stars").check()
    await form.get_by_role("group", name="Would you meet again?").get_by_label("Yes").check()
    await form.get_by_label("Private note (only you see it)").fill(NOTE)
    await form.get_by_role("button", name="Save note").click()
    await expect(form).to_be_hidden()
    await expect(ada.locator("#toast")).to_contain_text("Saved your note on Alan Turing")
    notes = await store.notes.notes_of(ids["Ada Lovelace"])
    assert [(n.note, n.rating, n.would_meet_again) for n in notes.values()] == [(NOTE, 4, True)]
    assert await store.notes.notes_of(ids["Alan Turing"]) == {}

    # View Matches shows it, and edits it.
    await ada.get_by_role("button", name="View Matches").click()
    matches = ada.get_by_role("dialog", name="Your matches")
    item = matches.get_by_role("listitem").filter(has_text="Alan Turing")
    await expect(item.get_by_label("Rated 4 of 5")).to_be_visible()
    await expect(item).to_contain_text("Would meet again")
    await expect(item).to_contain_text(NOTE)
    await expect(item).to_contain_text("You both: Climate")
    await item.get_by_role("button", name="Edit note on Alan Turing").click()
    await item.get_by_label("5 stars").check()
    await item.get_by_role("button", name="Save note").click()
    await expect(item.get_by_label("Rated 5 of 5")).to_be_visible()
    await shots.take(ada, "view-matches-with-note")
    [edited] = (await store.notes.notes_of(ids["Ada Lovelace"])).values()
    assert (edited.note, edited.rating, edited.would_meet_again) == (NOTE, 5, True)

    # The accepted connection, as a vCard.
    async with ada.expect_download() as info:
        await matches.get_by_role("link", name="Download contacts (vCard)").click()
    download = await info.value
    saved = tmp_path / "contacts.vcf"
    await download.save_as(saved)
    card = saved.read_text()
    assert "FN:Alan Turing" in card and "EMAIL:alan@example.org" in card and "ORG:Bletchley" in card
    assert NOTE not in card

    # Alan never sees Ada's note.
    await alan.get_by_role("button", name="View Matches").click()
    alan_matches = alan.get_by_role("dialog", name="Your matches")
    await expect(alan_matches.get_by_role("listitem")).to_contain_text("Ada Lovelace")
    await expect(alan_matches.get_by_role("button", name="Add note on Ada Lovelace")).to_be_visible()
    assert NOTE not in await alan.content()
    await shots.take(alan, "partner-view-matches")
    assert not [line for line in console if "pageerror" in line], console


async def test_organiser_edits_tags_and_sees_ratings_and_exports(
    server: LiveServer, clips: dict[str, Path], driver: Playwright, shots: Shots, tmp_path: Path
) -> None:
    session_id, _, _, ids = await _event(server)
    store = server.store
    ada, alan = ids["Ada Lovelace"], ids["Alan Turing"]
    started = datetime.now(UTC) - timedelta(seconds=30)
    meeting = await store.record_meeting_started(session_id, ada, alan, started, 1.0, 2.0)
    await store.record_meeting_ended(meeting, started + timedelta(seconds=20), 0, "left")
    await store.notes.save_note(meeting, ada, NOTE, 4, True, started)
    await store.notes.save_note(meeting, alan, None, 3, False, started)
    console: list[str] = []
    browser = await launch_chromium(driver, clips["plain"])
    _, page = await new_page(browser, width=1280, height=900, console=console)
    await page.goto(f"{server.base_url}/admin")
    await page.get_by_label("Admin token").fill(server.admin_token)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("button", name="Spring Summit").click()

    # The event's interest tags: shown, edited, saved.
    await page.get_by_role("tab", name="Interests").click()
    tags = page.get_by_label("Interest tags, each on its own line")
    await expect(tags).to_have_value("\n".join(TAGS))
    await tags.fill("AI\nClimate\nSpace")
    await expect(page.locator("#interest-count")).to_have_text("3 of at most 50")
    await page.get_by_role("button", name="Save interest tags").click()
    await expect(page.locator("#interests-status")).to_have_text("Saved 3 interest tags.")
    event_id = (await store.get_session(session_id)).event_id  # type: ignore[union-attr]
    assert await store.interests.event_tags(event_id) == ["AI", "Climate", "Space"]
    # Alan's "Design" went with the tag; his "Climate" stayed.
    assert await store.interests.ticket_interests(alan) == ["Climate"]
    await tags.fill("\n".join(f"tag {i}" for i in range(51)))
    await page.get_by_role("button", name="Save interest tags").click()
    await expect(page.locator("#interests-status")).to_contain_text("Not saved")
    assert await store.interests.event_tags(event_id) == ["AI", "Climate", "Space"]
    assert await unnamed_controls(page) == []
    await shots.take(page, "interest-tags")

    # Pasted tickets may come with interests (after the headline, separated by |).
    await page.get_by_role("tab", name="Tickets").click()
    await page.get_by_text("Paste many tickets").click()
    await page.get_by_label("One per line").fill(
        "Cy Young, cy@example.org, Attendee, Pitcher, space|AI\n"
        "Dee Dee, dee@example.org, Attendee, Singer, Climate\n"
    )
    await page.get_by_role("button", name="Add tickets").click()
    await expect(page.get_by_text("2 tickets added.")).to_be_visible()
    pasted = {t.name: t for t in await store.list_tickets(event_id)}
    assert pasted["Cy Young"].headline == "Pitcher" and pasted["Dee Dee"].headline == "Singer"
    assert await store.interests.interests_of([pasted["Cy Young"].id, pasted["Dee Dee"].id]) == {
        pasted["Cy Young"].id: ["AI", "Space"],
        pasted["Dee Dee"].id: ["Climate"],
    }

    # The session: switch off interest weighting; the ratings show as aggregates; the CSV downloads.
    await page.get_by_role("tab", name="Sessions").click()
    await page.get_by_role("button", name="Edit Morning networking").click()
    weighting = page.get_by_label("Prefer partners who share interests")
    await expect(weighting).to_be_checked()
    await weighting.uncheck()
    await page.get_by_role("button", name="Save session").click()
    await expect(page.get_by_text('Session "Morning networking" saved.')).to_be_visible()
    assert (await store.get_session(session_id)).interest_weighting is False  # type: ignore[union-attr]
    await page.get_by_role("button", name="Live view of Morning networking").click()
    await expect(page.locator('[data-stat="ratings"]')).to_have_text("2")
    await expect(page.locator('[data-stat="average_rating"]')).to_have_text("3.5")
    await expect(page.locator('[data-stat="would_meet_again_share"]')).to_have_text("50 %")
    assert NOTE not in await page.content()
    await shots.take(page, "ratings", full_page=True)
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download meetings (CSV)").click()
    download = await info.value
    saved = tmp_path / "meetings.csv"
    await download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"), newline="")))
    assert [(r["a_name"], r["b_name"], r["end_reason"], r["connection"]) for r in rows] == [
        ("Ada Lovelace", "Alan Turing", "left", "none")
    ]
    assert download.suggested_filename.endswith("meetings.csv")
    assert not [line for line in console if "pageerror" in line], console
