"""The media interface's models: what they accept, and their JSON form (every message comes back from
it unchanged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from sfu.interface import (
    AddIceCandidate,
    AddPeer,
    Answered,
    AnswerOffer,
    ClosePeerConnection,
    FirstFrame,
    GetStats,
    Load,
    MediaError,
    Ok,
    PeerStateChanged,
    Refused,
    RemovePeer,
    Route,
    SetBackground,
    Stats,
    dump,
    parse_command,
    parse_event,
    parse_reply,
)
from wire import protocol as p

COMMANDS: list[BaseModel] = [
    AddPeer(peer="s12-t345", label="Ada Lovelace"),
    AddPeer(peer="a"),
    AnswerOffer(peer="s1-t2", sdp="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"),
    AddIceCandidate(peer="s1-t2"),
    AddIceCandidate(
        peer="s1-t2",
        candidate=p.IceCandidate(
            candidate="candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", sdpMid="0", sdpMLineIndex=0
        ),
    ),
    Route(peer="s1-t2", to="slate"),
    Route(peer="s1-t2", to="preview"),
    Route(peer="s1-t2", to="partner", partner="s1-t3"),
    SetBackground(peer="s1-t2"),
    SetBackground(peer="s1-t2", background=p.BlurBackground(strength=0.25)),
    SetBackground(peer="s1-t2", background=p.ColorBackground(rgb=(1, 2, 3))),
    SetBackground(peer="s1-t2", background=p.ImageBackground(asset_id=9), image="Zq-4_x.webp"),
    SetBackground(peer="s1-t2", background=p.ImageBackground(asset_id=9)),
    ClosePeerConnection(peer="s1-t2"),
    RemovePeer(peer="s1-t2"),
    GetStats(),
    GetStats(peers=["s1-t2", "s1-t3"]),
]
REPLIES: list[BaseModel] = [
    Ok(),
    Answered(sdp="v=0\r\n"),
    Stats(),
    Stats(peer_connections=2, video_frames_in=300, video_frames_out=290),
    Refused(code="unknown_peer", message="No media peer 'x'"),
    Refused(code="effects_off", message="Virtual backgrounds are off on this server"),
]
EVENTS: list[BaseModel] = [
    PeerStateChanged(peer="s1-t2", state="connected"),
    PeerStateChanged(peer="s1-t2", state="failed"),
    PeerStateChanged(peer="s1-t2", state="closed"),
    FirstFrame(peer="s1-t2", kind="audio"),
    FirstFrame(peer="s1-t2", kind="video"),
    Load(worker="local", peers=10, peers_with_effects=3, cpu_seconds=12.5, loop_busy=0.4),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.type)
def test_every_command_comes_back_from_its_json_form_unchanged(command: BaseModel) -> None:
    raw = dump(command)
    assert isinstance(raw, bytes) and json.loads(raw)["type"] == command.type  # type: ignore[attr-defined]
    assert parse_command(raw) == command
    assert parse_command(raw.decode()) == command


@pytest.mark.parametrize("reply", REPLIES, ids=lambda r: r.type)
def test_every_reply_comes_back_from_its_json_form_unchanged(reply: BaseModel) -> None:
    assert parse_reply(dump(reply)) == reply


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.type)
def test_every_event_comes_back_from_its_json_form_unchanged(event: BaseModel) -> None:
    assert parse_event(dump(event)) == event


def test_each_kind_of_message_is_only_parsed_as_that_kind() -> None:
    with pytest.raises(ValidationError):
        parse_command(dump(Ok()))
    with pytest.raises(ValidationError):
        parse_reply(dump(RemovePeer(peer="a")))
    with pytest.raises(ValidationError):
        parse_event(dump(AddPeer(peer="a")))


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "add_peer", "peer": "a", "extra": 1}',  # unknown field
        '{"type": "launch", "peer": "a"}',  # unknown command
        '{"peer": "a"}',  # no type
        '{"type": "answer_offer", "peer": "a", "sdp": ""}',
        '{"type": "get_stats", "peers": "a"}',
        "not json",
    ],
)
def test_malformed_commands_are_refused_by_the_parser(raw: str) -> None:
    with pytest.raises(ValidationError):
        parse_command(raw)


@pytest.mark.parametrize("peer", ["s12-t345", "a", "a.b:c_D-9", "x" * 64])
def test_peer_ids_of_letters_digits_and_separators_are_taken(peer: str) -> None:
    assert RemovePeer(peer=peer).peer == peer


@pytest.mark.parametrize("peer", ["", "a b", "a/b", "é", "x" * 65, "a\n"])
def test_other_peer_ids_are_refused(peer: str) -> None:
    with pytest.raises(ValidationError):
        RemovePeer(peer=peer)


def test_a_route_names_a_partner_exactly_when_it_goes_to_one_and_never_the_peer_itself() -> None:
    with pytest.raises(ValidationError, match="partner is named"):
        Route(peer="a", to="partner")
    with pytest.raises(ValidationError, match="partner is named"):
        Route(peer="a", to="slate", partner="b")
    with pytest.raises(ValidationError, match="itself"):
        Route(peer="a", to="partner", partner="a")
    with pytest.raises(ValidationError):
        Route(peer="a", to="somewhere")  # type: ignore[arg-type]


@pytest.mark.parametrize("image", ["../secret", "a/b.png", "..", ".", ".hidden.png", "a b.png", "x" * 256])
def test_an_image_is_a_bare_file_name(image: str) -> None:
    with pytest.raises(ValidationError):
        SetBackground(peer="a", background=p.ImageBackground(asset_id=1), image=image)


def test_an_image_file_goes_only_with_an_image_background() -> None:
    with pytest.raises(ValidationError, match="only for an image background"):
        SetBackground(peer="a", background=p.BlurBackground(), image="x.png")


def test_messages_are_frozen_and_figures_are_checked() -> None:
    route = Route(peer="a", to="slate")
    with pytest.raises(ValidationError):
        route.to = "preview"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Load(worker="w", peers=0, peers_with_effects=0, cpu_seconds=0.0, loop_busy=-0.1)
    with pytest.raises(ValidationError):
        Refused(code="no_such_code", message="?")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        GetStats(peers=["a"] * 100_001)


def test_a_media_error_carries_the_refusal() -> None:
    error = MediaError(Refused(code="negotiation_failed", message="bad offer"))
    assert error.code == "negotiation_failed" and error.message == "bad offer" and str(error) == "bad offer"


def test_the_interface_loads_no_media_stack() -> None:
    """The control plane imports the interface (and the package) without aiortc, PyAV or OpenCV."""
    code = (
        "import sys, sfu, sfu.interface; "
        "loaded = {'aiortc', 'av', 'cv2', 'aiohttp', 'web', 'matcher', 'sqlalchemy'} & "
        "{name.split('.')[0] for name in sys.modules}; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=Path(__file__).parents[2])
