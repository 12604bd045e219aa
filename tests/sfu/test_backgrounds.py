"""Virtual backgrounds through the media plane: applied on the server, only while someone watches."""

from __future__ import annotations

import asyncio
import io

from PIL import Image
from sfu_server import COLOURS, PeerFactory, Server
from sfu_testing import wait_until

from sfu.backgrounds import Backgrounds
from web.keys import MEDIA_FILES_KEY
from web.store import AssetInput
from wire import protocol as p

GREEN = (0, 200, 0)


async def test_colour_background_reaches_the_partner_and_can_be_switched_off(
    server: Server, peers: PeerFactory
) -> None:
    a, b = await peers(0), await peers(1)
    await a.ready()
    await b.ready()
    await b.wait_for("matched")
    await b.wait_for_colour(COLOURS[0])
    # The synthetic camera shows no person: with a colour background the whole picture becomes it.
    await a.set_background(p.ColorBackground(rgb=GREEN))
    ack = await a.wait_for("background")
    assert isinstance(ack, p.BackgroundSet) and ack.background == p.ColorBackground(rgb=GREEN)
    await b.wait_for_colour(GREEN)
    await a.set_background(p.NoBackground())
    await a.wait_for("background")
    await b.wait_for_colour(COLOURS[0])


async def test_background_costs_nothing_while_nobody_receives_the_video(
    server: Server, peers: PeerFactory
) -> None:
    a = await peers(0)
    await a.set_background(p.BlurBackground(strength=0.7))
    await a.wait_for("background")
    room = server.rooms.get(server.session_id)
    assert room is not None
    source = room.participants[str(server.tickets[0].id)].video
    await wait_until(lambda: source.frames_in > 10, within=5, what="incoming frames")
    await asyncio.sleep(0.3)
    assert source.frames_processed == 0  # idle, no preview: nobody receives this video

    await a.preview(True)  # the settings panel opens: now they watch themselves
    await a.wait_for("background")
    await wait_until(lambda: source.frames_processed > 5, within=10, what="processed frames")
    await a.wait_for_colour(COLOURS[0], tolerance=60)


def png(rgb: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), rgb).save(buffer, format="PNG")
    return buffer.getvalue()


async def add_image(server: Server, ticket_id: int | None, rgb: tuple[int, int, int]) -> int:
    loop = asyncio.get_running_loop()
    filename = await loop.run_in_executor(None, server.app[MEDIA_FILES_KEY].write, png(rgb), "png")
    asset = await server.store.add_asset(
        AssetInput(
            event_id=server.event_id,
            ticket_id=ticket_id,
            purpose="background",
            kind="image",
            content_type="image/png",
            filename=filename,
            size_bytes=100,
            width=64,
            height=48,
        )
    )
    return asset.id


async def test_image_backgrounds_of_the_event_or_ones_own_only(server: Server, peers: PeerFactory) -> None:
    a = await peers(0)
    theirs = await add_image(server, server.tickets[1].id, (0, 0, 250))
    organisers = await add_image(server, None, (250, 250, 0))
    for asset_id in (theirs, 9999):
        await a.set_background(p.ImageBackground(asset_id=asset_id), preview=True)
        error = await a.wait_for("error")
        assert isinstance(error, p.Error) and error.code == "invalid_command"
        assert "Background not available" in error.message
    await a.set_background(p.ImageBackground(asset_id=organisers), preview=True)
    ack = await a.wait_for("background")
    assert isinstance(ack, p.BackgroundSet) and ack.preview
    await a.wait_for_colour((250, 250, 0), tolerance=50)


async def test_the_models_are_loaded_at_start_not_when_the_first_attendee_picks_a_background(
    server: Server,
) -> None:
    backgrounds = server.rooms.backgrounds
    assert isinstance(backgrounds, Backgrounds)
    await wait_until(lambda: backgrounds.models_loaded == 2, within=30, what="models preloaded")
