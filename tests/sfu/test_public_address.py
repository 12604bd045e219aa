"""Host candidates of an SDP answer moved to the worker's public address."""

from __future__ import annotations

import pytest

from sfu.public_address import announce, valid_public_ip

ANSWER = "\r\n".join(
    [
        "v=0",
        "o=- 3912 3912 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "m=audio 40001 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 10.0.0.5",
        "a=candidate:a1 1 udp 2130706431 10.0.0.5 40001 typ host",
        "a=candidate:a2 1 udp 2130706431 172.17.0.1 40002 typ host",
        "a=candidate:a3 1 udp 2130706431 fd00::5 40003 typ host",
        "a=candidate:a4 1 udp 1694498815 198.51.100.2 40001 typ srflx raddr 10.0.0.5 rport 40001",
        "a=candidate:a5 1 udp 2130706431 4b1c.local 40004 typ host",
        "a=end-of-candidates",
        "m=video 40001 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 10.0.0.5",
        "",
    ]
)


def test_ipv4_host_candidates_and_connection_lines_move_to_the_public_address() -> None:
    out = announce(ANSWER, "203.0.113.7").split("\r\n")
    assert "a=candidate:a1 1 udp 2130706431 203.0.113.7 40001 typ host" in out
    assert "a=candidate:a2 1 udp 2130706431 203.0.113.7 40002 typ host" in out
    assert out.count("c=IN IP4 203.0.113.7") == 2
    # IPv6, server-reflexive and mDNS candidates, and the origin line, are left as they were.
    for kept in (
        "a=candidate:a3 1 udp 2130706431 fd00::5 40003 typ host",
        "a=candidate:a4 1 udp 1694498815 198.51.100.2 40001 typ srflx raddr 10.0.0.5 rport 40001",
        "a=candidate:a5 1 udp 2130706431 4b1c.local 40004 typ host",
        "o=- 3912 3912 IN IP4 0.0.0.0",
    ):
        assert kept in out
    assert len(out) == len(ANSWER.split("\r\n"))


def test_an_ipv6_public_address_moves_only_ipv6_candidates() -> None:
    out = announce(ANSWER, "2001:db8::7")
    assert "a=candidate:a3 1 udp 2130706431 2001:db8::7 40003 typ host" in out
    assert "a=candidate:a1 1 udp 2130706431 10.0.0.5 40001 typ host" in out


def test_plain_newlines_are_kept() -> None:
    sdp = "v=0\nc=IN IP4 10.0.0.5\na=candidate:1 1 udp 1 10.0.0.5 9 typ host\n"
    expected = "v=0\nc=IN IP4 192.0.2.1\na=candidate:1 1 udp 1 192.0.2.1 9 typ host\n"
    assert announce(sdp, "192.0.2.1") == expected


def test_the_public_address_must_be_an_address() -> None:
    assert valid_public_ip("192.0.2.1") and valid_public_ip("2001:db8::1")
    assert not valid_public_ip("meet.example.org")
    with pytest.raises(ValueError):
        announce(ANSWER, "meet.example.org")
