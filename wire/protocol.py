"""Signalling protocol: the JSON messages exchanged over the attendee WebSocket.

Every message is a JSON object with a ``type`` field. Client messages are validated strictly
(unknown types or fields are rejected with an ``error`` message); server messages are built from
the models below and serialised with :func:`dump`. Times are absolute Unix epoch seconds (floats),
so a client only needs its own clock offset (``welcome.server_time``) to show countdowns.

The protocol is versioned by :data:`PROTOCOL_VERSION`; ``welcome.protocol`` announces it and a
client may state the version it speaks in ``hello.protocol``. See ``docs/protocol.md``.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PROTOCOL_VERSION = 1

# Upper bounds keep a hostile client from making the server parse or store huge values.
MAX_MESSAGE_BYTES = 256 * 1024
# A frame up to this size is read and refused with an `error` (the socket stays); a larger one makes the
# server close the socket with 1009 (message too big) without reading it.
MAX_FRAME_BYTES = 4 * MAX_MESSAGE_BYTES
MAX_SDP_CHARS = 128 * 1024
MAX_REASON_CHARS = 2000


class CloseCode(IntEnum):
    """WebSocket close codes (application range 4000-4999) sent after an ``error`` message."""

    BAD_TICKET = 4001  # missing or unknown ticket secret
    WRONG_EVENT = 4003  # the ticket belongs to another event
    SESSION_NOT_FOUND = 4004
    SESSION_NOT_LIVE = 4009  # not started yet, or over (and no meeting of yours still running)
    REPLACED = 4010  # the same ticket opened another connection to this session
    TICKET_REVOKED = 4011  # the organiser revoked, deleted or changed the role of the ticket
    REMOVED_FROM_SESSION = 4012  # the organiser removed the attendee from this session; no rejoining it
    NO_MEDIA_CAPACITY = 4507  # no media server has room for another attendee now; try again later
    PROTOCOL_ERROR = 4400  # too many malformed messages, or an unsupported protocol version
    RATE_LIMITED = 4429  # the socket sent messages faster than its budget allows
    SHUTTING_DOWN = 4503  # server stopping; reconnect later


ErrorCode = Literal[
    "bad_ticket",
    "wrong_event",
    "session_not_found",
    "session_not_live",
    "replaced",
    "ticket_revoked",
    "removed_from_session",
    "unsupported_version",
    "bad_message",  # not JSON, unknown type, missing/invalid fields
    "invalid_command",  # valid message that makes no sense now (e.g. extend outside the window)
    "unknown_attendee",  # names a ticket that is not in this session / never met you
    "not_in_meeting",
    "sdp_failed",  # the offer/answer/candidate could not be applied
    "shutting_down",
    "rate_limited",  # too many messages too fast: the socket is closed (4429)
    "no_media_capacity",  # no media server has room for another attendee now: the socket is closed (4507)
    "internal",
]

AttendeeStateName = Literal["idle", "ready", "meeting"]
Party = Literal["me", "partner"]
ConnectionStateName = Literal["requested", "accepted"]
# server_restart: only in matches lists, never in meeting_ended: the server stopped while the meeting ran
# and closed its record on the next start (see web/store/recovery.py).
EndReasonName = Literal["timeout", "left", "partner_left", "blocked", "session_closed", "server_restart"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- shared pieces -----------------------------------------------------------------------------


class IceServer(_Model):
    """RTCIceServer as the browser's ``RTCPeerConnection`` constructor takes it."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class NoBackground(_Model):
    kind: Literal["none"] = "none"


class BlurBackground(_Model):
    kind: Literal["blur"] = "blur"
    strength: float = Field(default=0.5, ge=0.0, le=1.0)


class ColorBackground(_Model):
    kind: Literal["color"] = "color"
    rgb: tuple[
        Annotated[int, Field(ge=0, le=255)],
        Annotated[int, Field(ge=0, le=255)],
        Annotated[int, Field(ge=0, le=255)],
    ]


class ImageBackground(_Model):
    kind: Literal["image"] = "image"
    asset_id: int = Field(ge=1, lt=2**31)  # database ids are 32-bit


Background = Annotated[
    NoBackground | BlurBackground | ColorBackground | ImageBackground, Field(discriminator="kind")
]


class IceCandidate(_Model):
    """RTCIceCandidateInit as the browser's ``icecandidate`` event gives it."""

    model_config = ConfigDict(extra="ignore", frozen=True)  # browsers add usernameFragment etc.

    candidate: str = Field(max_length=2048)
    sdpMid: str | None = None
    sdpMLineIndex: int | None = None


class PartnerCard(_Model):
    """What an attendee sees about someone they meet or met."""

    ticket_id: int
    name: str
    headline: str | None = None
    company: str | None = None
    ticket_type: str


