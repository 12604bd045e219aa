"""Uploads: stream the body to disk under a size limit (every byte of a multipart form counts) and a time
limit, sniff the real type from the bytes, re-encode images (web/images.py) and check videos on the
application's upload threads (web/upload_workers.py) before anything is stored."""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import av
from aiohttp import BodyPartReader, MultipartReader, StreamReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam

from web.body import BodyStream
from web.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from web.images import reencode
from web.media_files import MediaFiles
from web.upload_workers import UploadWorkers

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_SNIFF_BYTES = 64  # every signature below lies in the first 64 bytes
# A multipart form may add this much to the file (boundaries, part headers, a small field or two).
_FORM_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class MediaType:
    kind: str  # "image" | "video"
    content_type: str
    extension: str
    pillow_format: str | None = None  # for images


PNG = MediaType("image", "image/png", "png", "PNG")
JPEG = MediaType("image", "image/jpeg", "jpg", "JPEG")
WEBP = MediaType("image", "image/webp", "webp", "WEBP")
MP4 = MediaType("video", "video/mp4", "mp4")
WEBM = MediaType("video", "video/webm", "webm")

_MP4_BRANDS = (
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"dash",
    b"M4V ",
    b"mmp4",
)


def sniff(head: bytes) -> MediaType | None:
    """The media type the bytes really are (never what the client claims), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _MP4_BRANDS:
        return MP4
    # Matroska's EBML header names its DocType near the start; only the WebM flavour is accepted.
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"\x42\x82\x84webm" in head[:_SNIFF_BYTES]:
        return WEBM
    return None


@dataclass(frozen=True)
class Limits:
    max_image_bytes: int
    max_video_bytes: int
    max_image_pixels: int

    def max_bytes(self, kinds: tuple[str, ...]) -> int:
        return max(self.max_image_bytes if k == "image" else self.max_video_bytes for k in kinds)

    def for_kind(self, kind: str) -> int:
        return self.max_image_bytes if kind == "image" else self.max_video_bytes


@dataclass(frozen=True)
class StoredFile:
    """A checked upload, committed under its generated name in the media folder."""

    filename: str
    media_type: MediaType
    size_bytes: int
    width: int | None
    height: int | None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


_MALFORMED_FORM = (
    "malformed multipart form: send the file as the raw body, or as the field 'file' of a "
    "multipart/form-data form"
)


def _is_file_part(part: BodyPartReader) -> bool:
    # aiohttp warns about a malformed Content-Disposition rather than failing: such a part is no file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadContentDispositionHeader)
        warnings.simplefilter("ignore", BadContentDispositionParam)
        return part.filename is not None or part.name == "file"


async def _file_part(request: web.Request, body: BodyStream) -> BodyPartReader:
    """The form's first file part; every part before it is read through (and counted), not kept."""
    reader = MultipartReader(request.headers, cast(StreamReader, body))
    while True:
        part = await reader.next()
        if part is None:
            raise BadRequest("no file in the form: send the file in a field named 'file'")
        if isinstance(part, BodyPartReader) and _is_file_part(part):
            return part
        if isinstance(part, BodyPartReader):
            while await part.read_chunk(_CHUNK):
                pass


async def _body_chunks(request: web.Request, body: BodyStream) -> AsyncGenerator[bytes, None]:
    """The upload's bytes: the first file of a multipart form, or the raw body."""
    # Anything but multipart is the file itself, whatever it claims (curl --data-binary says urlencoded).
    if request.content_type.startswith("multipart/"):
        try:
            part = await _file_part(request, body)
            while chunk := await part.read_chunk(_CHUNK):
                yield chunk
        except (ValueError, AssertionError, HttpProcessingError) as exc:
            # No boundary, a bad part header, a missing boundary line: the client's mistake, told as such.
            raise BadRequest(_MALFORMED_FORM) from exc
    else:
        while chunk := await body.read(_CHUNK):
            yield chunk


