"""Re-encoding an uploaded image: a clean copy (no metadata, first frame only, orientation applied) no
larger than a background is ever shown, made with as few full-size copies of the pixels as possible.

Memory, for an image of N pixels: the decoded image (4 bytes a pixel for RGB and RGBA, as Pillow keeps
them; a JPEG larger than needed is decoded at 1/2, 1/4 or 1/8 of its size instead), one converted copy only
for palette, grey, CMYK or 16-bit images, and the scaled-down result. Blocking: run it on a decode thread."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from web.errors import PayloadTooLarge, UnsupportedMediaType

# The largest side kept: the media plane shows backgrounds at most at 1920 pixels (effects.MAX_KEPT_SIDE),
# and the pre-session image is shown in a page. Larger uploads are scaled down (aspect kept).
MAX_STORED_SIDE = 1920

_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` scaled down (never up) so that neither side passes `side`, aspect kept."""
    width, height = size
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def reencode(
    source: Path, out: Path, pillow_format: str, max_pixels: int, max_side: int = MAX_STORED_SIDE
) -> tuple[int, int]:
    """Write a clean copy of the image at `source` to `out` in the same format; returns its size.
    413 if the header claims more than `max_pixels`, 415 if it does not decode."""
    try:
        return _reencode(source, out, pillow_format, max_pixels, max_side)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge(f"image has too many pixels; the limit is {max_pixels:,} pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # Pillow's message names the temporary file's path: the user hears what was wrong, not where.
        raise UnsupportedMediaType(
            f"the image cannot be decoded: it is not a complete {pillow_format} image"
        ) from exc


def _reencode(source: Path, out: Path, pillow_format: str, max_pixels: int, max_side: int) -> tuple[int, int]:
    original = Image.open(source, formats=[pillow_format])
    try:
        width, height = original.size
        # Checked before any pixel is decoded: a few KB of PNG can claim gigapixels.
        if width * height > max_pixels:
            raise PayloadTooLarge(
                f"image has too many pixels ({width}x{height}); the limit is {max_pixels:,} pixels"
            )
        target = fit(original.size, max_side)
        orientation = original.getexif().get(_ORIENTATION, 1)
        has_alpha = original.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            original.mode == "P" and "transparency" in original.info
        )
        mode = "RGBA" if has_alpha and pillow_format != "JPEG" else "RGB"
        if pillow_format == "JPEG":
            original.draft("RGB", target)  # decode at 1/2, 1/4 or 1/8 scale when that still covers target
        original.load()
        image: Image.Image = original
        if image.mode != mode:
            image = original.convert(mode)
            original.close()  # frees the decoded pixels now, not when the function returns
        if image.size != target:
            image.thumbnail(target, Image.Resampling.LANCZOS, reducing_gap=2.0)  # in place
        for step in _TRANSPOSE.get(orientation, ()):
            image = image.transpose(step)  # on the small image: cheap
        # A fresh image carries nothing from the upload: no EXIF, ICC profile, XMP or text chunks.
        clean = Image.new(mode, image.size)
        clean.paste(image)
        image.close()
    finally:
        original.close()
    options: dict[str, object] = {"quality": 90} if pillow_format in ("JPEG", "WEBP") else {}
    clean.save(out, format=pillow_format, **options)
    return clean.size