class Me(PartnerCard):
    is_admin: bool = False


class SessionInfo(_Model):
    id: int
    event_id: int
    title: str
    starts_at: float
    ends_at: float
    meeting_seconds: int
    status: Literal["upcoming", "live", "ended"]


class ExtendInfo(_Model):
    offered_by: Party | None = None  # an open offer; "partner" means the page shows "Accept"
    extensions_left: int
    window_opens_at: float  # when "Extend" becomes available (ends_at - extend window)


class ConnectionInfo(_Model):
    ticket_id: int  # the other attendee
    state: ConnectionStateName
    requested_by: Party


class MeetingInfo(_Model):
    meeting_id: str
    partner: PartnerCard
    started_at: float
    ends_at: float
    extend: ExtendInfo
    connection: ConnectionInfo | None = None
    partner_connected: bool = True
    partner_grace_until: float | None = None  # set while the partner is disconnected
    shared_interests: list[str] = []  # the interest tags both have (for the partner card)


class WaitingInfo(_Model):
    since: float
    eligible_waiting: int
    eligible_ending_soon: int
    estimated_wait_seconds: float | None = None
    reason: str | None = None


class MatchItem(_Model):
    partner: PartnerCard
    started_at: float
    ended_at: float | None = None
    seconds: float
    extensions: int = 0
    end_reason: EndReasonName | None = None
    connection: ConnectionInfo | None = None


# --- client -> server --------------------------------------------------------------------------


class _ClientMessage(_Model):
    id: str | None = Field(default=None, max_length=64)  # echoed as ``ref`` in a resulting error


class Hello(_ClientMessage):
    """Optional first message: states the protocol version; the server answers with ``welcome``.

    Sending it again at any time asks for a fresh ``welcome`` (the whole state).
    """

    type: Literal["hello"] = "hello"
    protocol: int = PROTOCOL_VERSION
    client: str | None = Field(default=None, max_length=200)


class Offer(_ClientMessage):
    type: Literal["offer"] = "offer"
    sdp: str = Field(max_length=MAX_SDP_CHARS)


class Answer(_ClientMessage):
    type: Literal["answer"] = "answer"
    sdp: str = Field(max_length=MAX_SDP_CHARS)


class Ice(_ClientMessage):
    """A trickled ICE candidate; ``candidate: null`` means end of candidates."""

    type: Literal["ice"] = "ice"
    candidate: IceCandidate | None = None


class Ready(_ClientMessage):
    type: Literal["ready"] = "ready"


class Unready(_ClientMessage):
    type: Literal["unready"] = "unready"


class Leave(_ClientMessage):
    """End the current meeting (for both); the attendee goes back to the ready screen (idle)."""

    type: Literal["leave"] = "leave"


class ExtendOffer(_ClientMessage):
    type: Literal["extend_offer"] = "extend_offer"


class ExtendAccept(_ClientMessage):
    type: Literal["extend_accept"] = "extend_accept"


class ExtendDecline(_ClientMessage):
    type: Literal["extend_decline"] = "extend_decline"


class ConnectRequest(_ClientMessage):
    """Request a connection; ``ticket_id`` null means the current partner, else a past partner."""

    type: Literal["connect_request"] = "connect_request"
    ticket_id: int | None = None


class ConnectAccept(_ClientMessage):
    type: Literal["connect_accept"] = "connect_accept"
    ticket_id: int | None = None


class Block(_ClientMessage):
    """Never meet this attendee again (ends the current meeting if it is with them)."""

    type: Literal["block"] = "block"
    ticket_id: int | None = None


class Report(_ClientMessage):
    type: Literal["report"] = "report"
    ticket_id: int | None = None
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


class SetBackground(_ClientMessage):
    """Choose a virtual background; ``preview`` true shows the attendee their own processed video
    (while the background settings are open) instead of the waiting slate."""

    type: Literal["set_background"] = "set_background"
    background: Background
    preview: bool | None = None  # null leaves the preview as it is


class Preview(_ClientMessage):
    """Open/close the background settings preview without changing the background."""

    type: Literal["preview"] = "preview"
    on: bool


class Ping(_ClientMessage):
    type: Literal["ping"] = "ping"


ClientMessage = Annotated[
    Hello
    | Offer
    | Answer
    | Ice
    | Ready
    | Unready
    | Leave
    | ExtendOffer
    | ExtendAccept
    | ExtendDecline
    | ConnectRequest
    | ConnectAccept
    | Block
    | Report
    | SetBackground
    | Preview
    | Ping,
    Field(discriminator="type"),
]


# --- server -> client --------------------------------------------------------------------------


