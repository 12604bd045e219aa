"""The numpy audio level and the integer clock give exactly aiortc's values, and installing SPEEDUPS puts
them where aiortc looks."""

from __future__ import annotations

import datetime
import random

import av
import numpy as np
import pytest
from aiortc import clock, rtp

from rtc import patches
from rtc.speedups import (
    aiortc_audio_level_dbov,
    aiortc_current_ms,
    aiortc_current_ntp_time,
    compute_audio_level_dbov,
    current_ms,
    current_ntp_time,
    ms_from_unix_us,
    ntp_time_from_unix_us,
)

UNIX_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


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


def test_install_replaces_aiortcs_functions_once() -> None:
    patches.install(patches.SPEEDUPS)
    patches.install(patches.SPEEDUPS)
    assert rtp.compute_audio_level_dbov is compute_audio_level_dbov
    assert clock.current_ntp_time is current_ntp_time
    assert clock.current_ms is current_ms


def test_clock_gives_aiortcs_values_for_the_same_microsecond() -> None:
    rng = random.Random(7)
    now_us = 1_795_000_000 * 1_000_000
    instants = [0, 999_999, 1_000_000, now_us, now_us + 999_999, now_us + 500_000]
    instants += [rng.randrange(0, 2**32 * 1_000_000 // 2) for _ in range(20_000)]
    for unix_us in instants:
        moment = UNIX_EPOCH + datetime.timedelta(microseconds=unix_us)
        delta = moment - clock.NTP_EPOCH
        assert ntp_time_from_unix_us(unix_us) == clock.datetime_to_ntp(moment), unix_us
        assert ms_from_unix_us(unix_us) == int(delta.total_seconds() * 1000), unix_us


def test_clock_reads_now() -> None:
    before_ntp, before_ms = aiortc_current_ntp_time(), aiortc_current_ms()
    ntp, ms = current_ntp_time(), current_ms()
    after_ntp, after_ms = aiortc_current_ntp_time(), aiortc_current_ms()
    assert before_ntp <= ntp <= after_ntp
    assert before_ms <= ms <= after_ms
    # And back: aiortc reads our NTP time as the current UTC time.
    elapsed = datetime.datetime.now(datetime.UTC) - clock.datetime_from_ntp(ntp)
    assert datetime.timedelta(0) <= elapsed < datetime.timedelta(seconds=1)
