"""Uploads: type sniffing from the bytes, size and pixel limits, re-encoding, video checks, serving."""

from __future__ import annotations

import asyncio
import io
import logging
import struct
import zlib
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.web.api_client import Api, Demo, StartServer, image_bytes, make_demo
from web.uploads import JPEG, MP4, PNG, WEBM, WEBP, sniff


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width`x`height` pixels in a few dozen bytes (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def video_bytes(container: str, codec: str, frames: int = 6) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=10)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for i in range(frames):
            img = np.full((48, 64, 3), i * 20, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def media_files(api: Api) -> list[Path]:
    return sorted((api.data_dir / "media").iterdir())


def test_sniff_names_the_real_type() -> None:
    assert sniff(image_bytes("PNG")) is PNG
    assert sniff(image_bytes("JPEG")) is JPEG
    assert sniff(image_bytes("WEBP")) is WEBP
    assert sniff(video_bytes("mp4", "mpeg4")[:64]) is MP4
    assert sniff(video_bytes("webm", "libvpx")[:64]) is WEBM
    assert sniff(image_bytes("GIF")) is None
    assert sniff(image_bytes("BMP")) is None
    assert sniff(b"<!doctype html><script>alert(1)</script>") is None
    assert sniff(b'<svg xmlns="http://www.w3.org/2000/svg"/>') is None
    assert sniff(b"") is None
    # Matroska that is not WebM is refused.
    assert sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska" + b"\x00" * 40) is None


async def test_images_are_re_encoded_without_metadata(api: Api, demo: Demo) -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90 degrees
    jpeg = image_bytes("JPEG", (40, 20), exif=exif.tobytes())
    assert b"SecretCam" in jpeg
    asset = await api.ok(
        "POST",
        f"/api/admin/events/{demo.event_id}/assets",
        data=jpeg,
        headers={"Content-Type": "image/png"},
        status=201,
    )
    # The claimed type is ignored; the bytes decide.
    assert asset["content_type"] == "image/jpeg" and asset["kind"] == "image"
    # Orientation applied, then dropped with the rest of the metadata.
    assert (asset["width"], asset["height"]) == (20, 40)
    served = await api.get(asset["url"], token=None)
    assert served.status == 200
    assert b"SecretCam" not in served.raw
    with Image.open(io.BytesIO(served.raw)) as img:
        assert img.format == "JPEG" and img.size == (20, 40)
        assert not img.getexif()
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"] == "inline"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    [stored] = media_files(api)
    assert stored.suffix == ".jpg" and stored.stat().st_mode & 0o111 == 0


async def test_png_text_chunks_are_dropped_and_alpha_kept(api: Api, demo: Demo) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "tracking-id-123")
    png = image_bytes("PNG", (16, 16), mode="RGBA", pnginfo=info)
    assert b"tracking-id-123" in png
    asset = await api.ok(
        "POST", "/api/me/backgrounds", token=None, params={"t": demo.secret("Ada")}, data=png, status=201
    )
    served = await api.get(asset["url"], token=None)
    assert b"tracking-id-123" not in served.raw
    with Image.open(io.BytesIO(served.raw)) as img:
        assert img.mode == "RGBA"


async def test_multipart_form_upload(api: Api, demo: Demo) -> None:
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("note", "ignored")
    form.add_field("file", image_bytes("PNG", (10, 10)), filename="bg.png", content_type="image/png")
    asset = await api.ok(
        "POST", "/api/me/backgrounds", token=None, params={"t": demo.secret("Ada")}, data=form, status=201
    )
    assert (asset["width"], asset["height"]) == (10, 10)
    empty = aiohttp.FormData(default_to_multipart=True)
    empty.add_field("note", "no file here")
    reply = await api.post("/api/me/backgrounds", token=None, params={"t": demo.secret("Ada")}, data=empty)
    assert reply.status == 400 and "no file" in reply.body["error"]
    # A raw body is the file whatever its claimed type (curl --data-binary claims a urlencoded form).
    raw = await api.post(
        "/api/me/backgrounds",
        token=None,
        params={"t": demo.secret("Ada")},
        data=image_bytes("PNG", (12, 12)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert raw.status == 201 and raw.body["width"] == 12


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html><script>alert(1)</script></html>" * 4, "html"),
        (image_bytes("GIF"), "gif"),
        (b"%PDF-1.7\n" + b"x" * 100, "pdf"),
    ],
)
async def test_wrong_types_are_refused_with_415(api: Api, demo: Demo, body: bytes, why: str) -> None:
    reply = await api.post(
        f"/api/admin/events/{demo.event_id}/assets", data=body, headers={"Content-Type": "image/png"}
    )
    assert reply.status == 415, why
    assert "PNG, JPEG or WebP" in reply.body["error"]
    assert media_files(api) == []


async def test_videos_only_where_videos_belong(api: Api, demo: Demo) -> None:
    mp4 = video_bytes("mp4", "mpeg4")
    reply = await api.post(f"/api/admin/events/{demo.event_id}/assets", data=mp4)
    assert reply.status == 415
    reply = await api.post("/api/me/backgrounds", token=None, params={"t": demo.secret("Ada")}, data=mp4)
    assert reply.status == 415


@pytest.mark.parametrize(
    ("container", "codec", "content_type"), [("mp4", "mpeg4", "video/mp4"), ("webm", "libvpx", "video/webm")]
)
async def test_pre_session_video(api: Api, demo: Demo, container: str, codec: str, content_type: str) -> None:
    data = video_bytes(container, codec)
    session = await api.ok("PUT", f"/api/admin/sessions/{demo.session_id}/pre-session-media", data=data)
    media = session["pre_session_media"]
    assert media["kind"] == "video" and media["content_type"] == content_type
    assert (media["width"], media["height"]) == (64, 48)
    served = await api.get(media["url"], token=None)
    assert served.status == 200 and served.raw == data
    assert served.headers["Content-Type"] == content_type
    # Replacing the media removes the old file.
    png = image_bytes("PNG")
    session = await api.ok("PUT", f"/api/admin/sessions/{demo.session_id}/pre-session-media", data=png)
    assert session["pre_session_media"]["kind"] == "image"
    assert (await api.get(media["url"], token=None)).status == 404
    assert len(media_files(api)) == 1


async def test_fake_video_is_refused(api: Api, demo: Demo) -> None:
    fake = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\xde\xad\xbe\xef" * 64
    reply = await api.call("PUT", f"/api/admin/sessions/{demo.session_id}/pre-session-media", data=fake)
    assert reply.status == 415
    # What was wrong, in the user's terms; never the server's paths.
    assert reply.body == {"error": "the video cannot be read: it is not a complete video/mp4 video"}
    assert media_files(api) == []


async def test_corrupt_image_is_refused(api: Api, demo: Demo) -> None:
    broken = image_bytes("PNG", (50, 50))[:60] + b"\x00" * 40
    reply = await api.post("/api/me/backgrounds", token=None, params={"t": demo.secret("Ada")}, data=broken)
    assert reply.status == 415
    assert reply.body == {"error": "the image cannot be decoded: it is not a complete PNG image"}
    assert str(api.data_dir) not in reply.raw.decode()
    assert media_files(api) == []


async def test_decompression_bomb_is_refused_before_decoding(api: Api, demo: Demo) -> None:
    t = {"t": demo.secret("Ada")}
    # Over our limit (4096 x 4096 by default) but under Pillow's own warning threshold.
    reply = await api.post("/api/me/backgrounds", token=None, params=t, data=png_header_only(5000, 5000))
    assert reply.status == 413 and "too many pixels" in reply.body["error"]
    # Far over Pillow's threshold too.
    reply = await api.post(
        "/api/me/backgrounds", token=None, params=t, data=png_header_only(100_000, 100_000)
    )
    assert reply.status == 413 and "too many pixels" in reply.body["error"]
    assert media_files(api) == []
    assert await api.store.ticket_backgrounds(demo.tid("Ada")) == []


async def test_pixel_limit_is_configurable(start_server: StartServer) -> None:
    api = await start_server(max_image_pixels=100)
    demo = await make_demo(api)
    t = {"t": demo.secret("Ada")}
    assert (
        await api.post("/api/me/backgrounds", token=None, params=t, data=image_bytes("PNG", (10, 10)))
    ).status == 201
    assert (
        await api.post("/api/me/backgrounds", token=None, params=t, data=image_bytes("PNG", (11, 10)))
    ).status == 413


async def test_size_limits_give_413(start_server: StartServer) -> None:
    api = await start_server(max_image_bytes=20_000, max_video_bytes=30_000)
    demo = await make_demo(api)
    noise = Image.frombytes("RGB", (128, 128), np.random.default_rng(1).bytes(128 * 128 * 3))
    buf = io.BytesIO()
    noise.save(buf, format="PNG")
    big_png = buf.getvalue()
    assert len(big_png) > 20_000
    reply = await api.post(f"/api/admin/events/{demo.event_id}/assets", data=big_png)
    assert reply.status == 413 and "image too large" in reply.body["error"]
    # Content-Length over every limit is refused before reading.
    reply = await api.post(
        f"/api/admin/events/{demo.event_id}/assets", data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 200_000
    )
    assert reply.status == 413
    video = video_bytes("mp4", "mpeg4", frames=4)
    assert len(video) < 30_000
    ok = await api.call("PUT", f"/api/admin/sessions/{demo.session_id}/pre-session-media", data=video)
    assert ok.status == 200
    big_video = video + b"\x00" * 30_000
    reply = await api.call("PUT", f"/api/admin/sessions/{demo.session_id}/pre-session-media", data=big_video)
    assert reply.status == 413 and "video too large" in reply.body["error"]
    assert len(media_files(api)) == 1  # just the accepted video


async def test_empty_upload_is_a_bad_request(api: Api, demo: Demo) -> None:
    reply = await api.post("/api/me/backgrounds", token=None, params={"t": demo.secret("Ada")}, data=b"")
    assert reply.status == 400


@pytest.mark.parametrize("name", ["nothing.png", "..%2F..%2Fspeedmeet.db", "AAAAAAAAAAAAAAAAAAAAAA.exe", "x"])
async def test_unknown_media_is_404(api: Api, name: str) -> None:
    reply = await api.get(f"/media/{name}", token=None)
    assert reply.status == 404


async def test_file_on_disk_without_a_row_is_not_served(api: Api, demo: Demo) -> None:
    stray = api.data_dir / "media" / "AAAAAAAAAAAAAAAAAAAAAA.png"
    stray.write_bytes(image_bytes())
    assert (await api.get(f"/media/{stray.name}", token=None)).status == 404


async def test_the_upload_quota_holds_against_parallel_uploads(start_server: StartServer) -> None:
    api = await start_server(max_uploads_per_ticket=20)
    demo = await make_demo(api)
    t = {"t": demo.secret("Ada")}
    replies = await asyncio.gather(
        *(
            api.post("/api/me/backgrounds", token=None, params=t, data=image_bytes("PNG", (20 + i, 20)))
            for i in range(30)
        )
    )
    statuses = sorted(r.status for r in replies)
    assert statuses == [201] * 20 + [409] * 10
    for r in replies:
        if r.status == 409:
            assert r.body == {"error": "at most 20 uploads per ticket: delete one first"}
    assert len(await api.store.ticket_backgrounds(demo.tid("Ada"))) == 20
    assert len(media_files(api)) == 20  # the refused ones left no file behind


async def test_the_byte_quota_per_ticket(start_server: StartServer) -> None:
    api = await start_server(max_upload_bytes_per_ticket=100_000)
    demo = await make_demo(api)
    t = {"t": demo.secret("Ada")}
    noise = Image.frombytes("RGB", (128, 128), np.random.default_rng(2).bytes(128 * 128 * 3))
    buf = io.BytesIO()
    noise.save(buf, format="PNG")
    png = buf.getvalue()
    assert 40_000 < len(png) < 50_000
    for _ in range(2):
        await api.ok("POST", "/api/me/backgrounds", token=None, params=t, data=png, status=201)
    reply = await api.post("/api/me/backgrounds", token=None, params=t, data=png)
    assert reply.status == 409
    assert reply.body["error"].startswith("your uploads may take 0.1 MB in all, and with this one they would")
    small = await api.post("/api/me/backgrounds", token=None, params=t, data=image_bytes("PNG", (8, 8)))
    assert small.status == 201  # what still fits is taken
    # The organiser's uploads have no quota.
    for _ in range(3):
        await api.ok("POST", f"/api/admin/events/{demo.event_id}/assets", data=png, status=201)


MALFORMED_FORM = (
    "malformed multipart form: send the file as the raw body, or as the field 'file' of a "
    "multipart/form-data form"
)


def _form(*parts: tuple[str, bytes, str | None], boundary: str = "XyZ") -> list[bytes]:
    """A multipart/form-data body in pieces: (field name, content, file name or None)."""
    pieces = []
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        pieces.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode())
        pieces.extend(content[i : i + 65536] for i in range(0, len(content), 65536))
        pieces.append(b"\r\n")
    pieces.append(f"--{boundary}--\r\n".encode())
    return pieces


async def _chunked(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def test_every_byte_of_a_form_counts(start_server: StartServer) -> None:
    api = await start_server(max_image_bytes=100_000)
    demo = await make_demo(api)
    t = {"t": demo.secret("Ada")}
    headers = {"Content-Type": "multipart/form-data; boundary=XyZ"}
    png = image_bytes("PNG", (10, 10))
    # Sent chunked, with no Content-Length to refuse it by: a big text field before a small file.
    big_field = _form(("note", b"x" * 1_000_000, None), ("file", png, "bg.png"))
    reply = await api.post(
        "/api/me/backgrounds", token=None, params=t, data=_chunked(big_field), headers=headers
    )
    assert reply.status == 413 and reply.body == {"error": "upload too large: the limit is 0.0953674 MB"}
    # A small field beside the file is fine.
    ok = _form(("note", b"hello", None), ("file", png, "bg.png"))
    reply = await api.post("/api/me/backgrounds", token=None, params=t, data=_chunked(ok), headers=headers)
    assert reply.status == 201
    assert len(media_files(api)) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--XyZ\r\n\r\nfile\r\n--XyZ--\r\n"),  # no boundary
        ("multipart/form-data; boundary=XyZ", b"--XyZ\r\nNo colon here\r\n\r\ndata\r\n--XyZ--\r\n"),
        (
            "multipart/form-data; boundary=XyZ",
            b"--XyZ\r\nContent-Disposition form-data\r\n\r\nx\r\n--XyZ--\r\n",
        ),
        ("multipart/form-data; boundary=XyZ", b"no boundary line at all\r\n"),
        ("multipart/form-data; boundary=XyZ", b"--XyZ\r\n" + b"X-Long: " + b"a" * 20_000 + b"\r\n\r\n"),
        ("multipart/form-data; boundary=" + "b" * 80, b"--" + b"b" * 80 + b"\r\n\r\n"),
    ],
)
async def test_malformed_forms_are_bad_requests(
    api: Api, demo: Demo, content_type: str, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    reply = await api.post(
        "/api/me/backgrounds", token=None, params={"t": demo.secret("Ada")}, data=body,
        headers={"Content-Type": content_type},
    )  # fmt: skip
    assert reply.status == 400, reply.body
    assert (set(reply.body) == {"error"} and "multipart" in reply.body["error"]) or "no file" in reply.body[
        "error"
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert media_files(api) == []
