import pytest

from web.room.budget import TokenBucket


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    clock.now = 0.1  # one token back
    assert bucket.take() and not bucket.take()
    clock.now = 100.0  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 5


def test_a_refused_message_spends_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    assert bucket.take() and not bucket.take() and not bucket.take()
    clock.now = 1.0
    assert bucket.take()


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (1, 0.5)])
def test_a_budget_needs_a_rate_and_a_burst(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst, Clock())
