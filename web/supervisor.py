"""A supervised child process: started, restarted with exponential backoff when it exits on its own, and
stopped with SIGTERM, then SIGKILL after a deadline, always awaited.

The embedded NATS server (`web.nats_server`) and the local media workers (`web.workers`) run as
`ChildProcess`es. Each child runs in its own session (process group), so a Ctrl+C in the terminal
reaches only the control plane, which stops its children in order; on Linux a child is also killed if
the control plane dies without stopping it (no orphaned workers or NATS servers).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from aio import cancel_and_wait, logged_task

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts: `first`, then times `factor` after each quick exit, at most `longest`.
    A child that ran for `stable_after` seconds or more starts over from `first`."""

    first: float = 0.5
    factor: float = 2.0
    longest: float = 30.0
    stable_after: float = 30.0

    def __post_init__(self) -> None:
        if not (0 < self.first <= self.longest) or self.factor < 1 or self.stable_after < 0:
            raise ValueError(f"bad backoff {self!r}")

    def delay(self, quick_exits: int) -> float:
        """The delay after the `quick_exits`-th exit in a row (1 for the first)."""
        return min(self.longest, self.first * self.factor ** max(0, quick_exits - 1))


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook that makes the kernel SIGKILL the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the hook ran
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


class ChildProcess:
    """See module docstring. `argv()` is called for every (re)start, so it may change between them.
    `stdout`/`stderr` are inherited unless `output` is given: then every line the child writes is logged
    there (at DEBUG; lines that look like errors at WARNING). `start()` once; `stop()` is safe twice."""

    def __init__(
        self,
        name: str,
        argv: Callable[[], Sequence[str]],
        *,
        env: Mapping[str, str] | None = None,
        backoff: Backoff | None = None,
        stop_seconds: float = 10.0,
        output: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self._argv = argv
        self._env = dict(env) if env is not None else None
        self.backoff = backoff or Backoff()
        self.stop_seconds = stop_seconds
        self._output = output
        self._clock = clock
        self._sleep = sleep
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stopping = False
        self._started_at = 0.0
        self._spawned = asyncio.Event()  # set (and replaced) at every start
        self.starts = 0  # processes started so far
        self.exit_codes: list[int] = []  # of the processes that exited on their own, oldest first
        self.delays: list[float] = []  # the backoff delays waited before restarts, oldest first

    @property
    def pid(self) -> int | None:
        """The running child's process id (None between a crash and its restart, and after stop)."""
        p = self._process
        return p.pid if p is not None and p.returncode is None else None

    async def start(self) -> None:
        """Start the child (an OSError, such as a missing program, is raised here) and supervise it."""
        if self._supervisor is not None or self._stopping:
            raise RuntimeError(f"{self.name} was already started")
        await self._spawn()
        self._supervisor = logged_task(self._supervise(), name=f"supervise-{self.name}", log=logger)

    async def stop(self) -> int | None:
        """Stop restarting, then end the child: SIGTERM, and SIGKILL to its process group if it is still
        there after `stop_seconds`. Returns its exit code (None if none was running)."""
        self._stopping = True
        await cancel_and_wait(self._supervisor)
        process, self._process = self._process, None
        code = await self._terminate(process) if process is not None else None
        await cancel_and_wait(self._reader)
        return code

    async def wait_started(self, count: int) -> None:
        """Wait until `count` processes have been started (tests and start-up checks)."""
        while self.starts < count:
            await self._spawned.wait()

    # --- inside ----------------------------------------------------------------------------------

    async def _spawn(self) -> None:
        await cancel_and_wait(self._reader)
        piped = asyncio.subprocess.PIPE if self._output is not None else None
        self._process = await asyncio.create_subprocess_exec(
            *self._argv(),
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=piped,
            stderr=asyncio.subprocess.STDOUT if piped is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        self.starts += 1
        self._started_at = self._clock()
        self._spawned.set()
        self._spawned = asyncio.Event()
        logger.debug("%s started (pid %d)", self.name, self._process.pid)
        if self._output is not None and self._process.stdout is not None:
            self._reader = logged_task(
                self._forward(self._process.stdout, self._output), name=f"output-{self.name}", log=logger
            )

    async def _forward(self, stream: asyncio.StreamReader, log: logging.Logger) -> None:
        while line := await stream.readline():  # until the child's end closes the pipe
            text = line.decode(errors="replace").rstrip()
            level = logging.WARNING if ("[ERR]" in text or "[FTL]" in text) else logging.DEBUG
            log.log(level, "%s: %s", self.name, text)

    async def _supervise(self) -> None:
        quick_exits = 0
        while True:
            process = self._process
            if process is not None:
                code = await process.wait()
                self._process = None
                self.exit_codes.append(code)
                ran = self._clock() - self._started_at
                quick_exits = 1 if ran >= self.backoff.stable_after else quick_exits + 1
                what = f"exited with code {code}"
            else:  # the last start failed
                quick_exits += 1
                what = "could not be started"
            delay = self.backoff.delay(quick_exits)
            logger.warning("%s %s; restarting in %.1f s", self.name, what, delay)
            self.delays.append(delay)
            await self._sleep(delay)
            try:
                await self._spawn()
            except OSError as exc:
                logger.error("%s could not be started: %s", self.name, exc)
                self._process = None

    async def _terminate(self, process: asyncio.subprocess.Process) -> int:
        if process.returncode is not None:
            return process.returncode
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(self.stop_seconds):
                return await process.wait()
        except TimeoutError:
            logger.warning("%s did not stop within %.0f s: killing it", self.name, self.stop_seconds)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        return await process.wait()
