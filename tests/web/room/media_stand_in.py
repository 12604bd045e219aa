"""A recording stand-in for the media interface (`sfu.interface.MediaPlane`, a documented contract):
it answers every command as a media plane would, records them in order, and emits events on demand."""

from __future__ import annotations

from typing import TypeVar

from sfu import interface as mi

T = TypeVar("T")


class RecordingMediaPlane:
    def __init__(self) -> None:
        self.commands: list[mi.Command] = []
        self.peers: set[str] = set()
        self.listeners: list[mi.EventListener] = []
        self.refuse: dict[str, mi.Refused] = {}  # command type -> the refusal to answer it with

    async def request(self, command: mi.Command) -> mi.Reply:
        self.commands.append(command)
        refusal = self.refuse.get(command.type)
        if refusal is not None:
            return refusal
        match command:
            case mi.AddPeer(peer=peer):
                if peer in self.peers:
                    return mi.Refused(code="peer_exists", message=f"peer {peer} exists")
                self.peers.add(peer)
            case mi.RemovePeer(peer=peer):
                self.peers.discard(peer)
            case mi.GetStats(peers=peers):
                return mi.Stats(peer_connections=len(peers), video_frames_in=10, video_frames_out=20)
            case mi.AnswerOffer(peer=peer, sdp=sdp):
                if peer not in self.peers:
                    return mi.Refused(code="unknown_peer", message=f"no peer {peer}")
                return mi.Answered(sdp=f"answer to {sdp}")
            case mi.Route(peer=peer, partner=partner):
                if peer not in self.peers or (partner is not None and partner not in self.peers):
                    return mi.Refused(code="unknown_peer", message="no such peer")
        return mi.Ok()

    def add_listener(self, listener: mi.EventListener) -> None:
        self.listeners.append(listener)

    def emit(self, event: mi.MediaEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def of_type(self, kind: type[T]) -> list[T]:
        return [c for c in self.commands if isinstance(c, kind)]

    def routes(self, peer: str) -> list[mi.Route]:
        return [c for c in self.commands if isinstance(c, mi.Route) and c.peer == peer]
