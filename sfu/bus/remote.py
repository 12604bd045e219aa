"""The control plane's side of the bus: `RemoteMediaPlane` drives one media worker over NATS and is a
`sfu.interface.MediaPlane` like the in-process plane.

A command is a NATS request on the worker's command subject. It never raises: a worker that is not
there (no responder), one that does not answer within `timeout`, a lost connection or an unreadable
reply all become `Refused(code="internal")` with a message that says which. After a timeout the
command may still have been carried out: the worker was slow, not necessarily gone.
"""

from __future__ import annotations

import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.errors import MaxPayloadError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError

from aio import log_crash
from sfu.bus.connect import settle
from sfu.bus.subjects import command_subject, events_subject
from sfu.interface import Command, EventListener, Refused, Reply, dump, parse_event, parse_reply

logger = logging.getLogger(__name__)

# An answer may wait for ICE gathering through STUN/TURN servers (aioice gives up after 5 s).
DEFAULT_TIMEOUT = 10.0


class RemoteMediaPlane:
    """See module docstring. `start()` subscribes to the worker's events; `stop()` unsubscribes."""

    def __init__(self, nc: Client, worker: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        self._nc = nc
        self.worker = worker
        self.timeout = timeout
        self._cmd_subject = command_subject(worker)
        self._events_subject = events_subject(worker)
        self._listeners: list[EventListener] = []
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        """Subscribe to the worker's events: every event published after this returns is received."""
        if self._subscription is None:
            self._subscription = await self._nc.subscribe(self._events_subject, cb=self._on_event)
            await settle(self._nc)

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            try:
                await subscription.unsubscribe()
            except NatsError as exc:
                logger.debug("unsubscribing from %s: %s", self._events_subject, exc)

    async def __aenter__(self) -> RemoteMediaPlane:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the media interface ---------------------------------------------------------------------

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    async def request(self, command: Command) -> Reply:
        try:
            msg = await self._nc.request(self._cmd_subject, dump(command), timeout=self.timeout)
        except NoRespondersError:
            return self._refused("is not running (nothing answers on its subject)")
        except NatsTimeoutError:
            return self._refused(f"did not answer within {self.timeout:g} s")
        except MaxPayloadError:
            return self._refused("cannot take a command this large")
        except NatsError as exc:
            logger.warning("media command %s to %s failed: %r", command.type, self.worker, exc)
            return self._refused("cannot be reached (the bus connection failed)")
        try:
            return parse_reply(msg.data)
        except (ValidationError, ValueError):
            logger.warning("media worker %s sent an unreadable reply to %s", self.worker, command.type)
            return self._refused("sent a reply that could not be read")

    def _refused(self, why: str) -> Refused:
        return Refused(code="internal", message=f"The media worker {self.worker} {why}")

    # --- events ----------------------------------------------------------------------------------

    async def _on_event(self, msg: Msg) -> None:
        try:
            event = parse_event(msg.data)
        except (ValidationError, ValueError):
            logger.warning("an unreadable event from media worker %s was dropped", self.worker)
            return
        for listener in list(self._listeners):
            with log_crash(logger, "media event listener (%s)", event.type):
                listener(event)
