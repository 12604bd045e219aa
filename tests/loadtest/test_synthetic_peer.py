"""The synthetic peer against a real server: clear timeouts, and audio counted without decoding."""

from __future__ import annotations

import asyncio

from sfu_server import PeerFactory, Server

from rtc.tap import TappedQueue


async def test_wait_for_colour_times_out_with_a_clear_error(server: Server, peers: PeerFactory) -> None:
    a = await peers(0)
    try:
        await a.wait_for_colour((1, 2, 3), tolerance=1, within=1.5)
    except TimeoutError as exc:
        assert "p0" in str(exc)
    else:
        raise AssertionError("matched a colour nobody sends")
    assert a.video_frames > 0  # it did receive (the slate)


async def test_without_summaries_audio_is_counted_not_decoded(server: Server, peers: PeerFactory) -> None:
    a = await peers(0, summarise=False)
    deadline = asyncio.get_running_loop().time() + 5.0
    while a.audio_frames < 25:  # half a second of the silence the server sends between meetings
        assert asyncio.get_running_loop().time() < deadline, f"only {a.audio_frames} audio frames arrived"
        await asyncio.sleep(0.05)
    assert a.pc is not None
    (receiver,) = [r for r in a.pc.getReceivers() if r.track.kind == "audio"]
    assert isinstance(receiver._RTCRtpReceiver__decoder_queue, TappedQueue)  # type: ignore[attr-defined]
    assert receiver._RTCRtpReceiver__decoder_queue.qsize() == 0  # type: ignore[attr-defined]
    assert receiver.track._queue.qsize() == 0  # type: ignore[attr-defined]  # no decoded frame
    assert not a.audio  # no summaries either
    assert a.video_frames > 0  # video is still decoded (stamps are read from the pictures)
