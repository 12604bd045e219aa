"""The receiver tap: every complete encoded frame is seen on its way to the decoder, which gets it only
when the tap says so."""

from __future__ import annotations

import logging
import queue
import types

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from rtc.tap import TappedQueue, tap_receiver


def _encoded(data: bytes) -> types.SimpleNamespace:
    return types.SimpleNamespace(data=data, timestamp=0)


def test_the_tap_sees_every_frame_and_decides_whether_it_is_decoded() -> None:
    seen: list[tuple[object, bytes]] = []

    def tap(codec: object, frame: types.SimpleNamespace) -> bool:
        seen.append((codec, frame.data))
        return frame.data != b"skip"

    tapped = TappedQueue(tap)
    tapped.put(("vp8", _encoded(b"one")))
    tapped.put(("vp8", _encoded(b"skip")))
    tapped.put(None)  # aiortc's end-of-stream for the decoder thread: not a frame, always passed on
    assert seen == [("vp8", b"one"), ("vp8", b"skip")]
    assert tapped.get_nowait()[1].data == b"one"
    assert tapped.get_nowait() is None
    assert tapped.empty()


def test_a_failing_tap_is_logged_and_the_frame_still_goes_to_the_decoder(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def tap(codec: object, frame: object) -> bool:
        raise ValueError("broken tap")

    tapped = TappedQueue(tap)
    with caplog.at_level(logging.ERROR, logger="rtc.tap"):
        tapped.put(("opus", _encoded(b"x")))
    assert tapped.qsize() == 1
    assert "receiver tap failed" in caplog.text


def test_the_backlog_can_be_dropped() -> None:
    tapped = TappedQueue(lambda codec, frame: True)
    for data in (b"a", b"b", b"c"):
        tapped.put(("vp8", _encoded(data)))
    assert tapped.drop_backlog() == 3 and tapped.empty()
    assert tapped.drop_backlog() == 0


async def test_a_receiver_is_tapped_only_before_it_receives() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        receiver = pc.addTransceiver("video").receiver
        tapped = TappedQueue(lambda codec, frame: True)
        tap_receiver(receiver, tapped)
        assert receiver._RTCRtpReceiver__decoder_queue is tapped  # type: ignore[attr-defined]
        # A receiver whose decoder thread runs already cannot be tapped any more.
        receiver._RTCRtpReceiver__decoder_thread = object()  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError, match="already receiving"):
            tap_receiver(receiver, TappedQueue(lambda codec, frame: True))
        receiver._RTCRtpReceiver__decoder_thread = None  # type: ignore[attr-defined]
    finally:
        await pc.close()


def test_an_unknown_receiver_layout_is_refused() -> None:
    not_a_receiver = types.SimpleNamespace()
    with pytest.raises(RuntimeError, match="unknown layout"):
        tap_receiver(not_a_receiver, TappedQueue(lambda codec, frame: True))  # type: ignore[arg-type]
    assert not isinstance(getattr(not_a_receiver, "_RTCRtpReceiver__decoder_queue", None), queue.Queue)
