from __future__ import annotations

import random

import pytest

from matcher.waiting import FreeTimeIndex

ENTRIES = [
    (130.0, "a1", "A"),
    (110.0, "a2", "A"),
    (120.0, "b1", "B"),
    (150.0, "b2", "B"),
    (140.0, "c1", "C"),
]


def test_built_from_rows_by_type() -> None:
    index = FreeTimeIndex({"A": [(130.0, "a1"), (110.0, "a2")], "B": [(120.0, "b1")]})
    assert len(index) == 3
    assert index.kth_free_time(("A", "B"), 1, (), ()) == 120.0


def test_counts_people_free_by_a_time_for_the_given_types() -> None:
    index = FreeTimeIndex.from_entries(ENTRIES)
    assert len(index) == 5
    assert index.count_until(("A",), 129.0) == 1
    assert index.count_until(("A",), 130.0) == 2
    assert index.count_until(("A", "B"), 125.0) == 2
    assert index.count_until(("C", "A", "B"), 1e9) == 5
    assert index.count_until(("Z",), 1e9) == 0


def test_next_free_time_after_a_moment() -> None:
    index = FreeTimeIndex.from_entries(ENTRIES)
    assert index.next_free_after(0.0) == 110.0
    assert index.next_free_after(130.0) == 140.0
    assert index.next_free_after(150.0) is None
    assert FreeTimeIndex.from_entries([]).next_free_after(0.0) is None


def test_kth_free_time_counts_the_queue_ahead() -> None:
    index = FreeTimeIndex.from_entries(ENTRIES)
    assert index.kth_free_time(("A", "B"), 0, (), ()) == 110.0
    assert index.kth_free_time(("A", "B"), 2, (), ()) == 130.0
    assert index.kth_free_time(("A", "B"), 3, (), ()) == 150.0
    assert index.kth_free_time(("A", "B"), 4, (), ()) is None
    with pytest.raises(ValueError):
        index.kth_free_time(("A",), -1, (), ())


def test_kth_free_time_skips_excluded_people_and_adds_extra_times() -> None:
    index = FreeTimeIndex.from_entries(ENTRIES)
    # a2 is blocked: the first free eligible one is b1.
    assert index.kth_free_time(("A", "B"), 0, {"a2"}, ()) == 120.0
    # A recent partner whose cooldown ends at 115 counts as free then.
    assert index.kth_free_time(("A", "B"), 1, {"a2"}, [115.0]) == 120.0
    assert index.kth_free_time(("A", "B"), 0, {"a2"}, [115.0]) == 115.0
    assert index.kth_free_time(("Z",), 0, (), [300.0, 200.0]) == 200.0
    assert index.kth_free_time(("Z",), 2, (), [300.0, 200.0]) is None


def test_kth_free_time_agrees_with_a_plain_sort() -> None:
    rng = random.Random(5)
    for _ in range(300):
        entries = [(float(rng.randrange(50)), f"p{i}", rng.choice("ABC")) for i in range(rng.randrange(30))]
        index = FreeTimeIndex.from_entries(entries)
        types = tuple(rng.sample("ABC", rng.randrange(1, 4)))
        excluded = {f"p{rng.randrange(30)}" for _ in range(rng.randrange(6))}
        extras = [float(rng.randrange(50)) for _ in range(rng.randrange(4))]
        k = rng.randrange(12)
        times = sorted(
            [t for t, attendee, ticket_type in entries if ticket_type in types and attendee not in excluded]
            + extras
        )
        expected = times[k] if k < len(times) else None
        assert index.kth_free_time(types, k, excluded, extras) == expected
        until = float(rng.randrange(50))
        assert index.count_until(types, until) == sum(
            1 for t, _, ticket_type in entries if ticket_type in types and t <= until
        )
