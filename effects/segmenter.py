"""Person/background segmentation with MediaPipe's selfie segmentation model (the bundled landscape one).

The landscape model takes a 256x144 RGB picture and returns, per pixel of that picture, the confidence
that it shows the person. MediaPipe would resize any input to that size itself (stretching, not keeping
the aspect ratio); callers that already hold a 256x144 picture skip that work and get a 256x144 mask.

The model file ships inside the pinned `mediapipe` wheel, so nothing is downloaded. One `Segmenter` is
loaded once per stream and reused for every frame; a lock makes it safe to call from any thread, one call
at a time.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from effects.errors import FrameError, SegmenterError

logger = logging.getLogger(__name__)

INPUT_WIDTH = 256
INPUT_HEIGHT = 144


def _bundled_model() -> Path:
    """The landscape model inside the installed mediapipe package (found without importing it)."""
    spec = importlib.util.find_spec("mediapipe")
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    root = Path(roots[0]) if roots else Path("mediapipe")
    return root / "modules" / "selfie_segmentation" / "selfie_segmentation_landscape.tflite"


MODEL_PATH = _bundled_model()


class Segmenter:
    """Selfie segmentation: `segment(rgb)` -> float32 person confidence in [0, 1], one per input pixel.

    Give it a 256x144 RGB picture (`INPUT_WIDTH` x `INPUT_HEIGHT`) for the cheapest call; other sizes are
    resized to that and the mask comes back at the model's size, not the input's.
    """

    def __init__(self, model_path: Path | str | None = None) -> None:
        path = Path(model_path) if model_path is not None else MODEL_PATH
        if not path.is_file():
            raise SegmenterError(f"segmentation model not found: {path}")
        # Imported here, not at module level: it takes most of a second, and code that only checks
        # effect settings never needs it. (Loading a model makes MediaPipe's C++ side print two or three
        # lines on stderr through absl, which no environment variable of this version silences: one
        # more reason to load a few models for a whole server, see SegmenterPool.)
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._image = mp.Image
        self._srgb = mp.ImageFormat.SRGB
        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path=str(path), delegate=BaseOptions.Delegate.CPU),
            running_mode=vision.RunningMode.IMAGE,
            output_confidence_masks=True,
            output_category_mask=False,
        )
        started = time.perf_counter()
        try:
            self._segmenter: Any = vision.ImageSegmenter.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise SegmenterError(f"cannot load segmentation model {path}: {exc}") from exc
        logger.info(
            "loaded segmentation model %s in %.0f ms", path.name, (time.perf_counter() - started) * 1000
        )
        self._lock = threading.Lock()
        self._closed = False
        self.model_path = path
        self.calls = 0

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        """Person confidence (float32, `INPUT_HEIGHT` x `INPUT_WIDTH`, 0..1) for an RGB uint8 picture."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise FrameError("segmenter input must be an RGB uint8 array of shape (height, width, 3)")
        if rgb.shape[:2] != (INPUT_HEIGHT, INPUT_WIDTH):
            rgb = cv2.resize(rgb, (INPUT_WIDTH, INPUT_HEIGHT), interpolation=cv2.INTER_AREA)
        image = self._image(image_format=self._srgb, data=np.ascontiguousarray(rgb))
        with self._lock:
            if self._closed:
                raise SegmenterError("segmenter is closed")
            try:
                result = self._segmenter.segment(image)
            except (RuntimeError, ValueError) as exc:
                raise SegmenterError(f"segmentation failed: {exc}") from exc
            self.calls += 1
            # The result's buffer belongs to MediaPipe: copy it out before the next call reuses it.
            mask: np.ndarray = np.array(result.confidence_masks[0].numpy_view(), dtype=np.float32, copy=True)
        return mask.reshape(INPUT_HEIGHT, INPUT_WIDTH)

    def close(self) -> None:
        """Free the model. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._segmenter.close()

    def __enter__(self) -> Segmenter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
