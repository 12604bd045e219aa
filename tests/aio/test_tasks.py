import asyncio
import gc
import logging
import warnings

import pytest

from aio import cancel_and_wait, log_crash, logged_task, repeat


async def test_cancel_and_wait_ends_every_task_and_skips_none() -> None:
    ended: list[str] = []

    async def sleeper(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append(name)

    a = asyncio.create_task(sleeper("a"), name="a")
    b = asyncio.create_task(sleeper("b"), name="b")
    await asyncio.sleep(0)
    await cancel_and_wait(a, None, b)
    assert a.done() and b.done()
    assert sorted(ended) == ["a", "b"]


async def test_cancel_and_wait_swallows_a_task_that_already_failed() -> None:
    async def boom() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(boom(), name="boom")
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert isinstance(task.exception(), RuntimeError)


async def test_cancel_and_wait_finishes_the_tasks_when_the_caller_is_cancelled() -> None:
    release = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await release.wait()

    inner = asyncio.create_task(slow_to_stop(), name="inner")
    await asyncio.sleep(0)
    outer = asyncio.create_task(cancel_and_wait(inner), name="outer")
    await asyncio.sleep(0.01)
    outer.cancel()
    await asyncio.sleep(0.01)
    assert not outer.done()  # still waiting for inner to end
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert inner.done()


async def test_logged_task_logs_a_crash_and_ends_with_none(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> int:
        raise ValueError("bad")

    with caplog.at_level(logging.ERROR):
        task = logged_task(boom(), name="worker-boom")
        assert await task is None
    assert task.get_name() == "worker-boom"
    assert "task worker-boom crashed" in caplog.text
    assert "ValueError: bad" in caplog.text


async def test_logged_task_returns_the_result() -> None:
    async def seven() -> int:
        return 7

    assert await logged_task(seven(), name="seven") == 7


async def test_a_logged_task_cancelled_before_it_ran_leaves_no_unawaited_coroutine() -> None:
    ran = False

    async def body() -> None:
        nonlocal ran
        ran = True

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task = logged_task(body(), name="never-ran")
        await cancel_and_wait(task)
        del task
        gc.collect()
    assert not ran
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_log_crash_logs_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test")
    with caplog.at_level(logging.ERROR), log_crash(log, "round %d", 3):
        raise KeyError("x")
    assert "round 3 failed" in caplog.text


async def test_repeat_goes_on_after_a_failing_round(caplog: pytest.LogCaptureFixture) -> None:
    rounds = 0
    third = asyncio.Event()

    async def body() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 3:
            third.set()
        if rounds == 1:
            raise RuntimeError("first round fails")

    task = asyncio.create_task(repeat(body, 0.001, log=logging.getLogger("t"), what="tick"), name="rep")
    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(third.wait(), 5)
    await cancel_and_wait(task)
    assert "tick failed" in caplog.text
