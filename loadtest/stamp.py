"""A frame stamp: 32 bits drawn into the picture as big black and white blocks, and read back.

The load tester needs to know, for every frame a synthetic attendee receives, which frame its partner sent.
RTP timestamps do not survive the server (it decodes, processes and re-encodes every frame, restamping
it on the outgoing track's own clock), so the information travels in the pixels.

Layout: a grid of 7 x 6 square cells, each `width / 40` pixels wide (16 px at 640x480). Cell 0 is white
and cell 1 black (references for the threshold, so any payload, all zeros included, reads back); the other
40 cells hold the 32-bit payload and a CRC-8 of it, most significant bit first. Blocks this big survive
VP8 at the lowest bitrate aiortc uses (250 kbit/s): the reader averages the middle of each cell and the
CRC rejects the rare misread.

Where: on the astronaut's orange suit (lower left of the picture), not in a corner. The server's virtual
background replaces or blurs everything its person segmentation calls background, which would wipe a
code in a corner; the selfie segmentation keeps the suit (and the code on it) as person, so stamps also
read back from attendees with a background effect on. Frames whose code was damaged anyway (an effect
that ate part of it, a corrupt frame) fail the CRC and are simply not counted.

Positions are fractions of the frame size, so the code reads back at any resolution the server sends.
"""

from __future__ import annotations

import functools

import av
import numpy as np

COLUMNS = 7
ROWS = 6
CELL_FRACTION = 1 / 40  # cell size as a fraction of the frame width
X_FRACTION = 150 / 640  # left edge of the code (on the suit, left of the chest)
Y_FRACTION = 340 / 480  # top edge of the code
PAYLOAD_BITS = 32
CRC_BITS = 8
WHITE = 235  # studio-range luma, what encoders preserve best
BLACK = 16
MIN_CONTRAST = 64  # reference cells closer than this: no code here (slate, effect, garbage)

_PAYLOAD_MASK = (1 << PAYLOAD_BITS) - 1


def crc8(data: bytes) -> int:
    """CRC-8 (polynomial 0x07, initial value 0xFF)."""
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _bits(payload: int) -> list[int]:
    """The 42 cell values (1 = white): two references, then payload and CRC, MSB first."""
    if not 0 <= payload <= _PAYLOAD_MASK:
        raise ValueError(f"stamp payload must fit in {PAYLOAD_BITS} bits, got {payload}")
    word = (payload << CRC_BITS) | crc8(payload.to_bytes(4, "big"))
    data = [(word >> (PAYLOAD_BITS + CRC_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS + CRC_BITS)]
    return [1, 0, *data]


def geometry(width: int, height: int) -> tuple[float, float, float]:
    """(x0, y0, cell) in pixels for a frame of this size."""
    return width * X_FRACTION, height * Y_FRACTION, width * CELL_FRACTION


def _cell_box(width: int, height: int, index: int) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) of cell `index`, snapped to even coordinates (chroma is 2x2)."""
    x0, y0, cell = geometry(width, height)
    row, col = divmod(index, COLUMNS)

    def even(v: float) -> int:
        return round(v / 2) * 2

    return (
        even(x0 + col * cell),
        even(y0 + row * cell),
        even(x0 + (col + 1) * cell),
        even(y0 + (row + 1) * cell),
    )


def stamp_i420(buffer: np.ndarray, width: int, height: int, payload: int) -> None:
    """Draw the code for `payload` in place into an I420 picture.

    `buffer` is the (height * 3 / 2, width) uint8 array of `av.VideoFrame.to_ndarray()` for yuv420p:
    the luma plane, then the two quarter-size chroma planes. Chroma is set to grey inside the code.
    """
    if buffer.shape != (height * 3 // 2, width):
        raise ValueError(f"expected an I420 array of shape {(height * 3 // 2, width)}, got {buffer.shape}")
    luma = buffer[:height]
    chroma = buffer[height:].reshape(2, height // 2, width // 2)
    for index, bit in enumerate(_bits(payload)):
        x0, y0, x1, y1 = _cell_box(width, height, index)
        luma[y0:y1, x0:x1] = WHITE if bit else BLACK
        chroma[:, y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = 128


def stamp_rgb(image: np.ndarray, payload: int) -> None:
    """Draw the code for `payload` in place into an RGB (height, width, 3) uint8 picture."""
    height, width = image.shape[:2]
    for index, bit in enumerate(_bits(payload)):
        x0, y0, x1, y1 = _cell_box(width, height, index)
        image[y0:y1, x0:x1] = WHITE if bit else BLACK


@functools.lru_cache(maxsize=16)
def _sample_points(width: int, height: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Pixel rows and columns to average for every cell: a 4 x 4 grid over the middle half of the cell
    (block edges are where the codec smears). Shape (cells, 16) each; None if the code does not fit."""
    x0, y0, cell = geometry(width, height)
    if y0 + ROWS * cell > height or x0 + COLUMNS * cell > width:
        return None
    offsets = cell / 4 + (np.arange(4) + 0.5) * (cell / 2) / 4  # 4 points across the middle half
    index = np.arange(COLUMNS * ROWS)
    rows, cols = np.divmod(index, COLUMNS)
    ys = (y0 + rows[:, None] * cell + offsets[None, :]).astype(np.intp)  # (cells, 4)
    xs = (x0 + cols[:, None] * cell + offsets[None, :]).astype(np.intp)
    grid_y = np.repeat(ys, 4, axis=1)  # (cells, 16): each y with each x
    grid_x = np.tile(xs, (1, 4))
    return np.minimum(grid_y, height - 1), np.minimum(grid_x, width - 1)


def read_stamp_luma(luma: np.ndarray) -> int | None:
    """The payload stamped into a luma (height, width) picture, or None if there is no valid code."""
    height, width = luma.shape[:2]
    points = _sample_points(width, height)
    if points is None:
        return None
    means = luma[points].mean(axis=1)
    white, black = float(means[0]), float(means[1])
    if white - black < MIN_CONTRAST:
        return None
    bits = means[2:] > (white + black) / 2
    word = int.from_bytes(np.packbits(bits).tobytes(), "big")
    payload, check = word >> CRC_BITS, word & ((1 << CRC_BITS) - 1)
    if crc8(payload.to_bytes(4, "big")) != check:
        return None
    return payload


def read_stamp(frame: av.VideoFrame) -> int | None:
    """The payload stamped into a decoded `av.VideoFrame`, or None. Reads only the luma plane, in place."""
    if frame.format.name in ("yuv420p", "yuvj420p", "nv12", "gray"):
        plane = frame.planes[0]
        size = frame.height * plane.line_size
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8, count=size).reshape(frame.height, -1)
        return read_stamp_luma(rows[:, : frame.width])
    return read_stamp_luma(frame.to_ndarray(format="gray"))
