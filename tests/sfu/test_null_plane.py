from sfu import interface as mi
from sfu.null_plane import EMPTY_ANSWER, NullMediaPlane


async def test_it_answers_as_a_media_plane_without_media() -> None:
    plane = NullMediaPlane()
    assert isinstance(await plane.request(mi.AddPeer(peer="s1-t1")), mi.Ok)
    assert isinstance(await plane.request(mi.AddPeer(peer="s1-t1")), mi.Refused)
    await plane.request(mi.AddPeer(peer="s1-t2"))
    assert await plane.request(mi.AnswerOffer(peer="s1-t1", sdp="v=0")) == mi.Answered(sdp=EMPTY_ANSWER)
    assert isinstance(await plane.request(mi.Route(peer="s1-t1", to="partner", partner="s1-t2")), mi.Ok)
    refused = await plane.request(mi.Route(peer="s1-t1", to="partner", partner="s1-t9"))
    assert isinstance(refused, mi.Refused) and refused.code == "unknown_peer"
    assert await plane.request(mi.GetStats(peers=["s1-t1"])) == mi.Stats()
    await plane.request(mi.RemovePeer(peer="s1-t1"))
    refused = await plane.request(mi.AnswerOffer(peer="s1-t1", sdp="v=0"))
    assert isinstance(refused, mi.Refused) and refused.code == "unknown_peer"
    assert plane.peers == {"s1-t2"} and plane.commands == 9
