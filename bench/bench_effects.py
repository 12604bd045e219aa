"""Virtual backgrounds: server CPU time per video frame, against the cost of the transcode itself.

A 640x480 clip of a real person (scikit-image's astronaut, swaying and nodding) is encoded to VP8 once with
aiortc's encoder. Each variant then does what the server does with an attendee's video, frame by frame:
decode (aiortc's VP8 decoder), optionally apply an effect, encode again (aiortc's VP8 encoder, realtime
settings, its starting bitrate). Variants:

1. floor: decode + encode only (what forwarding costs with no effect);
2. naive: full-resolution segmentation every frame (MediaPipe's selfie segmentation solution on the
   640x480 RGB picture), a full-resolution Gaussian blur, float compositing in numpy: a first attempt;
3. ours: `effects.BackgroundProcessor` on the decoded yuv420p frames, for blur, colour and image;
4. the same with the server's own VP8 encoder (`sfu.vp8_encoder`: no denoiser, a faster speed), first
   with no effect: what the server actually pays. "x own" is each row's ratio to the floor with its own
   encoder.

OpenCV runs single-threaded, as `BackgroundProcessor` sets it up by default for a server (the floor does
not use OpenCV). CPU time is `time.process_time()`: every thread of this process (codec threads,
MediaPipe's and OpenCV's workers included), so it is what the server pays, not just the calling thread.
Variants take turns every few frames, so that a noisy machine slows them all alike; each figure is the
median over rounds, and each ratio the median of the per-round ratios to that round's floor (with their
range, to show the noise). The effect's own share (CPU time inside the effect call) is printed as well,
and how often the model ran. Goal: ours at most 1.5x the floor (aiortc's transcode) for every effect.

Bitrate: aiortc's sender starts a stream at 500 kbit/s and follows the receiver's bandwidth estimate
(REMB) up to its maximum of 1.5 Mbit/s, which it reaches within about 15 s on a LAN and keeps for the
rest of a meeting. The goal is judged at that steady rate (both the incoming clip and the server's
encoder at 1.5 Mbit/s); the same table at the 500 kbit/s start rate follows for reference (a cheaper
encode makes the same effect a larger share). `SPEEDMEET_BENCH_BITRATES=1500000` runs one of them.
"""

from __future__ import annotations

import fractions
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import av
import cv2
import numpy as np
from aiortc.codecs.vpx import DEFAULT_BITRATE, MAX_BITRATE, Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame

from effects import BackgroundEffect, BackgroundProcessor, SegmenterPool
from sfu.vp8_encoder import Vp8Encoder as ServerVp8Encoder

WIDTH, HEIGHT = 640, 480
FPS = 30
FRAMES = 90  # three seconds: a full sway there and back is 60 frames
ROUNDS = 7
CHUNK = 10  # frames a variant runs before the next one takes its turn
GOAL = 1.5
TIME_BASE = fractions.Fraction(1, 90_000)

Effect = Callable[[av.VideoFrame], av.VideoFrame]


def astronaut_clip(frames: int = FRAMES) -> list[np.ndarray]:
    """RGB frames of the astronaut swaying sideways and nodding, a 640x480 window on a 680x680 picture."""
    from skimage import data

    picture = cv2.resize(data.astronaut(), (680, 680), interpolation=cv2.INTER_AREA)
    clip = []
    for index in range(frames):
        phase = 2 * math.pi * index / 60
        x0 = 20 + round(18 * math.sin(phase))
        y0 = 40 + round(8 * math.sin(2 * phase))
        clip.append(np.ascontiguousarray(picture[y0 : y0 + HEIGHT, x0 : x0 + WIDTH]))
    return clip


def _encoder(bitrate: int, kind: type[Vp8Encoder] = Vp8Encoder) -> Vp8Encoder:
    encoder = kind()
    encoder.target_bitrate = bitrate
    return encoder