class Welcome(_Model):
    """The attendee's whole state: sent on connect, on ``hello``, and enough to rebuild the page."""

    type: Literal["welcome"] = "welcome"
    protocol: int = PROTOCOL_VERSION
    server_time: float
    me: Me
    session: SessionInfo
    ice_servers: list[IceServer]
    state: AttendeeStateName
    meeting: MeetingInfo | None = None
    waiting: WaitingInfo | None = None
    connections: list[ConnectionInfo] = []
    matches: list[MatchItem] = []
    background: Background = NoBackground()
    preview: bool = False
    session_over: bool = False  # no new matches any more (the session's end has passed)


class State(_Model):
    type: Literal["state"] = "state"
    state: AttendeeStateName


class Matched(_Model):
    type: Literal["matched"] = "matched"
    meeting: MeetingInfo


class MeetingDeadline(_Model):
    type: Literal["meeting_deadline"] = "meeting_deadline"
    meeting_id: str
    ends_at: float


class ExtendOffered(_Model):
    type: Literal["extend_offered"] = "extend_offered"
    meeting_id: str
    by: Party


class ExtendAccepted(_Model):
    type: Literal["extend_accepted"] = "extend_accepted"
    meeting_id: str
    by: Party
    ends_at: float
    extensions_left: int


class ExtendDeclined(_Model):
    type: Literal["extend_declined"] = "extend_declined"
    meeting_id: str
    by: Party | None = None  # null: the offer lapsed


class Connection(_Model):
    type: Literal["connection"] = "connection"
    connection: ConnectionInfo
    partner: PartnerCard | None = None


class MeetingEnded(_Model):
    type: Literal["meeting_ended"] = "meeting_ended"
    meeting_id: str
    reason: EndReasonName
    left_by: Party | None = None
    ended_at: float
    match: MatchItem | None = None


class PartnerDisconnected(_Model):
    type: Literal["partner_disconnected"] = "partner_disconnected"
    meeting_id: str
    grace_until: float


class PartnerReconnected(_Model):
    type: Literal["partner_reconnected"] = "partner_reconnected"
    meeting_id: str


class Waiting(_Model):
    type: Literal["waiting"] = "waiting"
    waiting: WaitingInfo


class SessionEnded(_Model):
    type: Literal["session_ended"] = "session_ended"
    matches: list[MatchItem]


class BackgroundSet(_Model):
    type: Literal["background"] = "background"
    background: Background
    preview: bool


class Blocked(_Model):
    type: Literal["blocked"] = "blocked"
    ticket_id: int


class Reported(_Model):
    type: Literal["reported"] = "reported"
    ticket_id: int


class ServerAnswer(_Model):
    type: Literal["answer"] = "answer"
    sdp: str


class ServerOffer(_Model):
    type: Literal["offer"] = "offer"
    sdp: str


class ServerIce(_Model):
    type: Literal["ice"] = "ice"
    candidate: IceCandidate | None = None


class Error(_Model):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    ref: str | None = None  # the ``id`` of the client message that caused it
    fatal: bool = False  # the server closes the socket right after a fatal error


class Pong(_Model):
    type: Literal["pong"] = "pong"
    id: str | None = None
    server_time: float


ServerMessage = Annotated[
    Welcome
    | State
    | Matched
    | MeetingDeadline
    | ExtendOffered
    | ExtendAccepted
    | ExtendDeclined
    | Connection
    | MeetingEnded
    | PartnerDisconnected
    | PartnerReconnected
    | Waiting
    | SessionEnded
    | BackgroundSet
    | Blocked
    | Reported
    | ServerAnswer
    | ServerOffer
    | ServerIce
    | Error
    | Pong,
    Field(discriminator="type"),
]

_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


class ProtocolError(ValueError):
    """A message that does not follow the protocol; ``str()`` is a human-readable reason, ``ref`` the
    message's ``id`` when it could be read."""

    def __init__(self, reason: str, ref: str | None = None) -> None:
        super().__init__(reason)
        self.ref = ref


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_client(raw: str | bytes) -> ClientMessage:
    """Parse one client message; raises :class:`ProtocolError` with a readable reason (and the message's
    `id` as `ref`, when it has a usable one)."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message too large ({len(raw)} bytes, limit {MAX_MESSAGE_BYTES})")
    try:
        return _client_adapter.validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(_describe(exc), ref=_message_id(raw)) from None


def _message_id(raw: str | bytes) -> str | None:
    """The `id` of a message that failed validation, if it is a valid one (a string of at most 64)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def parse_server(raw: str | bytes) -> ServerMessage:
    """Parse one server message (used by the synthetic peer and tests)."""
    try:
        return _server_adapter.validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(_describe(exc)) from None


def dump(message: BaseModel) -> str:
    """Serialise a message for the wire (fields left at None are kept: explicit nulls)."""
    return message.model_dump_json()
