"""The threads that handle uploads, owned by the application: decoding and re-encoding images, probing
videos, and writing to disk never run on the event loop nor on the default executor (where the media
plane loads background images), and a burst of uploads decodes at most `DECODE_THREADS` images at once."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# Each decode may hold up to 4 bytes a pixel of the largest image accepted (64 MiB by default): two at
# once bound the memory uploads can take, whatever the number of uploads in flight (the others wait
# their turn with their bytes on disk).
DECODE_THREADS = 2
FILE_THREADS = 2


class UploadWorkers:
    def __init__(self, decode_threads: int = DECODE_THREADS, file_threads: int = FILE_THREADS) -> None:
        self._decode = ThreadPoolExecutor(decode_threads, thread_name_prefix="upload-decode")
        self._files = ThreadPoolExecutor(file_threads, thread_name_prefix="upload-files")

    async def decode(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run CPU- and memory-heavy work (decoding, encoding, probing) on a decode thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._decode, functools.partial(fn, *args, **kwargs)
        )

    async def files(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a short file system call (open, write, rename, remove) on a file thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._files, functools.partial(fn, *args, **kwargs)
        )

    def close(self) -> None:
        """Wait for the work already running; drop what still waits (blocking: off the event loop)."""
        self._decode.shutdown(wait=True, cancel_futures=True)
        self._files.shutdown(wait=True, cancel_futures=True)
