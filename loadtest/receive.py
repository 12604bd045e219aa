"""How a synthetic peer receives: frames handed on once complete, as in a browser, and (for a load
generator, which never listens) audio counted instead of decoded."""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCPeerConnection

from rtc import jitter_buffer
from rtc.tap import TappedQueue, tap_receiver


def receive_as_a_browser(pc: RTCPeerConnection, count_audio: Callable[[], None] | None = None) -> None:
    """Set up the receivers of `pc` (before it starts receiving) to hand on each frame once it is
    complete, as a browser does: aiortc's own buffer would add a frame interval to every latency
    measured. With `count_audio`, received audio is not decoded at all: `count_audio()` is called once
    per encoded frame instead (for a load generator, which never listens)."""
    for transceiver in pc.getTransceivers():
        jitter_buffer.install(transceiver.receiver, transceiver.kind)
        if transceiver.kind == "audio" and count_audio is not None:
            tap_receiver(transceiver.receiver, TappedQueue(_counted_not_decoded(count_audio)))


def _counted_not_decoded(count: Callable[[], None]) -> Callable[[object, object], bool]:
    def tap(codec: object, encoded_frame: object) -> bool:
        count()
        return False  # not on to the decoder

    return tap
