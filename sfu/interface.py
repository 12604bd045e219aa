"""The media interface: the only way the control plane drives the media plane (docs/media.md).

The control plane (`web`) names each attendee's media by a *peer id* it chooses (unique in the media
plane, e.g. ``s12-t345``: session 12, ticket 345) and sends **commands**; each command gets one **reply**.
The media plane sends **events** on its own. Every model here is plain data (no object references), so
the same messages can cross a process or machine boundary unchanged: `dump()` and the `parse_*`
functions are their JSON form.

A peer lives from `AddPeer` to `RemovePeer`: its sources (the attendee's decoded, processed video and
their audio), its background and its route outlive peer connections, so an attendee who reloads the page
(a new offer) keeps feeding the sources their partner already receives. `ClosePeerConnection` drops the
peer connection alone (the socket went away; the attendee may come back within the grace period).

Commands addressed to one peer are carried out in the order they are sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from wire.protocol import MAX_SDP_CHARS, Background, IceCandidate, NoBackground

MEDIA_INTERFACE_VERSION = 1

PeerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- commands -------------------------------------------------------------------------------------


class AddPeer(_Model):
    """Make a peer (its sources start empty; the outgoing route is the slate). Adding an existing peer
    is refused (`peer_exists`)."""

    type: Literal["add_peer"] = "add_peer"
    peer: PeerId
    label: str = Field(default="", max_length=200)  # for logs


class AnswerOffer(_Model):
    """Answer the attendee's SDP offer with a fresh peer connection (replacing the current one only once
    the new offer has been applied); the reply is `Answered`. The peer's route applies to it at once."""

    type: Literal["answer_offer"] = "answer_offer"
    peer: PeerId
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)


class AddIceCandidate(_Model):
    """A trickled ICE candidate from the attendee (None: end of candidates)."""

    type: Literal["add_ice_candidate"] = "add_ice_candidate"
    peer: PeerId
    candidate: IceCandidate | None = None


RouteTarget = Literal["slate", "preview", "partner"]


class Route(_Model):
    """What the peer's outgoing tracks carry from now on: the waiting slate and silence, the attendee's
    own processed video without audio (background preview), or `partner`'s video and audio."""

    type: Literal["route"] = "route"
    peer: PeerId
    to: RouteTarget
    partner: PeerId | None = None

    @model_validator(mode="after")
    def _partner_with_partner(self) -> Route:
        if (self.to == "partner") != (self.partner is not None):
            raise ValueError("a partner is named exactly when routing to a partner")
        if self.partner == self.peer:
            raise ValueError("a peer cannot be routed to itself")
        return self


