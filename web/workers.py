"""Local media workers: `speedmeet serve` without `--nats-url` runs `--workers N` worker processes on
this machine (default: one per CPU core it may use), each a supervised child (`web.supervisor`):
restarted with exponential backoff after a crash, stopped (SIGTERM, SIGKILL after a deadline,
awaited) when the control plane stops.

Worker ``local-<i>`` keeps its id across restarts (a restart shows as a new `instance` in its reports).
Each gets the bus's URL on its command line and the credential in its environment, never on the
command line (which every user of the machine can read).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence

from web.supervisor import Backoff, ChildProcess

logger = logging.getLogger(__name__)

# Command of one worker process, given its id.
WorkerCommand = Callable[[str], Sequence[str]]


def default_worker_count() -> int:
    """One worker per CPU core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_command(
    nats_url: str, extra_args: Sequence[str] = (), *, drain_seconds: float = 0
) -> WorkerCommand:
    """``python -m web.worker_cli --nats-url URL --worker-id ID --drain-seconds S ...``, with this
    Python. Local workers are stopped with the control plane, whose sessions end with it: by default
    they do not wait for meetings (`drain_seconds` 0)."""

    def command(worker_id: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "web.worker_cli",
            "--nats-url",
            nats_url,
            "--worker-id",
            worker_id,
            "--drain-seconds",
            f"{drain_seconds:g}",
            *extra_args,
        ]

    return command


def _argv(command: WorkerCommand, worker_id: str) -> Callable[[], Sequence[str]]:
    return lambda: command(worker_id)


class LocalWorkers:
    """See module docstring. `start()` once; `stop()` stops them all at once (safe twice)."""

    def __init__(
        self,
        count: int,
        command: WorkerCommand,
        *,
        env: Mapping[str, str] | None = None,
        backoff: Backoff | None = None,
        stop_seconds: float = 15.0,
        prefix: str = "local",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if count < 1:
            raise ValueError(f"at least one worker is needed, not {count}")
        environment = {**os.environ, **(env or {})}
        self.worker_ids = [f"{prefix}-{i}" for i in range(1, count + 1)]
        self.children = {
            worker_id: ChildProcess(
                f"worker {worker_id}",
                _argv(command, worker_id),
                env=environment,
                backoff=backoff,
                stop_seconds=stop_seconds,
                sleep=sleep,
            )
            for worker_id in self.worker_ids
        }

    @property
    def pids(self) -> dict[str, int | None]:
        return {worker_id: child.pid for worker_id, child in self.children.items()}

    async def start(self) -> None:
        """Start every worker (an OSError is raised if one cannot be, and the others are stopped)."""
        try:
            for child in self.children.values():
                await child.start()
        except BaseException:
            await self.stop()
            raise
        logger.info("started %d local media workers", len(self.children))

    async def stop(self) -> None:
        await asyncio.gather(*(child.stop() for child in self.children.values()))

    async def __aenter__(self) -> LocalWorkers:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
