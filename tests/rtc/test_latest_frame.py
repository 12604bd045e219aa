"""LatestFrameSlot: keeps only the newest item, wakes readers, never queues."""

from __future__ import annotations

import asyncio

import pytest

from rtc.latest_frame import LatestFrameSlot, SlotClosed


async def test_reader_gets_only_the_newest_item_and_stale_ones_are_counted_as_dropped() -> None:
    slot: LatestFrameSlot[str] = LatestFrameSlot()
    for value in ("a", "b", "c"):
        slot.put(value)
    item = await slot.get(0)
    assert (item.seq, item.value) == (3, "c")
    assert slot.dropped == 2  # "a" and "b" were overwritten before anyone took them
    assert slot.latest_after(item.seq) is None


async def test_waiting_reader_wakes_on_put() -> None:
    slot: LatestFrameSlot[int] = LatestFrameSlot()
    reader = asyncio.create_task(slot.get(0), name="test-slot-reader")
    await asyncio.sleep(0)
    assert not reader.done()
    slot.put(7)
    item = await asyncio.wait_for(reader, 1.0)
    assert item.value == 7


async def test_several_readers_see_the_same_item_and_taken_counts_them() -> None:
    slot: LatestFrameSlot[int] = LatestFrameSlot()
    slot.put(1)
    first = slot.latest_after(0)
    second = slot.latest_after(0)
    assert first is second is not None
    assert second.taken == 2


async def test_cancelled_reader_does_not_break_other_readers() -> None:
    slot: LatestFrameSlot[int] = LatestFrameSlot()
    a = asyncio.create_task(slot.get(0), name="test-slot-a")
    b = asyncio.create_task(slot.get(0), name="test-slot-b")
    await asyncio.sleep(0)
    a.cancel()
    await asyncio.gather(a, return_exceptions=True)
    slot.put(5)
    assert (await asyncio.wait_for(b, 1.0)).value == 5


async def test_close_wakes_readers_with_slotclosed_after_the_last_item() -> None:
    slot: LatestFrameSlot[int] = LatestFrameSlot()
    slot.put(1)
    reader = asyncio.create_task(slot.get(1), name="test-slot-closed")
    await asyncio.sleep(0)
    slot.close()
    slot.close()  # twice is fine
    with pytest.raises(SlotClosed):
        await asyncio.wait_for(reader, 1.0)
    with pytest.raises(SlotClosed):
        slot.put(2)


async def test_fast_producer_slow_consumer_delay_stays_one_item() -> None:
    slot: LatestFrameSlot[int] = LatestFrameSlot()
    seen: list[int] = []

    async def produce() -> None:
        for i in range(1, 101):
            slot.put(i)
            await asyncio.sleep(0)
        slot.close()

    async def consume() -> None:
        last = 0
        try:
            while True:
                item = await slot.get(last)
                last = item.seq
                seen.append(item.value)
                await asyncio.sleep(0.001)  # slower than the producer
        except SlotClosed:
            pass

    await asyncio.gather(
        asyncio.create_task(produce(), name="test-produce"),
        asyncio.create_task(consume(), name="test-consume"),
    )
    assert seen[-1] == 100  # the newest always arrives
    assert len(seen) < 100  # and the backlog was skipped, not queued
    assert seen == sorted(seen)
