"""Uploads run on threads of their own, at most two decodes at once: the memory of many parallel uploads
stays that of two, measured on a real server process."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from tests.web.api_client import EVENT, SESSION
from web.upload_workers import DECODE_THREADS, UploadWorkers

MiB = 1024 * 1024


async def test_decodes_run_on_their_own_threads_at_most_two_at_once() -> None:
    workers = UploadWorkers()
    running = 0
    most = 0
    names: set[str] = set()
    lock = threading.Lock()

    def decode(i: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            names.add(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            running -= 1
        return i * i

    try:
        results = await asyncio.gather(*(workers.decode(decode, i) for i in range(8)))
        assert results == [i * i for i in range(8)]
        assert most == DECODE_THREADS == 2
        assert all(n.startswith("upload-decode") for n in names)
        assert (await workers.files(threading.current_thread)).name.startswith("upload-files")
    finally:
        await asyncio.get_running_loop().run_in_executor(None, workers.close)
    with pytest.raises(RuntimeError):
        await workers.decode(decode, 1)  # closed: nothing runs after the app stopped


def _status_kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    m = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    assert m is not None, status
    return int(m.group(1))


def _reset_peak(pid: int) -> None:
    """Start the process's peak resident memory (VmHWM) again from its current size."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


SERVER = """
import asyncio, sys
from pathlib import Path
from web.cli import serve
from web.config import Config
asyncio.run(serve(Config(port=0, data_dir=Path(sys.argv[1]), preload_effects=False)))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")
async def test_memory_of_six_parallel_big_uploads_stays_that_of_two(tmp_path: Path) -> None:
    side = 4000  # 16 megapixels, under the default limit: every one of them is decoded
    buf = io.BytesIO()
    Image.new("RGB", (side, side), (30, 120, 200)).save(buf, format="PNG")
    png = buf.getvalue()
    assert len(png) < 200_000  # a small file that decodes to 64 MiB
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPEEDMEET_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER, str(tmp_path / "data"), env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    output = ""
    try:
        async with asyncio.timeout(90):
            while (m := re.search(r"running on (http://\S+)", output)) is None:
                line = (await proc.stdout.readline()).decode()
                assert line, "server exited early:\n" + output
                output += line
        url = m.group(1)
        token = (re.search(r"New admin token.*\n\s+(\S+)", output) or pytest.fail(output)).group(1)
        admin = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/api/admin/events", json=EVENT, headers=admin) as r:
                event = await r.json()
            await http.post(
                f"{url}/api/admin/events/{event['id']}/ticket-types", json={"name": "Attendee"}, headers=admin
            )
            await http.post(f"{url}/api/admin/events/{event['id']}/sessions", json=SESSION, headers=admin)
            ticket = {"tickets": [{"name": "Ada", "email": "ada@example.org", "ticket_type": "Attendee"}]}
            async with http.post(
                f"{url}/api/admin/events/{event['id']}/tickets", json=ticket, headers=admin
            ) as r:
                secret = (await r.json())["tickets"][0]["secret"]

            async def upload(data: bytes) -> dict[str, object]:
                async with http.post(f"{url}/api/me/backgrounds", params={"t": secret}, data=data) as r:
                    assert r.status == 201, await r.text()
                    body: dict[str, object] = await r.json()
                    return body

            await upload(png)  # warm up: threads, Pillow's plugins, the database's pages
            await asyncio.sleep(0.2)
            baseline = _status_kib(proc.pid, "VmRSS")
            _reset_peak(proc.pid)
            stored = await asyncio.gather(*(upload(png) for _ in range(6)))
            peak = _status_kib(proc.pid, "VmHWM")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            await proc.communicate()
    assert all((s["width"], s["height"]) == (1920, 1920) for s in stored)  # scaled down to what is shown
    growth = (peak - baseline) * 1024
    decoded = side * side * 4  # Pillow keeps RGB at 4 bytes a pixel
    print(f"peak growth {growth / MiB:.0f} MiB for 6 parallel uploads of {decoded / MiB:.0f} MiB each")
    # Two decodes at a time, each the decoded image and less than as much again while scaling it down
    # (about 190 MiB in all). Six at once, with the four copies each that re-encoding used to make, took
    # 1.6 GiB.
    assert growth < DECODE_THREADS * 2 * decoded + 64 * MiB, f"{growth / MiB:.0f} MiB"