class SetBackground(_Model):
    """The virtual background run on the peer's video. For an image background the control plane has
    checked the asset and names its stored file in `image` (the media plane only reads it)."""

    type: Literal["set_background"] = "set_background"
    peer: PeerId
    background: Background = Field(default_factory=NoBackground)
    # A bare file name: no folders, and no leading dot (".", ".." or a hidden file).
    image: str | None = Field(default=None, max_length=255, pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")

    @model_validator(mode="after")
    def _image_with_an_image_background(self) -> SetBackground:
        if self.image is not None and self.background.kind != "image":
            raise ValueError("an image file is named only for an image background")
        return self


class ClosePeerConnection(_Model):
    """Close the peer's peer connection (if any); sources, background and route stay."""

    type: Literal["close_peer_connection"] = "close_peer_connection"
    peer: PeerId


class RemovePeer(_Model):
    """Close the peer connection and free the peer's sources and effect. Unknown peers are fine."""

    type: Literal["remove_peer"] = "remove_peer"
    peer: PeerId


class GetStats(_Model):
    """Media counts over the named peers (the organiser's live view); the reply is `Stats`."""

    type: Literal["get_stats"] = "get_stats"
    peers: list[PeerId] = Field(default_factory=list, max_length=100_000)


Command = Annotated[
    AddPeer
    | AnswerOffer
    | AddIceCandidate
    | Route
    | SetBackground
    | ClosePeerConnection
    | RemovePeer
    | GetStats,
    Field(discriminator="type"),
]


# --- replies --------------------------------------------------------------------------------------


class Ok(_Model):
    type: Literal["ok"] = "ok"


class Answered(_Model):
    type: Literal["answered"] = "answered"
    sdp: str


class Stats(_Model):
    type: Literal["stats"] = "stats"
    peer_connections: int = 0  # peer connections in state "connected"
    video_frames_in: int = 0  # video frames received from the attendees
    video_frames_out: int = 0  # video frames sent to the attendees


RefusalCode = Literal[
    "unknown_peer",  # no such peer (never added, or removed)
    "peer_exists",  # AddPeer for a peer that exists
    "negotiation_failed",  # the offer or candidate could not be applied
    "background_unavailable",  # the background cannot be used (unreadable image, bad setting)
    "effects_off",  # backgrounds are off on this media plane
    "no_capacity",  # AddPeer: no media worker has room for another attendee now
    "bad_command",  # not a valid command (only across a process boundary)
    "internal",  # the media plane failed
]


class Refused(_Model):
    """The command was not carried out; `message` says why in the attendee's terms."""

    type: Literal["refused"] = "refused"
    code: RefusalCode
    message: str


Reply = Annotated[Ok | Answered | Stats | Refused, Field(discriminator="type")]


# --- events ---------------------------------------------------------------------------------------


PeerConnectionState = Literal["connected", "failed", "closed", "silent"]


class PeerStateChanged(_Model):
    """The peer's current peer connection is up (`connected`: also when media flows again after
    `silent`), failed (ICE failure or consent lost), was closed by the remote side, or is `silent`: up,
    but no media has arrived for a few seconds (the attendee's network went quiet). Not sent for
    connections closed by a command."""

    type: Literal["peer_state"] = "peer_state"
    peer: PeerId
    state: PeerConnectionState


class FirstFrame(_Model):
    """The first frame of a kind arrived on the peer's current peer connection."""

    type: Literal["first_frame"] = "first_frame"
    peer: PeerId
    kind: Literal["audio", "video"]


class Load(_Model):
    """The media plane's load, every few seconds."""

    type: Literal["load"] = "load"
    worker: str
    peers: int
    peers_with_effects: int
    cpu_seconds: float  # process CPU seconds so far
    loop_busy: float = Field(ge=0.0)  # share of the last interval the event loop was busy (0..1+)


MediaEvent = Annotated[PeerStateChanged | FirstFrame | Load, Field(discriminator="type")]


# --- the interface --------------------------------------------------------------------------------

EventListener = Callable[[MediaEvent], None]


class MediaPlane(Protocol):
    """What the control plane holds: an in-process media plane or a client of remote ones."""

    async def request(self, command: Command) -> Reply:
        """Carry out one command; never raises for a refused command (see `Refused`)."""
        ...

    def add_listener(self, listener: EventListener) -> None:
        """Call `listener` with every event from now on (on the event loop; it must not block)."""
        ...


class MediaError(Exception):
    """A command was refused (see `Refused`); raised by callers that need the command to succeed."""

    def __init__(self, refusal: Refused) -> None:
        super().__init__(refusal.message)
        self.code: RefusalCode = refusal.code
        self.message = refusal.message


_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)
_REPLY: TypeAdapter[Reply] = TypeAdapter(Reply)
_EVENT: TypeAdapter[MediaEvent] = TypeAdapter(MediaEvent)


def dump(message: BaseModel) -> bytes:
    return message.model_dump_json().encode()


def parse_command(raw: str | bytes) -> Command:
    return _COMMAND.validate_json(raw)


def parse_reply(raw: str | bytes) -> Reply:
    return _REPLY.validate_json(raw)


def parse_event(raw: str | bytes) -> MediaEvent:
    return _EVENT.validate_json(raw)
