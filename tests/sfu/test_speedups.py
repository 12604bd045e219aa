"""The numpy audio level gives exactly aiortc's value, and install() puts it where aiortc's sender looks."""

from __future__ import annotations

import queue
import threading

import av
import numpy as np
import pytest
from aiortc import rtp
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from sfu.speedups import (
    KEYFRAME_RETRY_SECONDS,
    SheddingQueue,
    aiortc_audio_level_dbov,
    compute_audio_level_dbov,
    install,
    is_vp8_keyframe,
)


def _frame(samples: np.ndarray, layout: str) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout=layout)
    frame.sample_rate = 48000
    return frame


@pytest.mark.parametrize("layout", ["mono", "stereo"])
@pytest.mark.parametrize("amplitude", [0, 1, 30, 1000, 12000, 32767])
def test_same_level_as_aiortc(layout: str, amplitude: int) -> None:
    channels = 2 if layout == "stereo" else 1
    rng = np.random.default_rng(amplitude)
    samples = np.clip(rng.normal(0, amplitude, 960 * channels), -32768, 32767).astype(np.int16)
    frame = _frame(samples, layout)
    assert compute_audio_level_dbov(frame) == aiortc_audio_level_dbov(frame)


def test_full_scale_and_silence() -> None:
    assert compute_audio_level_dbov(_frame(np.zeros(1920, np.int16), "stereo")) == -127
    loud = np.full(1920, 32767, np.int16)
    assert compute_audio_level_dbov(_frame(loud, "stereo")) == aiortc_audio_level_dbov(_frame(loud, "stereo"))


def test_install_replaces_aiortcs_function_once() -> None:
    install()
    install()
    assert rtp.compute_audio_level_dbov is compute_audio_level_dbov


class _Frame:
    def __init__(self, number: int, keyframe: bool) -> None:
        self.number = number
        self.data = bytes([0x10 if keyframe else 0x11, 0, 0])


VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)


def test_vp8_keyframe_flag() -> None:
    assert is_vp8_keyframe(bytes([0x50, 1])) and not is_vp8_keyframe(bytes([0x51, 1]))
    assert not is_vp8_keyframe(b"")


def test_shedding_queue_drops_a_backlog_until_a_keyframe() -> None:
    now = [100.0]
    inner: queue.Queue[object] = queue.Queue()
    error = threading.Event()
    shed: list[int] = []
    q = SheddingQueue(inner, error, max_waiting=3, on_shed=lambda: shed.append(1), clock=lambda: now[0])

    def put(number: int, keyframe: bool = False) -> None:
        inner.put((VP8, _Frame(number, keyframe)))

    # Keeping up: frames come out one by one.
    put(0, keyframe=True)
    put(1)
    assert [q.get()[1].number for _ in range(2)] == [0, 1]
    assert not error.is_set()
    # The decoder fell behind: 10 frames wait, a keyframe among them (6) and one at the end (12).
    for n in range(2, 13):
        put(n, keyframe=n in (6, 12))
    inner.put((OPUS, "audio"))  # never dropped
    # Frames 2..11 are dropped (6 too: there was still a backlog behind it); 12 is fresh and a keyframe.
    assert q.get()[1].number == 12
    assert error.is_set() and q.keyframe_requests == 1 and q.shed == len(shed) == 10
    assert q.get() == (OPUS, "audio")
    # Decoding goes on normally afterwards.
    put(13)
    assert q.get()[1].number == 13
    inner.put(None)  # end of stream passes through
    assert q.get() is None


def test_shedding_queue_asks_again_for_a_keyframe_that_does_not_come() -> None:
    ticks = iter(range(1000))
    inner: queue.Queue[object] = queue.Queue()
    error = threading.Event()
    # Each dropped frame takes 0.3 s of the (fake) clock: a long wait for a keyframe.
    q = SheddingQueue(inner, error, max_waiting=2, clock=lambda: 0.3 * next(ticks))
    for n in range(16):
        inner.put((VP8, _Frame(n, keyframe=False)))
    inner.put((VP8, _Frame(99, keyframe=True)))
    assert q.get()[1].number == 99
    assert q.shed == 16
    # Requests every KEYFRAME_RETRY_SECONDS while waiting, not on every dropped frame.
    assert 2 <= q.keyframe_requests <= 16 * 0.3 / KEYFRAME_RETRY_SECONDS + 1


def test_install_wraps_aiortcs_decoder_worker() -> None:
    import aiortc.rtcrtpreceiver as receiver_module

    original = receiver_module.decoder_worker
    install()
    install()
    assert (
        receiver_module.decoder_worker is not original
        or receiver_module.decoder_worker.__module__ == "sfu.speedups"
    )
    assert receiver_module.decoder_worker.__module__ == "sfu.speedups"
