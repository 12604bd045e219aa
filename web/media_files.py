"""Uploaded files on disk under the data dir: generated names, readable by the server's user only, never
executable, removed with their rows."""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

EXTENSIONS = ("png", "jpg", "webp", "mp4", "webm")
_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(?:" + "|".join(EXTENSIONS) + r")$")
_PART_SUFFIX = ".part"
_FILE_MODE = 0o600  # the server's user only, never executable
_DIR_MODE = 0o700


class MediaFiles:
    """A flat folder of uploads. Blocking calls: run them in an executor from async code."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        self.root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)

    @staticmethod
    def valid_name(filename: str) -> bool:
        return bool(_NAME.match(filename))

    def path(self, filename: str) -> Path | None:
        """The file's path if the name is one we generate and the file exists."""
        if not self.valid_name(filename):
            return None
        p = self.root / filename
        return p if p.is_file() else None

    def new_part(self) -> Path:
        """A fresh temporary file to stream an upload into; `commit` or `discard` it."""
        p = self.root / (secrets.token_urlsafe(16) + _PART_SUFFIX)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        os.close(fd)
        return p

    def commit(self, part: Path, extension: str) -> str:
        """Give a finished temporary file its final generated name; returns the name."""
        if extension not in EXTENSIONS:
            raise ValueError(f"unsupported extension {extension!r}")
        name = f"{secrets.token_urlsafe(16)}.{extension}"
        os.chmod(part, _FILE_MODE)
        os.replace(part, self.root / name)
        return name

    def write(self, data: bytes, extension: str) -> str:
        part = self.new_part()
        try:
            part.write_bytes(data)
            return self.commit(part, extension)
        except BaseException:
            self.discard(part)
            raise

    def discard(self, part: Path) -> None:
        part.unlink(missing_ok=True)

    def remove(self, filenames: Iterable[str]) -> None:
        for name in filenames:
            if not self.valid_name(name):
                continue
            try:
                (self.root / name).unlink(missing_ok=True)
            except OSError:
                logger.exception("could not remove media file %s", name)

    def sweep(self, keep: set[str]) -> int:
        """Remove unfinished uploads and files no row refers to (left by a crash); returns how many."""
        removed = 0
        for p in self.root.iterdir():
            if not p.is_file():
                continue
            if p.name.endswith(_PART_SUFFIX) or (self.valid_name(p.name) and p.name not in keep):
                p.unlink(missing_ok=True)
                removed += 1
        if removed:
            logger.info("removed %d leftover media file(s)", removed)
        return removed
