"""LoopMonitor: the lag of a blocked loop, the CPU time of the loop's own thread only, window summaries,
and an owned task that stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from aio import LoopMonitor, LoopSample, LoopWindow


def _block_loop(seconds: float) -> None:
    """Hold the event loop, as a blocking call on it would."""
    time.sleep(seconds)


def _spin(seconds: float) -> None:
    """Use CPU on the calling thread for `seconds` of its own CPU time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def test_a_blocked_loop_shows_as_lag_and_as_a_window_summary() -> None:
    samples: list[LoopSample] = []
    monitor = LoopMonitor(samples.append, interval=0.02, window=0.2, name="test-loop-monitor")
    monitor.start()
    try:
        await asyncio.sleep(0.05)
        assert any(t.get_name() == "test-loop-monitor" for t in asyncio.all_tasks())
        _block_loop(0.15)
        await asyncio.sleep(0.3)
    finally:
        await monitor.stop()
    assert max(s.lag for s in samples) >= 0.12
    windows = [s.window for s in samples if s.window is not None]
    assert windows and monitor.last_window == windows[-1]
    assert max(w.worst_lag for w in windows) == max(s.lag for s in samples)
    assert all(w.seconds >= 0.2 and 0.0 <= w.busy_share <= 1.0 for w in windows)


async def test_cpu_counts_the_loop_thread_only() -> None:
    samples: list[LoopSample] = []
    monitor = LoopMonitor(samples.append, interval=0.02)
    monitor.start()

    def used() -> float:
        return sum(s.cpu_seconds for s in samples)

    try:
        await asyncio.sleep(0.05)
        before = used()
        await asyncio.get_running_loop().run_in_executor(None, _spin, 0.5)  # another thread's CPU
        await asyncio.sleep(0.05)
        middle = used()
        _spin(0.3)  # the loop's own thread, busy
        await asyncio.sleep(0.05)
        after = used()
    finally:
        await monitor.stop()
    assert middle - before < 0.2
    assert after - middle >= 0.28


async def test_the_busy_share_tells_a_busy_loop_thread_from_an_idle_one() -> None:
    windows: list[LoopWindow] = []

    def keep(sample: LoopSample) -> None:
        if sample.window is not None:
            windows.append(sample.window)

    monitor = LoopMonitor(keep, interval=0.01, window=0.3)
    monitor.start()
    try:
        await asyncio.sleep(0.65)
        idle = list(windows)
        for _ in range(40):  # busy on the loop's thread, with a tick now and then
            _spin(0.02)
            await asyncio.sleep(0)
        busy = windows[len(idle) :]
    finally:
        await monitor.stop()
    assert idle and busy
    # Idle: a few microseconds a tick. Busy: all of it (less on a crowded machine, never near idle).
    assert max(w.busy_share for w in idle) < 0.2
    assert max(w.busy_share for w in busy) > 0.3


async def test_stop_is_safe_twice_and_start_once() -> None:
    monitor = LoopMonitor(lambda sample: None, interval=0.01)
    monitor.start()
    monitor.start()  # already running: no second task
    await asyncio.sleep(0.05)
    assert monitor.running
    await monitor.stop()
    await monitor.stop()
    assert not monitor.running


async def test_a_failing_callback_is_logged_and_ends_the_monitor(caplog: pytest.LogCaptureFixture) -> None:
    def broken(sample: LoopSample) -> None:
        raise RuntimeError("cannot record")

    monitor = LoopMonitor(broken, interval=0.01, name="broken-monitor")
    with caplog.at_level(logging.ERROR, logger="aio.loop_monitor"):
        monitor.start()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if not monitor.running:
                break
    await monitor.stop()
    assert "task broken-monitor crashed" in caplog.text


def test_interval_and_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LoopMonitor(lambda sample: None, interval=0)
    with pytest.raises(ValueError, match="positive"):
        LoopMonitor(lambda sample: None, window=-1)
