"""The numpy audio level gives exactly aiortc's value, and install() puts it where aiortc's sender looks."""

from __future__ import annotations

import av
import numpy as np
import pytest
from aiortc import rtp

from sfu.speedups import (
    KEYFRAME_RETRY_SECONDS,
    StaleFrameShedder,
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
    def __init__(self, timestamp: int, keyframe: bool) -> None:
        self.timestamp = timestamp
        self.data = bytes([0x10 if keyframe else 0x11, 0, 0])


class _Decoder:
    def __init__(self) -> None:
        self.decoded: list[int] = []

    def decode(self, frame: _Frame) -> list[str]:
        self.decoded.append(frame.timestamp)
        return [f"picture {frame.timestamp}"]


def test_vp8_keyframe_flag() -> None:
    assert is_vp8_keyframe(bytes([0x50, 1])) and not is_vp8_keyframe(bytes([0x51, 1]))
    assert not is_vp8_keyframe(b"")


def test_shedder_drops_stale_frames_until_a_fresh_keyframe() -> None:
    now = [100.0]
    inner, shed = _Decoder(), []
    shedder = StaleFrameShedder(inner, shed=lambda: shed.append(1), max_backlog=0.3, clock=lambda: now[0])
    rtp = 0

    def frame(keyframe: bool = False, advance: float = 1 / 30) -> _Frame:
        nonlocal rtp
        now[0] += advance
        rtp += 3000  # 1/30 s at 90 kHz
        return _Frame(rtp, keyframe)

    # On time: everything decoded.
    for i in range(10):
        assert shedder.decode(frame(keyframe=i == 0)) == [f"picture {rtp}"]
    # The machine stalls for a second: the queued frames come out late.
    first_late = frame(advance=1.0)
    with pytest.raises(av.error.InvalidDataError):  # aiortc sends a PLI on this
        shedder.decode(first_late)
    # The rest of the queue drains at once (nothing decoded) and the stream catches up.
    for _ in range(40):
        assert shedder.decode(frame(advance=0.001)) == []
    # Fresh again, but inter frames cannot be decoded without their references: still dropped.
    assert shedder.decode(frame()) == []
    assert len(inner.decoded) == 10
    # No keyframe came: once KEYFRAME_RETRY_SECONDS have passed, ask again (once).
    retries = 0
    for _ in range(round(KEYFRAME_RETRY_SECONDS * 30) + 5):
        try:
            assert shedder.decode(frame()) == []
        except av.error.InvalidDataError:
            retries += 1
    assert retries == 1
    # A fresh keyframe: decoding resumes, and stays on.
    assert shedder.decode(frame(keyframe=True)) == [f"picture {rtp}"]
    assert shedder.decode(frame()) == [f"picture {rtp}"]
    assert (
        shedder.keyframe_requests == 2
        and shedder.shed == len(shed) == 42 + round(KEYFRAME_RETRY_SECONDS * 30) + 5
    )
    assert len(inner.decoded) == 12


def test_install_sheds_on_vp8_decoders_only() -> None:
    install()
    import aiortc.rtcrtpreceiver as receiver_module
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    opus = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
    assert isinstance(receiver_module.get_decoder(vp8), StaleFrameShedder)
    assert not isinstance(receiver_module.get_decoder(opus), StaleFrameShedder)
