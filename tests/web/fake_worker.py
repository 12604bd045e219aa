"""A media worker process for tests: the real worker (`sfu.worker.run_worker`, its command line, the
bus, signals and drain) with the recording stand-in in place of the media plane.
Run as ``python -m tests.web.fake_worker --nats-url ... --worker-id ...``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from sfu.worker import run_worker
from tests.web.room.media_stand_in import RecordingMediaPlane
from web.worker_cli import add_worker_arguments, worker_options


class StandInPlane(RecordingMediaPlane):
    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    add_worker_arguments(parser, os.environ)
    options = worker_options(parser.parse_args(), os.environ)
    logging.basicConfig(level=logging.INFO)
    return asyncio.run(run_worker(options, plane=StandInPlane()))


if __name__ == "__main__":
    sys.exit(main())
