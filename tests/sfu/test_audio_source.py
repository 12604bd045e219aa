"""AudioSource: fans out to bounded per-receiver queues; a slow receiver loses old audio, not time."""

from __future__ import annotations

import asyncio

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from sfu_testing import wait_until

from sfu.audio_source import AUDIO_QUEUE_FRAMES, AudioQueue, AudioSource


class QueueAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[av.AudioFrame | None] = asyncio.Queue()

    async def recv(self) -> av.AudioFrame:
        frame = await self.queue.get()
        if frame is None:
            raise MediaStreamError
        return frame


def chunk(value: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.full((1, 1920), value, dtype=np.int16), format="s16", layout="stereo"
    )
    frame.sample_rate = 48000
    return frame


def test_queue_drops_oldest_beyond_its_bound() -> None:
    queue = AudioQueue(maxlen=3)
    for value in range(5):
        queue.put(chunk(value))
    assert len(queue) == 3 and queue.dropped == 2
    first = queue.pop()
    assert first is not None and first.to_ndarray()[0, 0] == 2


async def test_each_receiver_gets_every_frame_as_its_own_object() -> None:
    source = AudioSource("a")
    track = QueueAudioTrack()
    q1, q2 = source.subscribe(), source.subscribe()
    await source.attach(track)
    try:
        track.queue.put_nowait(chunk(9))
        await asyncio.wait_for(q2.changed(), 1.0)
        f1, f2 = q1.pop(), q2.pop()
        assert f1 is not None and f2 is not None and f1 is not f2
        assert f1.to_ndarray()[0, 0] == f2.to_ndarray()[0, 0] == 9
        source.unsubscribe(q2)
        assert source.consumers == 1
    finally:
        await source.close()
        await source.close()


async def test_frames_nobody_reads_do_not_pile_up() -> None:
    source = AudioSource("b")
    track = QueueAudioTrack()
    queue = source.subscribe()
    await source.attach(track)
    try:
        for value in range(50):
            track.queue.put_nowait(chunk(value))
        await wait_until(lambda: source.frames_in == 50)
        assert track.queue.qsize() == 0  # the remote track is always drained
        assert len(queue) == AUDIO_QUEUE_FRAMES
    finally:
        await source.close()


async def test_receivers_of_relayed_opus_get_decoded_audio_only_when_it_came_in_another_codec() -> None:
    source = AudioSource("c")
    track = QueueAudioTrack()
    relayed, decoded = source.subscribe(relayed=True), source.subscribe()
    assert source.relay.decode  # someone needs decoded audio
    await source.attach(track)
    try:
        # No Opus seen (say the sender uses PCMU): everyone gets the decoded audio.
        track.queue.put_nowait(chunk(1))
        await wait_until(lambda: source.frames_in == 1)
        assert len(relayed) == len(decoded) == 1
        # Opus arrives: the relayed receiver has it already, and must not get it twice.
        source.relay.push(b"\xfc\xff\xfe")  # an Opus packet (CELT, 20 ms)
        track.queue.put_nowait(chunk(2))
        await wait_until(lambda: source.frames_in == 2)
        assert (len(relayed), len(decoded)) == (1, 2)
        source.unsubscribe(decoded)
        assert not source.relay.decode  # only relayed receivers left: no decoding
    finally:
        await source.close()
