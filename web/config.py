"""Server configuration: defaults, overridden by environment variables, overridden by command-line flags."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfu.bus.connect import BusSettings
from web.store import default_database_url

MiB = 1024 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096
ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


class ConfigError(ValueError):
    """A configuration value is malformed."""


@dataclass(frozen=True)
class IceServer:
    """One STUN/TURN server handed to aiortc and to browsers (RTCIceServer)."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def __post_init__(self) -> None:
        if not self.urls:
            raise ConfigError("an ICE server needs at least one URL")
        for url in self.urls:
            if not url.startswith(ICE_SCHEMES):
                raise ConfigError(f"not a STUN/TURN URL: {url!r} (expected stun:, stuns:, turn: or turns:)")

    def to_json(self) -> dict[str, Any]:
        """The RTCIceServer dictionary a browser expects."""
        out: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            out["username"] = self.username
        if self.credential is not None:
            out["credential"] = self.credential
        return out

    @classmethod
    def parse(cls, value: Any) -> IceServer:
        """From a URL string, a JSON object text, or an already decoded object."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"ICE server is not valid JSON: {exc}") from exc
            else:
                return cls(urls=(text,))
        if not isinstance(value, Mapping):
            raise ConfigError(f"ICE server must be a URL or an object with 'urls': {value!r}")
        urls = value.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ConfigError("ICE server 'urls' must be a string or a list of strings")
        username = value.get("username")
        credential = value.get("credential")
        for name, v in (("username", username), ("credential", credential)):
            if v is not None and not isinstance(v, str):
                raise ConfigError(f"ICE server '{name}' must be a string")
        return cls(urls=tuple(urls), username=username, credential=credential)

    @classmethod
    def parse_list(cls, text: str) -> list[IceServer]:
        """A JSON list of URL strings or RTCIceServer objects (SPEEDMEET_ICE_SERVERS)."""
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"ICE server list is not valid JSON: {exc}") from exc
        if not isinstance(items, list):
            raise ConfigError("ICE server list must be a JSON list")
        return [cls.parse(item) for item in items]


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: SQLite file speedmeet.db in data_dir
    # Empty means no STUN/TURN at all (host candidates only): no traffic ever leaves the machine by default.
    ice_servers: list[IceServer] = field(default_factory=list)
    public_host: str | None = None  # base URL for join links, e.g. https://meet.example.org
    admin_token_file: Path | None = None  # where a newly created admin token is also written (mode 0600)
    max_image_bytes: int = 8 * MiB
    max_video_bytes: int = 50 * MiB
    # Backgrounds are shown at most 1920 pixels wide and stored no larger: 4096 x 4096 covers phone photos
    # and 4K screenshots, and one decode of it takes at most 64 MiB (4 bytes a pixel).
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_uploads_per_ticket: int = 20
    max_upload_bytes_per_ticket: int = 50 * MiB  # what an attendee's stored backgrounds may take in all
    # Seconds a client has to send a request's headers (also how long an idle keep-alive connection is
    # kept), and to send a body, plus a second per MIN_BODY_RATE bytes received (web/body.py).
    header_timeout: float = 20.0
    body_timeout: float = 30.0
    # Load the background-effect models at start (in the background), not when the first attendee
    # picks a background. Tests that never use effects turn it off to save the CPU.
    preload_effects: bool = True
    # Most frames per second run through a background effect per attendee (None: every frame).
    effect_fps: float | None = None
    # Media workers: 0 runs the media plane in the server's own process; N > 0 starts N local worker
    # processes, connected over NATS (`speedmeet serve` starts one per core).
    workers: int = 0
    # The NATS bus of remote workers (`--nats-url`); None: an embedded NATS server when workers run.
    bus: BusSettings | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port out of range: {self.port}")
        if not self.database_url:
            object.__setattr__(self, "database_url", default_database_url(self.data_dir))
        if self.public_host is not None:
            object.__setattr__(self, "public_host", _normalise_base_url(self.public_host))
        for name in (
            "max_image_bytes",
            "max_video_bytes",
            "max_image_pixels",
            "max_uploads_per_ticket",
            "max_upload_bytes_per_ticket",
            "header_timeout",
            "body_timeout",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        if not 0 <= self.workers <= 256:
            raise ConfigError(f"workers must be between 0 and 256, got {self.workers}")
        if self.effect_fps is not None and not 1 <= self.effect_fps <= 60:
            raise ConfigError(f"effect fps must be between 1 and 60, got {self.effect_fps}")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def base_url(self, fallback: str) -> str:
        """The public base URL for links: --public-host if set, else `fallback` (the request's origin)."""
        return self.public_host or fallback.rstrip("/")

    def local_url(self, port: int | None = None) -> str:
        host = self.host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port if port is None else port}"


def _normalise_base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not value:
        raise ConfigError("public host must not be empty")
    if "://" not in value:
        value = "https://" + value
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"public host must be an http(s) URL or a host name: {value!r}")
    return value
