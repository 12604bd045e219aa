"""Closing an aiortc peer connection completely.

aioice starts its consent-freshness task when ICE connectivity checks complete. If the peer connection
is closed while the checks are finishing, `Connection.close()` runs before that task exists, the ICE
handshake then completes anyway and the task is left running for about 30 s (until consent "expires"),
after everything else is gone. So after closing we wait (briefly) for any handshake still in flight to
finish, then cancel and await leftover consent tasks: a closed peer connection owns nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiortc import RTCPeerConnection

from aio import cancel_and_wait

logger = logging.getLogger(__name__)

HANDSHAKE_WAIT_SECONDS = 2.0


async def close_peer_connection(pc: RTCPeerConnection) -> None:
    """`pc.close()`, then reap aioice consent tasks that outlived it. Safe to call twice."""
    await pc.close()
    ice_transports: list[Any] = []
    for transceiver in pc.getTransceivers():
        ice = getattr(transceiver.sender.transport, "transport", None)
        if ice is not None and all(ice is not seen for seen in ice_transports):
            ice_transports.append(ice)
    leftovers: list[asyncio.Task[None]] = []
    for ice in ice_transports:
        started = getattr(ice, "_RTCIceTransport__start", None)  # set once its handshake has finished
        if isinstance(started, asyncio.Event) and not started.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(started.wait(), HANDSHAKE_WAIT_SECONDS)
        task = getattr(getattr(ice, "_connection", None), "_query_consent_task", None)
        if isinstance(task, asyncio.Task) and not task.done():
            leftovers.append(task)
    if leftovers:
        logger.debug("reaped %d ICE consent task(s) left after close", len(leftovers))
        await cancel_and_wait(*leftovers)