def encode_clip(clip: list[np.ndarray], bitrate: int) -> list[JitterFrame]:
    """The clip as the server receives it: one VP8 frame per picture (frame 0 a keyframe)."""
    encoder = _encoder(bitrate)
    encoded = []
    for index, rgb in enumerate(clip):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = index * 90_000 // FPS
        frame.time_base = TIME_BASE
        payloads, timestamp = encoder.encode(frame)
        encoded.append(JitterFrame(b"".join(vp8_depayload(p) for p in payloads), timestamp))
    return encoded


@dataclass
class Variant:
    name: str
    effect: Effect | None
    processor: BackgroundProcessor | None = None
    encoder: type[Vp8Encoder] = Vp8Encoder  # aiortc's, as the floor; or the server's own
    cpu: list[float] = field(default_factory=list)  # per round: CPU seconds per frame, whole pipeline
    effect_cpu: list[float] = field(default_factory=list)  # per round: CPU seconds per frame in the effect
    wall: list[float] = field(default_factory=list)
    frames: int = 0


class _Run:
    """One variant's pass over the clip in one round, with codecs of its own, fed a chunk at a time."""

    def __init__(self, variant: Variant, bitrate: int) -> None:
        self.variant = variant
        self.decoder, self.encoder = Vp8Decoder(), _encoder(bitrate, variant.encoder)
        self.frames = 0
        self.cpu = self.effect_cpu = self.wall = 0.0

    def step(self, packets: list[JitterFrame]) -> None:
        effect = self.variant.effect
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for packet in packets:
            for frame in self.decoder.decode(packet):
                if effect is not None:
                    assert isinstance(frame, av.VideoFrame)
                    before = time.process_time()
                    frame = effect(frame)
                    self.effect_cpu += time.process_time() - before
                self.encoder.encode(frame)
                self.frames += 1
        self.cpu += time.process_time() - cpu0
        self.wall += time.perf_counter() - wall0

    def finish(self) -> None:
        self.variant.cpu.append(self.cpu / self.frames)
        self.variant.effect_cpu.append(self.effect_cpu / self.frames)
        self.variant.wall.append(self.wall / self.frames)
        self.variant.frames += self.frames


def run_round(variants: list[Variant], encoded: list[JitterFrame], bitrate: int) -> None:
    """Every variant over the clip, taking turns every `CHUNK` frames (in a rotating order), so that
    they all meet the same load on a shared machine."""
    runs = [_Run(variant, bitrate) for variant in variants]
    for turn, start in enumerate(range(0, len(encoded), CHUNK)):
        for i in range(len(runs)):
            runs[(turn + i) % len(runs)].step(encoded[start : start + CHUNK])
    for run in runs:
        run.finish()


