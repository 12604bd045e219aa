"""The numpy audio level gives exactly aiortc's value, and install() puts it where aiortc's sender looks."""

from __future__ import annotations

import av
import numpy as np
import pytest
from aiortc import rtp

from sfu.speedups import aiortc_audio_level_dbov, compute_audio_level_dbov, install


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
