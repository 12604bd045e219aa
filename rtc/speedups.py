"""Faster versions of aiortc hot spots the server hits for every attendee.

aiortc computes the RFC 6465 audio level of every audio frame it sends (`rtp.compute_audio_level_dbov`,
called by `RTCRtpSender` for each 20 ms frame) with a Python loop over the samples: about 0.25 ms a
frame on a quiet core, 50 times a second for every attendee the server sends audio to, and much more on
a busy machine. The numpy version below computes the same value (same formula, same rounding) about
15 times faster.

The sum of squares is taken in int64 (exact, like aiortc's Python ints), never with a float `np.dot`:
that goes to OpenBLAS, which on some CPUs hands even a 20 ms frame to its worker thread, and a worker
woken 50 times a second never goes back to sleep: it spins on `sched_yield` and burns a whole core.

aiortc also reads the wall clock as NTP time for every RTP packet it sends (`clock.current_ntp_time`,
twice: the abs-send-time extension and the sender report's reference) and in milliseconds for every
packet it receives (`clock.current_ms`, for the bandwidth estimate), each time through `datetime`
arithmetic: a microsecond or more a call, three calls for every packet the server forwards. The versions
below compute the same values from `time.time_ns()` in integers (exactly aiortc's value for the same
microsecond) at a fraction of the cost.

`apply()` puts all three into aiortc; a program does that through `rtc.patches.install(SPEEDUPS)`, once
per process.
"""

from __future__ import annotations

import math
import time

import av
import numpy as np
from aiortc import clock, rtp

# aiortc's own versions, kept for comparison (tests) before `apply()` replaces them.
aiortc_audio_level_dbov = rtp.compute_audio_level_dbov
aiortc_current_ms = clock.current_ms
aiortc_current_ntp_time = clock.current_ntp_time

# Microseconds from the NTP epoch (1900-01-01 UTC) to the Unix epoch.
NTP_UNIX_OFFSET_US = 2_208_988_800 * 1_000_000

MAX_SAMPLE_VALUE = 32767
MIN_AUDIO_LEVEL = -127
MAX_AUDIO_LEVEL = 0


def compute_audio_level_dbov(frame: av.AudioFrame) -> int:
    """RFC 6465 Appendix A audio level of a 16-bit frame, as aiortc computes it (every int16 of the
    first plane, divided by the per-channel sample count)."""
    plane = frame.planes[0]
    samples = np.frombuffer(memoryview(plane), dtype=np.int16, count=plane.buffer_size // 2)
    wide = samples.astype(np.int64)
    energy = int(np.multiply(wide, wide).sum())
    rms = math.sqrt(energy / (frame.samples * MAX_SAMPLE_VALUE * MAX_SAMPLE_VALUE))
    if rms <= 0:
        return MIN_AUDIO_LEVEL
    return round(min(max(20 * math.log10(rms), MIN_AUDIO_LEVEL), MAX_AUDIO_LEVEL))


def ntp_time_from_unix_us(unix_us: int) -> int:
    """64-bit NTP time (32.32 fixed point) of a Unix time in microseconds, as aiortc's
    `clock.datetime_to_ntp` computes it."""
    seconds, micros = divmod(unix_us + NTP_UNIX_OFFSET_US, 1_000_000)
    return (seconds << 32) | ((micros << 32) // 1_000_000)


def ms_from_unix_us(unix_us: int) -> int:
    """Milliseconds since the NTP epoch of a Unix time in microseconds, as aiortc's `clock.current_ms`
    computes it."""
    return (unix_us + NTP_UNIX_OFFSET_US) // 1000


def current_ntp_time() -> int:
    """aiortc's `clock.current_ntp_time`: now, as 64-bit NTP time."""
    return ntp_time_from_unix_us(time.time_ns() // 1000)


def current_ms() -> int:
    """aiortc's `clock.current_ms`: now, in milliseconds since the NTP epoch."""
    return ms_from_unix_us(time.time_ns() // 1000)


def apply() -> None:
    """Use the numpy audio level and the integer clock in aiortc from now on (process-wide). Install it
    through `rtc.patches.install(rtc.patches.SPEEDUPS)`, which applies it once."""
    rtp.compute_audio_level_dbov = compute_audio_level_dbov
    clock.current_ms = current_ms
    clock.current_ntp_time = current_ntp_time
