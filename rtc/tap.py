"""A look at every complete encoded frame an aiortc receiver reassembles, before its decoder gets it.

aiortc's `RTCRtpReceiver` hands each reassembled frame to its decoder thread through a plain
`queue.Queue`. `tap_receiver` swaps that queue for a `TappedQueue` before the receiver starts (aiortc
creates the decoder thread with the queue it finds in `RTCRtpReceiver.receive()`), and the queue's tap
sees every frame on its way in and says whether it goes on to the decoder. The relay forwards encoded
frames this way without decoding them; a load generator counts received audio without decoding it.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver

logger = logging.getLogger(__name__)

# Private attributes of aiortc's receiver that the tap relies on.
_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"


class TappedQueue(queue.Queue[Any]):
    """aiortc's decoder queue, with a look at every complete encoded frame on its way in; `tap` says
    whether the frame goes on to the decoder.

    `put()` runs on the event-loop thread (aiortc's receiver calls it from `_handle_rtp_packet`), so the
    tap may touch asyncio objects; the decoder thread only ever calls `get()`.
    """

    def __init__(self, tap: Callable[[Any, Any], bool]) -> None:
        super().__init__()
        self._tap = tap

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is not None:
            codec, encoded_frame = item
            try:
                decode = self._tap(codec, encoded_frame)
            except Exception:
                logger.exception("receiver tap failed; the frame still goes to the decoder")
                decode = True
            if not decode:
                return
        super().put(item, block, timeout)

    def drop_backlog(self) -> int:
        """Throw away the frames still waiting for the decoder; returns how many."""
        with self.mutex:
            dropped = len(self.queue)
            self.queue.clear()
        return dropped


def tap_receiver(receiver: RTCRtpReceiver, tapped: TappedQueue) -> None:
    """Make `tapped` the decoder queue of `receiver`, which must not be receiving yet (aiortc starts its
    decoder thread with the queue it finds when the peer connection starts receiving)."""
    current = getattr(receiver, _DECODER_QUEUE, None)
    if not isinstance(current, queue.Queue) or getattr(receiver, _DECODER_THREAD, None):
        raise RuntimeError("cannot tap this aiortc receiver: unknown layout or already receiving")
    setattr(receiver, _DECODER_QUEUE, tapped)
