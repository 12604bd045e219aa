"""The Spring Summit the attendee browser tests run: its people, their cameras, and checks on the video
one attendee's page receives from another.

Each attendee runs in a Chromium of their own whose fake camera plays a different variant of the
astronaut clip (plain, mirrored, red/blue swapped), so a test can tell whose video a page receives.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from PIL import Image
from playwright.async_api import Browser, Locator, Page

from tests.media import closest_variant, laplacian_variance
from tests.web.browser import (
    LiveServer,
    capture_frame,
    video_stats,
    wait_for_video_frames,
)
from web.store import EventInput, SessionInput, TicketInput
from web.store.records import SessionRecord, TicketRecord

# Long enough for every step of the first meeting on a busy machine (the test never waits for the end).
MEETING_SECONDS = 240
# "Extend" normally appears at 0:30; a wide window lets the test offer it a few seconds into the meeting.
EXTEND_WINDOW = MEETING_SECONDS - 4.0
PARTNER = "#partner-video"
PEOPLE = [("Ada Lovelace", "Attendee"), ("Alan Turing", "Sponsor"), ("Grace Hopper", "Attendee")]
# Each attendee's fake camera shows a different variant of the clip.
VARIANT_OF = {"Ada Lovelace": "plain", "Alan Turing": "mirror", "Grace Hopper": "swap"}


@dataclass
class Attendee:
    name: str
    variant: str
    ticket: TicketRecord
    browser: Browser
    page: Page

    def button(self, name: str, exact: bool = False) -> Locator:
        return self.page.get_by_role("button", name=name, exact=exact)


async def summit_event(
    server: LiveServer, starts_in: float, people: list[tuple[str, str]]
) -> tuple[SessionRecord, dict[str, TicketRecord]]:
    store = server.store
    now = datetime.now(UTC)
    event = await store.create_event(
        EventInput(
            name="Spring Summit",
            timezone="UTC",
            days=tuple((now + timedelta(days=d)).date() for d in (-1, 0, 1)),
        )
    )
    await store.create_ticket_type(event.id, "Attendee")
    await store.create_ticket_type(event.id, "Sponsor")
    tickets = await store.create_tickets(
        event.id,
        [
            TicketInput(
                name=name,
                email=f"{name.split()[0].lower()}@example.org",
                ticket_type=kind,
                headline=f"{name.split()[0]}'s headline",
            )
            for name, kind in people
        ],
    )
    start = now + timedelta(seconds=starts_in)
    session = await store.create_session(
        event.id,
        SessionInput(
            title="Morning networking",
            starts_at=start,
            ends_at=start + timedelta(minutes=50),
            meeting_seconds=MEETING_SECONDS,
        ),
    )
    return session, {t.name: t for t in tickets}


def sharpness_ratio(frame: np.ndarray, variant: str) -> float:
    """Detail in the background (the shuttle model beside her) relative to detail in her face.

    Both are measured at 320x240, and as a ratio, so that WebRTC scaling the video down under load does
    not look like (or hide) a blur: only a background effect lowers the ratio.
    """
    small = np.asarray(Image.fromarray(frame).resize((320, 240), Image.Resampling.BILINEAR), dtype=np.float32)
    gray = small @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    background = gray[10:130, 232:304]  # the shuttle model, right of her head
    face = gray[30:100, 100:160]  # eyes, nose and mouth
    if variant == "mirror":
        background = gray[10:130, 16:88]
        face = gray[30:100, 160:220]
    return laplacian_variance(background) / max(laplacian_variance(face), 1e-6)


async def sharpness(page: Page, variant: str, samples: int = 3) -> float:
    values = []
    for _ in range(samples):
        values.append(sharpness_ratio(await capture_frame(page, PARTNER), variant))
        await asyncio.sleep(0.3)
    return float(np.median(values))


async def expect_partner_video(me: Attendee, partner: Attendee) -> None:
    """The page decodes the partner's video at the camera's size, frames keep coming, and it is theirs."""
    await wait_for_video_frames(me.page, PARTNER)
    # Frames keep coming (generous timeout: the machine may be busy).
    await wait_for_video_frames(me.page, PARTNER, count=10)
    # Whose video: the frame looks like the partner's camera variant, not mine (the switch from the
    # waiting slate may take a frame or two).
    seen = None
    for _ in range(20):
        seen = closest_variant(await capture_frame(me.page, PARTNER))
        if seen == partner.variant:
            break
        await asyncio.sleep(0.5)
    assert seen == partner.variant, f"{me.name} sees {seen}, expected {partner.name}'s {partner.variant}"
    stats = await video_stats(me.page, PARTNER)
    assert stats is not None and not stats["paused"]
    # The camera's 4:3 picture (the waiting slate is 16:9); WebRTC may scale it down while the sender's
    # bandwidth estimate ramps up or its CPU is busy, never up.
    assert stats["width"] * 3 == stats["height"] * 4, stats
    assert 160 <= stats["width"] <= 640, stats


GREEN = (0x20, 0xC0, 0x40)


async def expect_colour_background(page: Page, selector: str, rgb: tuple[int, int, int]) -> None:
    """The background beside the person (top corners) turns to the colour; the face does not."""
    target = np.array(rgb, dtype=np.float32)
    distance = face_distance = 0.0
    for _ in range(30):
        frame = await capture_frame(page, selector)
        small = np.asarray(Image.fromarray(frame).resize((320, 240)), dtype=np.float32)
        corners = np.concatenate([small[5:60, 5:50].reshape(-1, 3), small[5:60, 270:315].reshape(-1, 3)])
        distance = float(np.linalg.norm(np.median(corners, axis=0) - target))
        face = small[40:90, 130:190].reshape(-1, 3)
        face_distance = float(np.linalg.norm(np.median(face, axis=0) - target))
        if distance < 40 and face_distance > 80:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"background not {rgb}: corner distance {distance:.0f}, face {face_distance:.0f}")