class NaiveBlur:
    """What a first attempt looks like: BGR frames, MediaPipe's solution on the full picture every frame,
    a full-resolution blur and float compositing."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._segmentation = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        bgr = frame.to_ndarray(format="bgr24")
        mask = self._segmentation.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).segmentation_mask
        blurred = cv2.GaussianBlur(bgr, (55, 55), 0)
        alpha = np.clip(mask, 0.0, 1.0)[..., None].astype(np.float64)
        out = (bgr * alpha + blurred * (1.0 - alpha)).astype(np.uint8)
        result = av.VideoFrame.from_ndarray(out, format="bgr24")
        result.pts, result.time_base = frame.pts, frame.time_base
        return result

    def close(self) -> None:
        self._segmentation.close()


def main() -> None:
    clip = astronaut_clip()
    bitrates = [int(b) for b in os.environ.get("SPEEDMEET_BENCH_BITRATES", "").split(",") if b.strip()]
    from skimage import data

    picture = data.coffee()  # a photo (600x400) to fit behind the person by "cover"
    pool = SegmenterPool(1)
    naive = NaiveBlur()
    try:
        for bitrate in bitrates or [MAX_BITRATE, DEFAULT_BITRATE]:
            measure(clip, bitrate, picture, pool, naive)
    finally:
        naive.close()
        pool.close()


def measure(
    clip: list[np.ndarray], bitrate: int, picture: np.ndarray, pool: SegmenterPool, naive: NaiveBlur
) -> float:
    """One table: every variant at `bitrate` (in and out); returns the worst effect's ratio to the floor."""
    encoded = encode_clip(clip, bitrate)
    effects = {
        "blur": BackgroundEffect.blurred(0.5),
        "colour": BackgroundEffect.solid((38, 50, 56)),
        "image": BackgroundEffect.picture(picture),
    }
    # Each variant has a processor of its own: the mask smoothing keeps state from frame to frame.
    variants = [
        Variant("floor: decode + encode", None),
        Variant("naive blur (reference)", naive),
        *(_ours(f"ours: {name}", effect, pool) for name, effect in effects.items()),
        Variant("server floor (its encoder)", None, encoder=ServerVp8Encoder),
        *(
            _ours(f"server: {name}", effect, pool, encoder=ServerVp8Encoder)
            for name, effect in effects.items()
        ),
    ]
    steady = " (steady state: the goal's rate)" if bitrate == MAX_BITRATE else " (start rate: for reference)"
    print(
        f"\n{FRAMES} frames of {WIDTH}x{HEIGHT} VP8 at {bitrate // 1000} kbit/s{steady}, aiortc codecs; "
        f"{ROUNDS} rounds, variants taking turns every {CHUNK} frames; medians; {os.cpu_count()} CPUs; "
        f"cv2 threads {cv2.getNumThreads()}"
    )
    run_round(variants, encoded[:CHUNK], bitrate)  # warm-up: model loads, first keyframes, caches
    for variant in variants:
        variant.cpu.clear()
        variant.effect_cpu.clear()
        variant.wall.clear()
        variant.frames = 0
    segmentations = [variant.processor.segmentations if variant.processor else 0 for variant in variants]
    for _ in range(ROUNDS):
        run_round(variants, encoded, bitrate)
    for variant in variants:
        if variant.processor is not None:
            variant.processor.close()

    floor = variants[0].cpu
    own_floor = {variant.encoder: variant.cpu for variant in variants if variant.effect is None}
    print(
        f"{'variant':<28}{'CPU ms/frame':>13}{'x floor':>9}{'(range)':>13}{'x own':>7}{'effect ms':>10}"
        f"{'wall ms':>9}{'model runs':>11}"
    )
    worst = server_worst = 0.0
    for variant, segmented in zip(variants, segmentations, strict=True):
        ratios = [cpu / base for cpu, base in zip(variant.cpu, floor, strict=True)]
        ratio = statistics.median(ratios)
        own = statistics.median(
            cpu / base for cpu, base in zip(variant.cpu, own_floor[variant.encoder], strict=True)
        )
        runs = "every"
        if variant.processor is not None:
            if variant.encoder is Vp8Encoder:
                worst = max(worst, ratio)
            else:
                server_worst = max(server_worst, ratio)
            runs = f"{(variant.processor.segmentations - segmented) / variant.frames:.2f}/fr"
        elif variant.effect is None:
            runs = "-"
        spread = f"({min(ratios):.2f}-{max(ratios):.2f})"
        cpu_ms, effect_ms, wall_ms = (
            statistics.median(values) * 1000 for values in (variant.cpu, variant.effect_cpu, variant.wall)
        )
        print(
            f"{variant.name:<28}{cpu_ms:>13.2f}{ratio:>9.2f}{spread:>13}{own:>7.2f}{effect_ms:>10.2f}"
            f"{wall_ms:>9.2f}{runs:>11}"
        )
    verdict = "met" if worst <= GOAL else "NOT met"
    print(f"at {bitrate // 1000} kbit/s: every effect at most {GOAL}x the floor: {verdict} ({worst:.2f}x)")
    print(
        f"at {bitrate // 1000} kbit/s: what the server pays for an effect (with its own encoder) is at most "
        f"{server_worst:.2f}x aiortc's transcode floor"
    )
    return worst


def _ours(
    name: str, effect: BackgroundEffect, pool: SegmenterPool, encoder: type[Vp8Encoder] = Vp8Encoder
) -> Variant:
    processor = BackgroundProcessor(effect, segmenters=pool)
    return Variant(name, processor.process_frame, processor=processor, encoder=encoder)


if __name__ == "__main__":
    main()
