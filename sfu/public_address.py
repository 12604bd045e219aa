"""The address browsers reach a media worker on, written into its SDP answers.

aiortc offers no way to announce an address other than the machine's own (no NAT 1:1 mapping option,
no way to restrict host candidates). A worker behind a 1:1 NAT (a cloud machine with a public
address in front of a private one) therefore rewrites its answers: every host candidate of the
public address's family, and the connection lines that name it, get the public address instead,
with the same port. Browsers send their checks to the public address; the NAT delivers them to the
private socket that the candidate's port belongs to, and ICE pairs them as usual.

The ports must then be forwarded one to one (same port outside and in), which is what a cloud 1:1 NAT
does. Behind any other NAT give the worker a STUN or TURN server instead (`--ice-server`).
"""

from __future__ import annotations

import ipaddress


def _family(address: str) -> int | None:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return None  # a host name or an mDNS .local name: left alone


def announce(sdp: str, public_ip: str) -> str:
    """`sdp` with its host candidates (and connection lines) of `public_ip`'s family moved to it."""
    family = _family(public_ip)
    if family is None:
        raise ValueError(f"not an IP address: {public_ip!r}")
    rewritten: set[str] = set()
    lines = sdp.split("\r\n") if "\r\n" in sdp else sdp.split("\n")
    out: list[str] = []
    for line in lines:
        if line.startswith("a=candidate:"):
            parts = line.split(" ")
            # a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
            if len(parts) >= 8 and parts[6] == "typ" and parts[7] == "host" and _family(parts[4]) == family:
                rewritten.add(parts[4])
                parts[4] = public_ip
                line = " ".join(parts)
        out.append(line)
    ip_word = f"IP{family}"
    for i, line in enumerate(out):
        if line.startswith("c=IN "):
            parts = line.split(" ")
            if len(parts) == 3 and parts[1] == ip_word and parts[2] in rewritten:
                out[i] = f"c=IN {ip_word} {public_ip}"
    return ("\r\n" if "\r\n" in sdp else "\n").join(out)


def valid_public_ip(text: str) -> bool:
    return _family(text) is not None
