"""The worker's side of the bus: a media plane served on NATS (subjects in `sfu.bus.subjects`).

Each request on ``<worker>.cmd`` is handed to the plane in the order it arrived, in a task of its own,
so a slow command (an offer being answered) holds up no other peer's; the plane keeps one peer's
commands in order (`sfu.interface`). The plane's events are queued by its listener and published by
one task, in order: `Load` on ``<worker>.events`` and, as a `WorkerReport`, on the load subject.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from pydantic import ValidationError

from aio import cancel_and_wait, log_crash, logged_task
from sfu.bus.connect import settle
from sfu.bus.subjects import (
    LOAD_SUBJECT,
    WorkerReport,
    WorkerState,
    command_subject,
    events_subject,
    new_instance,
)
from sfu.interface import Command, Load, MediaEvent, MediaPlane, Refused, Reply, dump, parse_command

logger = logging.getLogger(__name__)

# Events waiting to be published (a few seconds of a busy worker while NATS reconnects); more are
# dropped, with a warning.
EVENT_QUEUE = 10_000


def _bad_command(error: ValidationError | ValueError) -> Refused:
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        detail = f"{where}: {first['msg']}"
    else:
        detail = "not JSON"
    return Refused(code="bad_command", message=f"Not a media command ({detail})"[:300])


class MediaServer:
    """See module docstring. `start()` once; `stop()` publishes a last "stopped" report (safe twice)."""

    def __init__(
        self,
        nc: Client,
        plane: MediaPlane,
        worker: str,
        *,
        public_ip: str | None = None,
        instance: str | None = None,
    ) -> None:
        self._nc = nc
        self._plane = plane
        self.worker = worker
        self._cmd_subject = command_subject(worker)
        self._events_subject = events_subject(worker)
        self.public_ip = public_ip
        self.instance = instance or new_instance()
        self._state: WorkerState = "serving"
        self._load: Load | None = None
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue(EVENT_QUEUE)
        self._handlers: set[asyncio.Task[None]] = set()
        self._publisher: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._closed = False
        self.dropped_events = 0

    @property
    def state(self) -> WorkerState:
        return self._state

    def report(self) -> WorkerReport:
        return WorkerReport(
            worker=self.worker,
            instance=self.instance,
            state=self._state,
            load=self._load,
            public_ip=self.public_ip,
        )

    async def start(self) -> None:
        self._plane.add_listener(self._on_event)
        self._subscription = await self._nc.subscribe(self._cmd_subject, cb=self._on_request)
        await settle(self._nc)  # commands sent on the report below find the subscription
        self._publisher = logged_task(self._publish_forever(), name=f"bus-events-{self.worker}", log=logger)
        await self._publish_report()
        logger.info("media worker %s serving on %s", self.worker, self._cmd_subject)

    async def set_state(self, state: WorkerState) -> None:
        """Change the state and report it at once."""
        self._state = state
        await self._publish_report()

    async def stop(self) -> None:
        """Take no more commands, end the ones in progress (their callers get no reply), publish the
        events still queued and a last report that says "stopped"."""
        if self._closed:
            return
        self._closed = True
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            try:
                await subscription.unsubscribe()
            except NatsError as exc:
                logger.warning("unsubscribing from %s failed: %s", self._cmd_subject, exc)
        await cancel_and_wait(self._publisher, *self._handlers)
        while not self._events.empty():
            with log_crash(logger, "publishing a queued event"):
                await self._publish_event(self._events.get_nowait())
        self._state = "stopped"
        await self._publish_report()
        try:
            await self._nc.flush(timeout=2)
        except (NatsError, TimeoutError) as exc:
            logger.warning("the last events of %s may be lost: %s", self.worker, exc)

    # --- commands --------------------------------------------------------------------------------

    async def _on_request(self, msg: Msg) -> None:
        if self._closed:
            return  # stopping: the caller's request times out, as if the worker were gone
        if not msg.reply:
            logger.warning("a message without a reply subject on %s was ignored", msg.subject)
            return
        try:
            command: Command | Refused = parse_command(msg.data)
        except (ValidationError, ValueError) as exc:
            command = _bad_command(exc)
        task = logged_task(self._handle(msg, command), name=f"bus-cmd-{self.worker}", log=logger)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _handle(self, msg: Msg, command: Command | Refused) -> None:
        reply: Reply
        if isinstance(command, Refused):
            reply = command
        else:
            try:
                # The plane is called before this task's first await: commands reach it in order.
                reply = await self._plane.request(command)
            except Exception:
                logger.exception("media command %s failed", command.type)
                reply = Refused(code="internal", message="The media worker failed to carry out the command")
        try:
            await msg.respond(dump(reply))
        except NatsError as exc:
            logger.warning("the reply to %s could not be sent: %s", msg.subject, exc)

    # --- events ----------------------------------------------------------------------------------

    def _on_event(self, event: MediaEvent) -> None:
        if self._closed:
            return
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped_events += 1
            if self.dropped_events % 1000 == 1:
                logger.warning("media events dropped: %d so far (the bus lags)", self.dropped_events)

    async def _publish_forever(self) -> None:
        while True:
            event = await self._events.get()
            with log_crash(logger, "publishing a %s event", event.type):
                await self._publish_event(event)

    async def _publish_event(self, event: MediaEvent) -> None:
        try:
            await self._nc.publish(self._events_subject, dump(event))
        except NatsError as exc:
            logger.warning("a %s event of %s was lost: %s", event.type, self.worker, exc)
        if isinstance(event, Load):
            self._load = event
            await self._publish_report()

    async def _publish_report(self) -> None:
        try:
            await self._nc.publish(LOAD_SUBJECT, dump(self.report()))
        except NatsError as exc:
            logger.warning("the report of %s could not be published: %s", self.worker, exc)


async def serve_media_plane(
    nc: Client,
    plane: MediaPlane,
    worker: str,
    *,
    public_ip: str | None = None,
    instance: str | None = None,
) -> MediaServer:
    """Serve `plane` as media worker `worker` on `nc` until the returned server's `stop()`."""
    server = MediaServer(nc, plane, worker, public_ip=public_ip, instance=instance)
    try:
        await server.start()
    except BaseException:
        await server.stop()
        raise
    return server
