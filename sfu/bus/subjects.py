"""The bus's subjects and the worker report: what crosses NATS besides the media interface's own
commands, replies and events (docs/bus.md).

Subjects (version 1, the media interface's version: a worker and a control plane of different
versions use different subjects and never see each other; a worker id is 1-64 of ``A-Z a-z 0-9 _ -``):

- ``speedmeet.media.v1.<worker>.cmd``: requests carrying one command (JSON, `sfu.interface`); the reply
  is the command's reply (JSON). A malformed request is answered `Refused(code="bad_command")`.
- ``speedmeet.media.v1.<worker>.events``: the worker's media events (JSON), its `Load` included.
- ``speedmeet.media.v1.load``: every worker's `WorkerReport` (JSON): its state and latest load, at start,
  with each load report (every ~2 s), and whenever its state changes.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from sfu.interface import MEDIA_INTERFACE_VERSION, Load

BUS_VERSION = MEDIA_INTERFACE_VERSION
SUBJECT_ROOT = f"speedmeet.media.v{BUS_VERSION}"
LOAD_SUBJECT = f"{SUBJECT_ROOT}.load"

_WORKER_ID = r"^[A-Za-z0-9_-]{1,64}$"
WorkerId = Annotated[str, Field(pattern=_WORKER_ID)]

# serving: takes new attendees; draining: takes none, its running meetings finish (SIGTERM);
# stopped: gone (its last report; a worker that dies without one goes stale instead).
WorkerState = Literal["serving", "draining", "stopped"]


def valid_worker_id(worker: str) -> bool:
    return re.fullmatch(_WORKER_ID, worker) is not None


def _checked(worker: str) -> str:
    if not valid_worker_id(worker):
        raise ValueError(f"not a worker id (1-64 of A-Z a-z 0-9 _ -): {worker!r}")
    return worker


def command_subject(worker: str) -> str:
    return f"{SUBJECT_ROOT}.{_checked(worker)}.cmd"


def events_subject(worker: str) -> str:
    return f"{SUBJECT_ROOT}.{_checked(worker)}.events"


def new_instance() -> str:
    """A fresh id for one run of a worker process: a restarted worker has lost its peers."""
    return secrets.token_hex(8)


class WorkerReport(BaseModel):
    """A worker's state and latest load, on `LOAD_SUBJECT`. Fields may be added within version 1:
    receivers ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Literal["worker_report"] = "worker_report"
    worker: WorkerId
    instance: str = Field(min_length=1, max_length=64)  # changes when the worker process restarts
    state: WorkerState
    load: Load | None = None  # None until the media plane's first load report
    public_ip: str | None = Field(default=None, max_length=64)  # the address browsers reach it on


_REPORT: TypeAdapter[WorkerReport] = TypeAdapter(WorkerReport)


def parse_report(raw: str | bytes) -> WorkerReport:
    return _REPORT.validate_json(raw)
