"""A media plane that makes no media: it keeps track of its peers and answers every command as the real
one would, without peer connections. For measuring the control plane alone (its benchmark drives
thousands of signalling-only attendees) and for servers run with media elsewhere disabled."""

from __future__ import annotations

from sfu import interface as mi

# What an offer is answered with: a valid SDP body with no media sections (nothing is negotiated).
EMPTY_ANSWER = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


class NullMediaPlane:
    """Implements `sfu.interface.MediaPlane`; never emits events."""

    def __init__(self) -> None:
        self.peers: set[str] = set()
        self.commands = 0

    async def request(self, command: mi.Command) -> mi.Reply:
        self.commands += 1
        match command:
            case mi.AddPeer(peer=peer):
                if peer in self.peers:
                    return mi.Refused(code="peer_exists", message=f"peer {peer} exists")
                self.peers.add(peer)
            case mi.RemovePeer(peer=peer):
                self.peers.discard(peer)
            case mi.GetStats():
                return mi.Stats()
            case mi.Route(partner=partner) if partner is not None and partner not in self.peers:
                return mi.Refused(code="unknown_peer", message=f"no peer {partner}")
            case mi.AnswerOffer(peer=peer) | mi.Route(peer=peer) | mi.SetBackground(peer=peer):
                if peer not in self.peers:
                    return mi.Refused(code="unknown_peer", message=f"no peer {peer}")
                if isinstance(command, mi.AnswerOffer):
                    return mi.Answered(sdp=EMPTY_ANSWER)
        return mi.Ok()

    def add_listener(self, listener: mi.EventListener) -> None:
        """No events are ever sent."""
