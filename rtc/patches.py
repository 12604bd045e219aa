"""Everything the project changes in aiortc, and every aiortc internal it relies on, in one place.

**Process-wide patches.** A few things can only be changed in aiortc for the whole process, by replacing a
function aiortc looks up in its own modules at call time. Each such change is a `Patch`, and `install()`
is the one way to apply one: once per process, under one lock, whoever asks first (installing it again
returns what the first install returned and changes nothing). Nothing installs a patch as a side effect
of being imported or constructed; each program asks for what it needs when it starts:

* `SPEEDUPS` (below, from `rtc.speedups`): the numpy audio level and the integer clock, for every peer
  in the process. The server and the load tester install it.
* `sfu.codecs.SERVER_CODECS`: the server's own VP8 encoder, and codec wrappers that time each decode and
  encode, make the first encode after relayed frames a keyframe, cap the bitrate by the frame rate
  actually sent and keep relayed and encoded audio on one clock. The server installs it.
* `loadtest.arrival.ARRIVAL_STAMPS`: decoded video frames stamped with the moment they were decoded.
  The load tester installs it.

Two patches may wrap the same aiortc function (both codec patches wrap the decoder factory); each wraps
whatever is there when it is installed, so they stack in either order.

**Per-object changes** (one receiver, one sender, one closed peer connection) stay with the code that
makes them:

* `rtc.jitter_buffer.install` and `sfu.relay.tap_receiver` (a receiver);
* `sfu.connection.forward_keyframe_requests` and the load tester's `EncodedVideoTrack.hook` (a sender);
* `rtc.peer_connection.close_peer_connection` (a peer connection after close);
* `sfu.vp8_encoder.Vp8Encoder`, a subclass of aiortc's encoder.

**Internals relied on.** aiortc promises none of the names below; an upgrade may rename or remove any of
them, and most uses would then fail quietly (a patch that no longer applies, a getattr that finds
nothing). `AIORTC_INTERNALS` lists each one with why it is used; `tests/rtc/test_patches.py` checks every
one against the installed aiortc (and aioice), so an upgrade that breaks one fails there, loudly:

* `aiortc.rtp.compute_audio_level_dbov`, `aiortc.clock.current_ms`, `aiortc.clock.current_ntp_time`:
  replaced by `SPEEDUPS`.
* `aiortc.rtcrtpreceiver.get_decoder`, `aiortc.rtcrtpsender.get_encoder`: wrapped by `SERVER_CODECS`
  and `ARRIVAL_STAMPS`.
* `RTCRtpReceiver.__jitter_buffer`: replaced per receiver (`rtc.jitter_buffer`); `JitterBuffer._origin`,
  `_packets`, `_is_video` are read and `_remove_frame` overridden by `FrameJitterBuffer`, which also reads
  `RtpPacket._data` (set by the receiver).
* `RTCRtpReceiver.__decoder_queue`, `__decoder_thread`: the relay's tap (`sfu.relay`);
  `RTCRtpReceiver._send_rtcp_pli`: the relay's keyframe requests.
* `RTCRtpSender._send_keyframe`: keyframe requests for relayed or pre-encoded video
  (`sfu.connection`, the load tester's tracks).
* `RTCIceTransport.__start`, `RTCIceTransport._connection` and aioice's `Connection._query_consent_task`:
  consent tasks reaped after close (`rtc.peer_connection`).
* `aiortc.codecs.vpx.Vp8Encoder._packetize`: the server's VP8 encoder (`sfu.vp8_encoder`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast

from rtc import speedups

T = TypeVar("T")


@dataclass(frozen=True)
class Patch(Generic[T]):
    """A process-wide change to aiortc: `apply()` makes it (once; see `install`) and returns what its
    users need afterwards (the counters a codec wrapper fills, say). `name` is unique per process."""

    name: str
    apply: Callable[[], T]


_lock = threading.Lock()
_installed: dict[str, tuple[Patch[Any], Any]] = {}


def install(patch: Patch[T]) -> T:
    """Apply `patch` unless it already is (process-wide, thread-safe); returns what its first `apply()`
    returned. A different patch under a name already installed is refused (ValueError)."""
    with _lock:
        if patch.name in _installed:
            known, state = _installed[patch.name]
            if known is not patch:
                raise ValueError(f"another patch is already installed as {patch.name!r}")
            return cast(T, state)
        state = patch.apply()
        _installed[patch.name] = (patch, state)
        return state


def is_installed(patch: Patch[Any]) -> bool:
    """Whether `patch` has been installed in this process."""
    with _lock:
        entry = _installed.get(patch.name)
    return entry is not None and entry[0] is patch


SPEEDUPS: Patch[None] = Patch("speedups", speedups.apply)


@dataclass(frozen=True)
class AiortcInternal:
    """A name in aiortc (or aioice) that the project reads, replaces or overrides although aiortc does
    not promise it.

    `owner` is its class in `module` (None: a name at module level); `attribute` is spelled as Python
    stores it (`_RTCRtpReceiver__jitter_buffer` for the receiver's `__jitter_buffer`). `kind` says where
    it lives: on the class (methods), on each instance (set in `__init__`), or assigned by aiortc code
    elsewhere (then `used_in` names that module and a snippet of its source). For a module-level function
    that a patch replaces, `used_in` names where aiortc calls it through the module: a copy imported
    with `from ... import` would not see the patch."""

    module: str
    owner: str | None
    attribute: str
    why: str
    kind: Literal["class", "instance", "assigned"] = "class"
    used_in: tuple[str, str] | None = None


AIORTC_INTERNALS: tuple[AiortcInternal, ...] = (
    # --- process-wide patches -----------------------------------------------------------------------
    AiortcInternal(
        "aiortc.rtp",
        None,
        "compute_audio_level_dbov",
        "replaced by SPEEDUPS (rtc.speedups): a numpy audio level, 15 times faster",
        used_in=("aiortc.rtcrtpsender", "rtp.compute_audio_level_dbov("),
    ),
    AiortcInternal(
        "aiortc.clock",
        None,
        "current_ntp_time",
        "replaced by SPEEDUPS (rtc.speedups): the NTP clock read twice per packet sent, in integers",
        used_in=("aiortc.rtcrtpsender", "clock.current_ntp_time()"),
    ),
    AiortcInternal(
        "aiortc.clock",
        None,
        "current_ms",
        "replaced by SPEEDUPS (rtc.speedups): the millisecond clock read per packet received",
        used_in=("aiortc.rtcdtlstransport", "clock.current_ms()"),
    ),
    AiortcInternal(
        "aiortc.rtcrtpreceiver",
        None,
        "get_decoder",
        "wrapped by sfu.codecs.SERVER_CODECS (decode timing) and the load tester's ARRIVAL_STAMPS",
        used_in=("aiortc.rtcrtpreceiver", "decoder = get_decoder(codec)"),
    ),
    AiortcInternal(
        "aiortc.rtcrtpsender",
        None,
        "get_encoder",
        "wrapped by sfu.codecs.SERVER_CODECS: the server's VP8 encoder, encode timing, bitrate cap",
        used_in=("aiortc.rtcrtpsender", "= get_encoder(codec)"),
    ),
    # --- receivers: the frame jitter buffer and the relay's tap ---------------------------------------
    AiortcInternal(
        "aiortc.rtcrtpreceiver",
        "RTCRtpReceiver",
        "_RTCRtpReceiver__jitter_buffer",
        "rtc.jitter_buffer.install swaps in a FrameJitterBuffer (frames handed on once complete)",
        kind="instance",
    ),
    AiortcInternal(
        "aiortc.jitterbuffer",
        "JitterBuffer",
        "_remove_frame",
        "overridden by rtc.jitter_buffer.FrameJitterBuffer: where aiortc decides a frame is complete",
    ),
    AiortcInternal(
        "aiortc.jitterbuffer",
        "JitterBuffer",
        "_origin",
        "read by rtc.jitter_buffer (first sequence number held; None before any packet)",
        kind="instance",
    ),
    AiortcInternal(
        "aiortc.jitterbuffer",
        "JitterBuffer",
        "_packets",
        "read by rtc.jitter_buffer.FrameJitterBuffer (the ring of packets held)",
        kind="instance",
    ),
    AiortcInternal(
        "aiortc.jitterbuffer",
        "JitterBuffer",
        "_is_video",
        "read by rtc.jitter_buffer.FrameJitterBuffer (video frames end at the marker bit)",
        kind="instance",
    ),
    AiortcInternal(
        "aiortc.rtp",
        "RtpPacket",
        "_data",
        "read by rtc.jitter_buffer.FrameJitterBuffer: the depayloaded data the receiver puts on each packet",
        kind="assigned",
        used_in=("aiortc.rtcrtpreceiver", "packet._data = depayload("),
    ),
    AiortcInternal(
        "aiortc.rtcrtpreceiver",
        "RTCRtpReceiver",
        "_RTCRtpReceiver__decoder_queue",
        "sfu.relay.tap_receiver swaps in a TappedQueue: encoded frames seen (and relayed) before decoding",
        kind="instance",
    ),
    AiortcInternal(
        "aiortc.rtcrtpreceiver",
        "RTCRtpReceiver",
        "_RTCRtpReceiver__decoder_thread",
        "sfu.relay.tap_receiver: a receiver whose decoder thread runs can no longer be tapped",
        kind="instance",
    ),
    AiortcInternal(
        "aiortc.rtcrtpreceiver",
        "RTCRtpReceiver",
        "_send_rtcp_pli",
        "sfu.relay.Relay.request_keyframe asks the attendee's sender for a keyframe (RTCP PLI)",
    ),
    # --- senders ---------------------------------------------------------------------------------------
    AiortcInternal(
        "aiortc.rtcrtpsender",
        "RTCRtpSender",
        "_send_keyframe",
        "wrapped by sfu.connection.forward_keyframe_requests and replaced by the load tester's "
        "EncodedVideoTrack.hook: keyframe requests reach tracks that send relayed or pre-encoded video",
    ),
    AiortcInternal(
        "aiortc.codecs.vpx",
        "Vp8Encoder",
        "_packetize",
        "called by sfu.vp8_encoder.Vp8Encoder, which encodes with its own libvpx settings",
    ),
    # --- closing a peer connection ---------------------------------------------------------------------
    AiortcInternal(
        "aiortc.rtcicetransport",
        "RTCIceTransport",
        "_RTCIceTransport__start",
        "rtc.peer_connection waits for an ICE handshake still finishing after close",
        kind="instance",
    ),
    AiortcInternal(
        "aiortc.rtcicetransport",
        "RTCIceTransport",
        "_connection",
        "rtc.peer_connection reaches aioice's connection to reap its consent task",
        kind="instance",
    ),
    AiortcInternal(
        "aioice.ice",
        "Connection",
        "_query_consent_task",
        "rtc.peer_connection cancels and awaits a consent task left running after close",
        kind="instance",
    ),
)