async def receive(
    request: web.Request,
    files: MediaFiles,
    workers: UploadWorkers,
    kinds: tuple[str, ...],
    limits: Limits,
) -> StoredFile:
    """Take an upload of one of `kinds` ("image", "video"); 413/415/400/408 on anything else."""
    max_any = limits.max_bytes(kinds)
    if request.content_length is not None and request.content_length > max_any + _FORM_OVERHEAD:
        raise PayloadTooLarge(f"upload too large: the limit is {_mb(max_any)}")
    part = await workers.files(files.new_part)
    width: int | None
    height: int | None
    try:
        media_type = await _stream_to(request, part, workers, kinds, limits)
        if media_type.kind == "image":
            final = await workers.files(files.new_part)
            try:
                width, height = await workers.decode(
                    reencode, part, final, media_type.pillow_format or "", limits.max_image_pixels
                )
            except BaseException:
                await workers.files(files.discard, final)
                raise
            await workers.files(files.discard, part)
            part = final
        else:
            width, height = await workers.decode(_probe_video, part, media_type)
        size = await workers.files(lambda: part.stat().st_size)
        name = await workers.files(files.commit, part, media_type.extension)
    except BaseException:
        await workers.files(files.discard, part)
        raise
    return StoredFile(name, media_type, size, width, height)


async def _stream_to(
    request: web.Request, part: Path, workers: UploadWorkers, kinds: tuple[str, ...], limits: Limits
) -> MediaType:
    head = b""
    media_type: MediaType | None = None
    limit = limits.max_bytes(kinds)
    size = 0

    def too_large() -> PayloadTooLarge:
        what = media_type.kind if media_type is not None else "upload"
        return PayloadTooLarge(f"{what} too large: the limit is {_mb(limit)}")

    # Every byte of the body counts, not only the file's: a form's other fields may add little.
    body = BodyStream.of(request, limit + _FORM_OVERHEAD, too_large)
    f: IO[bytes] = await workers.files(part.open, "wb")
    try:
        async with aclosing(_body_chunks(request, body)) as chunks:
            async for chunk in chunks:
                size += len(chunk)
                if media_type is None:
                    head += chunk
                    if len(head) < _SNIFF_BYTES:
                        continue
                    media_type = _check_type(head, kinds)
                    limit = limits.for_kind(media_type.kind)
                    body.max_bytes = limit + _FORM_OVERHEAD
                    chunk, head = head, b""
                if size > limit:
                    raise too_large()
                await workers.files(f.write, chunk)
        if media_type is None:
            if not head:
                raise BadRequest("the upload is empty")
            media_type = _check_type(head, kinds)
            await workers.files(f.write, head)
        return media_type
    finally:
        await workers.files(f.close)


def _check_type(head: bytes, kinds: tuple[str, ...]) -> MediaType:
    media_type = sniff(head)
    accepted = " or ".join(
        {"image": "a PNG, JPEG or WebP image", "video": "an MP4 or WebM video"}[k] for k in kinds
    )
    if media_type is None or media_type.kind not in kinds:
        raise UnsupportedMediaType(f"unsupported file type: upload {accepted}")
    return media_type


def _probe_video(path: Path, media_type: MediaType) -> tuple[int | None, int | None]:
    """Open the container (headers only) and insist on a video stream of the sniffed format."""
    try:
        with av.open(str(path), "r") as container:
            names = set(container.format.name.split(","))
            expected = {"mp4", "mov"} if media_type is MP4 else {"webm", "matroska"}
            if not names & expected:
                raise UnsupportedMediaType(f"the video is not really {media_type.content_type}")
            if not container.streams.video:
                raise UnsupportedMediaType("the file has no video stream")
            ctx = container.streams.video[0].codec_context
            return (ctx.width or None, ctx.height or None)
    except av.FFmpegError as exc:
        # FFmpeg's message names the temporary file's path: the user hears what was wrong, not where.
        raise UnsupportedMediaType(
            f"the video cannot be read: it is not a complete {media_type.content_type} video"
        ) from exc
