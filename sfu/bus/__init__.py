"""The media interface over NATS (docs/bus.md): a media worker serves its media plane on versioned
subjects (`serve_media_plane`), and the control plane drives it through `RemoteMediaPlane`, which
implements the same `sfu.interface.MediaPlane` protocol as the in-process plane.

Nothing here imports aiortc or the control plane: a worker and the control plane both use it."""

from sfu.bus.connect import BusSettings, connect
from sfu.bus.remote import RemoteMediaPlane
from sfu.bus.serve import MediaServer, serve_media_plane
from sfu.bus.subjects import (
    BUS_VERSION,
    LOAD_SUBJECT,
    SUBJECT_ROOT,
    WorkerReport,
    WorkerState,
    command_subject,
    events_subject,
    valid_worker_id,
)

__all__ = [
    "BUS_VERSION",
    "LOAD_SUBJECT",
    "SUBJECT_ROOT",
    "BusSettings",
    "MediaServer",
    "RemoteMediaPlane",
    "WorkerReport",
    "WorkerState",
    "command_subject",
    "connect",
    "events_subject",
    "serve_media_plane",
    "valid_worker_id",
]
