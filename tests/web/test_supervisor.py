"""Supervised child processes: restarts with backoff, and nothing left running after stop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from tests.sfu.sfu_testing import wait_until
from web.supervisor import Backoff, ChildProcess

ROOT = str(Path(__file__).resolve().parents[2])


def _gone(pid: int) -> bool:
    """No such process, or only its zombie is left (its parent has not reaped it yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()
    except OSError:
        return True


def _has_text(path: Path) -> bool:
    return path.exists() and bool(path.read_text())


def _read_int(path: Path) -> int:
    return int(path.read_text())


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


class RecordedSleep:
    """Backoff sleeps that return at once, so the test needs no waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def test_backoff_doubles_up_to_its_longest() -> None:
    backoff = Backoff(first=0.5, factor=2, longest=3)
    assert [backoff.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3, 3]
    with pytest.raises(ValueError):
        Backoff(first=0)


async def test_a_crashing_child_is_restarted_with_growing_delays() -> None:
    sleep = RecordedSleep()
    child = ChildProcess(
        "crasher", lambda: _python("import sys; sys.exit(3)"), backoff=Backoff(first=0.5), sleep=sleep
    )
    await child.start()
    try:
        async with asyncio.timeout(30):
            await child.wait_started(5)
    finally:
        await child.stop()
    assert sleep.delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert child.exit_codes[:4] == [3, 3, 3, 3]


async def test_a_child_that_ran_long_enough_restarts_after_the_first_delay() -> None:
    ticks = iter(range(0, 10_000, 100))  # each run seems to last 100 s
    sleep = RecordedSleep()
    child = ChildProcess(
        "long-runner",
        lambda: _python("import sys; sys.exit(1)"),
        backoff=Backoff(first=0.5, stable_after=30),
        sleep=sleep,
        clock=lambda: float(next(ticks)),
    )
    await child.start()
    try:
        async with asyncio.timeout(30):
            await child.wait_started(4)
    finally:
        await child.stop()
    assert sleep.delays[:3] == [0.5, 0.5, 0.5]


async def test_stop_ends_a_child_that_ignores_sigterm_and_its_own_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    code = f"""
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = subprocess.Popen(["sleep", "60"])
        open({str(pids)!r}, "w").write(str(grandchild.pid))
        time.sleep(60)
    """
    child = ChildProcess("stubborn", lambda: _python(code), stop_seconds=0.5)
    await child.start()
    await wait_until(lambda: _has_text(pids), within=10, what="the grandchild")
    pid, grandchild = child.pid, _read_int(pids)
    assert pid is not None
    code_ = await child.stop()
    assert code_ == -signal.SIGKILL
    assert child.pid is None and _gone(pid)
    await wait_until(lambda: _gone(grandchild), within=10, what="the grandchild's end")


async def test_stop_during_the_backoff_leaves_nothing_running() -> None:
    never = asyncio.Event()

    async def sleep_for_ever(delay: float) -> None:
        await never.wait()

    child = ChildProcess("crasher", lambda: _python("raise SystemExit(2)"), sleep=sleep_for_ever)
    await child.start()
    await wait_until(lambda: bool(child.exit_codes), within=10, what="an exit")
    assert await child.stop() is None
    assert child.starts == 1 and child.pid is None


async def test_a_child_that_stops_on_sigterm_is_not_killed() -> None:
    code = """
        import signal, sys, time
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print("ready", flush=True)
        time.sleep(60)
    """
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    log = logging.getLogger("test.supervisor.output")
    log.setLevel(logging.DEBUG)
    handler = Collect()
    log.addHandler(handler)
    try:
        child = ChildProcess("polite", lambda: _python(code), output=log, stop_seconds=20)
        await child.start()
        await wait_until(lambda: any("ready" in line for line in lines), within=10, what="ready")
        assert await child.stop() == 0
    finally:
        log.removeHandler(handler)
    assert "polite: ready" in lines


async def test_a_missing_program_fails_at_start(tmp_path: Path) -> None:
    child = ChildProcess("missing", lambda: [str(tmp_path / "nothing")])
    with pytest.raises(OSError):
        await child.start()
    await child.stop()


async def test_children_die_with_their_parent(tmp_path: Path) -> None:
    """A control plane killed with SIGKILL leaves no child behind (Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux only")
    pid_file = tmp_path / "child"
    parent_code = f"""
        import asyncio, sys
        from web.supervisor import ChildProcess

        async def main():
            child = ChildProcess("sleeper", lambda: ["sleep", "60"])
            await child.start()
            open({str(pid_file)!r}, "w").write(str(child.pid))
            await asyncio.sleep(60)

        asyncio.run(main())
    """
    env = {**os.environ, "PYTHONPATH": ROOT}
    parent = await asyncio.create_subprocess_exec(*_python(parent_code), env=env)
    try:
        await wait_until(lambda: _has_text(pid_file), within=30, what="the child")
        child_pid = _read_int(pid_file)
        assert not _gone(child_pid)
    finally:
        parent.kill()
        await parent.wait()
    await wait_until(lambda: _gone(child_pid), within=10, what="the child's end")
