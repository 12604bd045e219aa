"""How busy an event loop is: how late it runs a short timer, and the CPU time of its thread.

A timer due every `interval` seconds that fires late means callbacks (frame handling, signalling) waited
that long for the loop: the first sign of an overloaded process. The loop's thread runs everything that
cannot be handed to another thread (in the media plane: all of aiortc's per-packet work, SRTP, RTP,
RTCP, sockets): once it uses a whole CPU second per second, the process is full however many cores are
idle.

`LoopMonitor` measures both from an owned task on the loop it watches and hands each measurement to a
callback; every `window` seconds a sample also carries the window's summary (worst lag, busy share), what
a process reports about its own load. It knows nothing of how the figures are shown (Prometheus, a load
report).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aio.tasks import cancel_and_wait, logged_task

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.1
WINDOW_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class LoopWindow:
    """The loop over the last window: its worst lag, and the share of wall time its thread was on a CPU
    (1.0: the loop's thread is full)."""

    seconds: float
    worst_lag: float
    busy_share: float


@dataclass(frozen=True, slots=True)
class LoopSample:
    """One tick: how late the timer fired, the CPU seconds the loop's thread used since the last tick, and,
    on the tick that closes a window, that window's summary."""

    lag: float
    cpu_seconds: float
    window: LoopWindow | None = None


class LoopMonitor:
    """Measures the running loop every `interval` seconds into `on_sample` (see module docstring).
    `start()` on the loop to watch; `stop()` cancels and awaits the task (safe to call twice)."""

    def __init__(
        self,
        on_sample: Callable[[LoopSample], None],
        *,
        interval: float = INTERVAL_SECONDS,
        window: float = WINDOW_SECONDS,
        name: str = "loop-monitor",
    ) -> None:
        if not interval > 0 or not window > 0:
            raise ValueError(f"interval and window must be positive, got {interval!r} and {window!r}")
        self._on_sample = on_sample
        self._interval = interval
        self._window = window
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self.last_window: LoopWindow | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = logged_task(self._run(), name=self._name, log=logger)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        cpu = time.thread_time()  # this task runs on the loop's thread
        window_start, window_cpu, window_max = loop.time(), 0.0, 0.0
        while True:
            due = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            now = loop.time()
            cpu_before, cpu = cpu, time.thread_time()
            used = max(0.0, cpu - cpu_before)
            lag = max(0.0, now - due)
            window_cpu += used
            window_max = max(window_max, lag)
            window = None
            if now - window_start >= self._window:
                seconds = now - window_start
                window = LoopWindow(seconds, window_max, min(1.0, window_cpu / seconds))
                self.last_window = window
                window_start, window_cpu, window_max = now, 0.0, 0.0
            self._on_sample(LoopSample(lag, used, window))
