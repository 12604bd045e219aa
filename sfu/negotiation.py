"""SDP and ICE details of answering an attendee's offer: which codec an answer sends, forwarding
keyframe requests to a relaying track, and turning a trickled candidate into aiortc's form."""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCIceCandidate, RTCRtpSender
from aiortc.sdp import SessionDescription, candidate_from_sdp

from sfu.errors import NegotiationFailed
from wire.protocol import IceCandidate


def sends(answer_sdp: str, kind: str, mime_type: str) -> bool:
    """Whether the `kind` media this answer sends uses `mime_type` (the first codec of its section).
    Only then can the relay forward what the partner sent; otherwise the server re-encodes."""
    for media in SessionDescription.parse(answer_sdp).media:
        if media.kind == kind and media.rtp.codecs:
            return media.rtp.codecs[0].mimeType.lower() == mime_type
    return False


def forward_keyframe_requests(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` too when the receiver asks `sender` for a keyframe (RTCP PLI or FIR): the
    sender's own encoder can only answer for frames it encodes, not for relayed ones."""
    own = sender._send_keyframe

    def send_keyframe() -> None:
        own()
        callback()

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]


def ice_candidate(candidate: IceCandidate) -> RTCIceCandidate:
    """aiortc's form of a trickled candidate; raises NegotiationFailed when it cannot be parsed."""
    text = candidate.candidate
    if text.startswith("candidate:"):
        text = text[len("candidate:") :]
    try:
        ice = candidate_from_sdp(text)
    except Exception as exc:  # aiortc's parser asserts on malformed input
        raise NegotiationFailed(f"malformed ICE candidate: {candidate.candidate[:80]!r}") from exc
    ice.sdpMid = candidate.sdpMid
    ice.sdpMLineIndex = candidate.sdpMLineIndex
    return ice
