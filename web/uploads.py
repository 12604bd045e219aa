"""Uploads: stream the body to disk under a size limit, sniff the real type from the bytes, re-encode
images (no metadata, bounded pixel count) and check videos before anything is stored."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import av
from aiohttp import BodyPartReader, web
from PIL import Image, ImageOps, UnidentifiedImageError

from web.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from web.media_files import MediaFiles

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_SNIFF_BYTES = 64  # every signature below lies in the first 64 bytes


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


async def _body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The upload's bytes: the first file of a multipart form, or the raw body."""
    # Anything but multipart is the file itself, whatever it claims (curl --data-binary says urlencoded).
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                raise BadRequest("no file in the form: send the file in a field named 'file'")
            if isinstance(part, BodyPartReader) and (part.filename is not None or part.name == "file"):
                break
            if isinstance(part, BodyPartReader):
                await part.release()
        while chunk := await part.read_chunk(_CHUNK):
            yield chunk
    else:
        async for chunk in request.content.iter_chunked(_CHUNK):
            yield chunk


async def receive(
    request: web.Request, files: MediaFiles, kinds: tuple[str, ...], limits: Limits
) -> StoredFile:
    """Take an upload of one of `kinds` ("image", "video"); 413/415/400 on anything else."""
    max_any = limits.max_bytes(kinds)
    if request.content_length is not None and request.content_length > max_any + 64 * 1024:
        raise PayloadTooLarge(f"upload too large: the limit is {_mb(max_any)}")
    loop = asyncio.get_running_loop()
    part = await loop.run_in_executor(None, files.new_part)
    width: int | None
    height: int | None
    try:
        media_type, size = await _stream_to(request, part, kinds, limits)
        if media_type.kind == "image":
            final, width, height = await loop.run_in_executor(
                None, _reencode_image, part, media_type, limits.max_image_pixels, files
            )
            await loop.run_in_executor(None, files.discard, part)
            part = final
        else:
            width, height = await loop.run_in_executor(None, _probe_video, part, media_type)
        size = await loop.run_in_executor(None, lambda: part.stat().st_size)
        name = await loop.run_in_executor(None, files.commit, part, media_type.extension)
    except BaseException:
        await loop.run_in_executor(None, files.discard, part)
        raise
    return StoredFile(name, media_type, size, width, height)


async def _stream_to(
    request: web.Request, part: Path, kinds: tuple[str, ...], limits: Limits
) -> tuple[MediaType, int]:
    loop = asyncio.get_running_loop()
    f: IO[bytes] = await loop.run_in_executor(None, part.open, "wb")
    try:
        head = b""
        media_type: MediaType | None = None
        limit = limits.max_bytes(kinds)
        size = 0
        async for chunk in _body_chunks(request):
            size += len(chunk)
            if media_type is None:
                head += chunk
                if len(head) < _SNIFF_BYTES:
                    continue
                media_type = _check_type(head, kinds)
                limit = limits.for_kind(media_type.kind)
                chunk, head = head, b""
            if size > limit:
                raise PayloadTooLarge(f"{media_type.kind} too large: the limit is {_mb(limit)}")
            await loop.run_in_executor(None, f.write, chunk)
        if media_type is None:
            if not head:
                raise BadRequest("the upload is empty")
            media_type = _check_type(head, kinds)
            await loop.run_in_executor(None, f.write, head)
        return media_type, size
    finally:
        await loop.run_in_executor(None, f.close)


def _check_type(head: bytes, kinds: tuple[str, ...]) -> MediaType:
    media_type = sniff(head)
    accepted = " or ".join(
        {"image": "a PNG, JPEG or WebP image", "video": "an MP4 or WebM video"}[k] for k in kinds
    )
    if media_type is None or media_type.kind not in kinds:
        raise UnsupportedMediaType(f"unsupported file type: upload {accepted}")
    return media_type


def _reencode_image(
    source: Path, media_type: MediaType, max_pixels: int, files: MediaFiles
) -> tuple[Path, int, int]:
    """Decode (after checking the pixel count from the header) and write a clean copy: same format,
    first frame only, orientation applied, no metadata (EXIF, ICC, text chunks)."""
    try:
        with Image.open(source, formats=[media_type.pillow_format or ""]) as img:
            width, height = img.size
            # Checked before any pixel is decoded: a few KB of PNG can claim gigapixels.
            if width * height > max_pixels:
                raise PayloadTooLarge(
                    f"image has too many pixels ({width}x{height}); the limit is {max_pixels:,} pixels"
                )
            img.load()
            upright = ImageOps.exif_transpose(img) or img
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
                upright.mode == "P" and "transparency" in upright.info
            )
            mode = "RGBA" if has_alpha and media_type is not JPEG else "RGB"
            converted = upright.convert(mode)
            clean = Image.frombytes(mode, converted.size, converted.tobytes())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge(f"image has too many pixels; the limit is {max_pixels:,} pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # Pillow's message names the temporary file's path: the user hears what was wrong, not where.
        raise UnsupportedMediaType(
            f"the image cannot be decoded: it is not a complete {media_type.pillow_format} image"
        ) from exc
    out = files.new_part()
    try:
        options: dict[str, object] = {}
        if media_type is JPEG:
            options = {"quality": 90}
        elif media_type is WEBP:
            options = {"quality": 90}
        clean.save(out, format=media_type.pillow_format, **options)
    except BaseException:
        files.discard(out)
        raise
    return out, clean.width, clean.height


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
