"""Connecting to the bus: the NATS servers, credential and TLS options of a worker or control plane,
and one `connect` that applies the project's reconnection policy to them."""

from __future__ import annotations

import contextlib
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client

logger = logging.getLogger(__name__)

# Notice a dead connection within ~15 s (3 pings 5 s apart) and try again every second, for ever:
# a worker or control plane outlives a NATS restart.
PING_SECONDS = 5
MAX_OUTSTANDING_PINGS = 3
RECONNECT_SECONDS = 1


@dataclass(frozen=True, repr=False)
class BusSettings:
    """Where the bus is and how to log in. `servers` are NATS URLs (``nats://``, or ``tls://`` for
    TLS); several name the servers of one cluster. Give `user` and `password`, or `token`, or
    neither."""

    servers: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    token: str | None = None
    tls_ca: Path | None = None  # CA bundle that signed the servers' certificates
    tls_cert: Path | None = None  # client certificate and key, for servers that verify clients
    tls_key: Path | None = None
    name: str = "speedmeet"  # the connection's name in NATS monitoring

    def __post_init__(self) -> None:
        if not self.servers:
            raise ValueError("at least one NATS server URL is needed")
        for url in self.servers:
            if not url.startswith(("nats://", "tls://")):
                raise ValueError(f"not a NATS URL (nats://host:port or tls://host:port): {url!r}")
        if (self.user is None) != (self.password is None):
            raise ValueError("a NATS user needs a password, and a password a user")
        if self.token is not None and self.user is not None:
            raise ValueError("give a NATS user and password, or a token, not both")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("a TLS client certificate needs its key, and a key its certificate")

    def env(self) -> dict[str, str]:
        """The environment variables that give a worker process this login (never its command line,
        which every user of the machine can read)."""
        values = {
            "SPEEDMEET_NATS_USER": self.user,
            "SPEEDMEET_NATS_PASSWORD": self.password,
            "SPEEDMEET_NATS_TOKEN": self.token,
            "SPEEDMEET_NATS_TLS_CA": str(self.tls_ca) if self.tls_ca else None,
            "SPEEDMEET_NATS_TLS_CERT": str(self.tls_cert) if self.tls_cert else None,
            "SPEEDMEET_NATS_TLS_KEY": str(self.tls_key) if self.tls_key else None,
        }
        return {name: value for name, value in values.items() if value is not None}

    @staticmethod
    def parse_servers(text: str) -> tuple[str, ...]:
        """Comma-separated URLs, as in ``nats://a:4222,nats://b:4222``."""
        return tuple(part.strip() for part in text.split(",") if part.strip())

    @property
    def uses_tls(self) -> bool:
        return (
            self.tls_ca is not None
            or self.tls_cert is not None
            or any(url.startswith("tls://") for url in self.servers)
        )

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=str(self.tls_ca) if self.tls_ca else None)
        if self.tls_cert is not None and self.tls_key is not None:
            context.load_cert_chain(str(self.tls_cert), str(self.tls_key))
        return context

    def __repr__(self) -> str:  # never log a secret
        auth = "user" if self.user else "token" if self.token else "none"
        return f"BusSettings(servers={list(self.servers)!r}, auth={auth}, tls={self.uses_tls})"


async def _error(exc: Exception) -> None:
    logger.warning("NATS: %s", exc or type(exc).__name__)


async def _reconnected() -> None:
    logger.info("NATS: reconnected")


async def connect(settings: BusSettings, *, forever: bool = True) -> Client:
    """Connect, and re-connect after a lost connection, for ever by default (a worker may start before
    the bus, and outlives its restarts). With `forever=False` each server is tried twice, a second
    apart, and then the error is raised."""
    nc = Client()

    async def disconnected() -> None:
        if not nc.is_closed:  # closing calls it too
            logger.warning("NATS: disconnected; reconnecting")

    try:
        await nc.connect(
            servers=list(settings.servers),
            user=settings.user,
            password=settings.password,
            token=settings.token,
            tls=settings.tls_context(),
            name=settings.name,
            ping_interval=PING_SECONDS,
            max_outstanding_pings=MAX_OUTSTANDING_PINGS,
            reconnect_time_wait=RECONNECT_SECONDS,
            # nats-py: 0 would mean "for ever" too.
            max_reconnect_attempts=-1 if forever else 1,
            error_cb=_error,
            disconnected_cb=disconnected,
            reconnected_cb=_reconnected,
        )
    except BaseException:
        # A failed first connection leaves its socket open (nats-py): close it.
        with contextlib.suppress(Exception):
            await nc.close()
        raise
    return nc


async def settle(nc: Client, *, within: int = 10) -> None:
    """Return once the server has processed everything sent on `nc` so far (a new subscription is
    then in place). nats-py's `flush()` puts its PING ahead of commands not yet written, so one flush
    may come back before a fresh SUB was read; the PING of a second flush follows it."""
    await nc.flush(timeout=within)
    await nc.flush(timeout=within)
