import asyncio

from media_stand_in import RecordingMediaPlane

from sfu import interface as mi
from web.room.media import RoomMedia


async def test_commands_are_carried_out_in_the_order_given() -> None:
    plane = RecordingMediaPlane()
    media = RoomMedia(plane, "room-1")
    media.start()
    media.post(mi.AddPeer(peer="s1-t1"))
    media.post(mi.Route(peer="s1-t1", to="preview"))
    reply = await media.call(mi.AnswerOffer(peer="s1-t1", sdp="offer"))
    assert reply == mi.Answered(sdp="answer to offer")
    assert [c.type for c in plane.commands] == ["add_peer", "route", "answer_offer"]
    await media.stop()


async def test_a_refused_post_is_counted_and_the_line_goes_on() -> None:
    plane = RecordingMediaPlane()
    media = RoomMedia(plane, "room-1")
    media.start()
    media.post(mi.Route(peer="s1-t9", to="slate"))  # unknown peer: refused
    assert isinstance(await media.call(mi.AddPeer(peer="s1-t1")), mi.Ok)
    assert media.refusals == 1
    await media.stop()


async def test_call_ok_raises_a_refusal() -> None:
    plane = RecordingMediaPlane()
    media = RoomMedia(plane, "room-1")
    media.start()
    try:
        await media.call_ok(mi.AnswerOffer(peer="s1-t1", sdp="offer"))
    except mi.MediaError as exc:
        assert exc.code == "unknown_peer"
    else:
        raise AssertionError("an unknown peer's offer was answered")
    await media.stop()


async def test_stop_carries_out_what_is_queued_then_refuses_more() -> None:
    plane = RecordingMediaPlane()
    media = RoomMedia(plane, "room-1")
    media.start()
    for i in range(5):
        media.post(mi.AddPeer(peer=f"s1-t{i}"))
    await media.stop()
    assert len(plane.commands) == 5
    reply = await media.call(mi.AddPeer(peer="s1-t9"))
    assert isinstance(reply, mi.Refused)
    media.post(mi.AddPeer(peer="s1-t10"))
    assert len(plane.commands) == 5


async def test_a_plane_that_fails_becomes_a_refusal() -> None:
    class Broken(RecordingMediaPlane):
        async def request(self, command: mi.Command) -> mi.Reply:
            raise RuntimeError("worker gone")

    media = RoomMedia(Broken(), "room-1")
    media.start()
    reply = await media.call(mi.AddPeer(peer="s1-t1"))
    assert isinstance(reply, mi.Refused) and reply.code == "internal"
    await media.stop()


async def test_a_call_waiting_at_stop_gets_a_refusal() -> None:
    release = asyncio.Event()

    class Slow(RecordingMediaPlane):
        async def request(self, command: mi.Command) -> mi.Reply:
            await release.wait()
            return mi.Ok()

    media = RoomMedia(Slow(), "room-1")
    media.start()
    first = asyncio.create_task(media.call(mi.AddPeer(peer="s1-t1")), name="first")
    second = asyncio.create_task(media.call(mi.AddPeer(peer="s1-t2")), name="second")
    await asyncio.sleep(0.01)
    await media.stop(within=0.05)
    assert isinstance(await first, mi.Refused)
    assert isinstance(await second, mi.Refused)
