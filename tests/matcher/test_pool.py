from __future__ import annotations

import random
from collections import Counter

import pytest

from matcher import ReadyPool, SessionRules

EVERYONE = SessionRules(meeting_seconds=60)
NO_BLOCKS: dict[str, set[str]] = {}
NO_HISTORY: dict[str, dict[str, float]] = {}


def pool_of(members: list[tuple[str, str]], rules: SessionRules = EVERYONE, seed: int = 1) -> ReadyPool:
    """A pool with `members` (attendee, ticket type) ready in that order, one second apart."""
    pool = ReadyPool(rules.may_meet, random.Random(seed))
    for i, (attendee, ticket_type) in enumerate(members):
        pool.add(attendee, ticket_type, float(i))
    return pool


def symmetric(pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, b in pairs:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out


def test_membership_and_bookkeeping() -> None:
    pool = pool_of([("a", "A"), ("b", "B"), ("c", "A")])
    assert len(pool) == 3 and "a" in pool and "z" not in pool
    assert sorted(pool) == ["a", "b", "c"]
    assert pool.count("A") == 2 and pool.count("B") == 1 and pool.count("Z") == 0
    assert pool.ticket_type("b") == "B" and pool.ticket_type("z") is None
    assert pool.waiting_since("c") == 2.0 and pool.waiting_since("z") is None
    with pytest.raises(ValueError):
        pool.add("a", "A", 9.0)
    assert pool.remove("a") is True
    assert pool.remove("a") is False
    assert sorted(pool.members("A")) == ["c"]
    assert pool.longest_waiting_first() == ["b", "c"]


def test_removal_keeps_buckets_consistent() -> None:
    rng = random.Random(3)
    pool = pool_of([])
    present: dict[str, str] = {}
    for step in range(2000):
        attendee = f"p{rng.randrange(60)}"
        if attendee in present:
            assert pool.remove(attendee)
            del present[attendee]
        else:
            ticket_type = rng.choice("ABC")
            pool.add(attendee, ticket_type, float(step))
            present[attendee] = ticket_type
    for ticket_type in "ABC":
        assert sorted(pool.members(ticket_type)) == sorted(a for a, t in present.items() if t == ticket_type)
    assert len(pool) == len(present)


def test_longest_waiting_ties_keep_ready_order() -> None:
    pool = ReadyPool(EVERYONE.may_meet, random.Random(1))
    for attendee in ["c", "a", "b"]:
        pool.add(attendee, "A", 5.0)
    pool.add("z", "A", 1.0)
    assert pool.longest_waiting_first() == ["z", "c", "a", "b"]


def test_allowed_types_follow_the_matrix_over_known_types() -> None:
    rules = SessionRules(meeting_seconds=60, allowed_pairs=SessionRules.pairs_from([("A", "B"), ("B", "B")]))
    pool = pool_of([("a", "A"), ("b", "B")], rules)
    assert pool.allowed_types("A") == ("B",)
    assert set(pool.allowed_types("B")) == {"A", "B"}
    pool.add("c", "C", 5.0)  # a new type is taken into account at once
    assert pool.allowed_types("C") == ()


def test_round_pairs_everyone_who_can_meet_and_empties_the_pool() -> None:
    pool = pool_of([(f"p{i}", "A") for i in range(10)])
    pairs = pool.pair_round(100.0, NO_BLOCKS, NO_HISTORY, 300.0)
    assert len(pairs) == 5
    assert sorted(x for pair in pairs for x in pair) == sorted(f"p{i}" for i in range(10))
    assert len(pool) == 0


def test_odd_one_out_stays_in_the_pool() -> None:
    pool = pool_of([("a", "A"), ("b", "A"), ("c", "A")])
    pairs = pool.pair_round(100.0, NO_BLOCKS, NO_HISTORY, 300.0)
    assert len(pairs) == 1 and len(pool) == 1
    # The longest-waiting is served first: "a" is always in the pair.
    assert "a" in pairs[0]


def test_matrix_is_respected() -> None:
    rules = SessionRules(meeting_seconds=60, allowed_pairs=SessionRules.pairs_from([("mentor", "mentee")]))
    members = [(f"m{i}", "mentor") for i in range(5)] + [(f"e{i}", "mentee") for i in range(3)]
    pool = pool_of(members, rules)
    pairs = pool.pair_round(100.0, NO_BLOCKS, NO_HISTORY, 300.0)
    assert len(pairs) == 3
    for a, b in pairs:
        assert {a[0], b[0]} == {"m", "e"}
    assert sorted(pool) == sorted(x for x, _ in members if x not in {p for pair in pairs for p in pair})
    assert all(pool.ticket_type(x) == "mentor" for x in pool)


def test_blocked_pairs_never_meet_in_either_direction() -> None:
    pool = pool_of([("a", "A"), ("b", "A")])
    assert pool.pair_round(100.0, symmetric([("b", "a")]), NO_HISTORY, 300.0) == []
    assert len(pool) == 2


def test_cooldown_excludes_recent_partners_until_it_ends() -> None:
    parted = {"a": {"b": 50.0}, "b": {"a": 50.0}}
    pool = pool_of([("a", "A"), ("b", "A")])
    assert pool.pair_round(349.9, NO_BLOCKS, parted, 300.0) == []
    assert pool.pair_round(350.0, NO_BLOCKS, parted, 300.0) == [("a", "b")]


def test_no_cooldown_when_rematch_is_allowed() -> None:
    parted = {"a": {"b": 99.0}, "b": {"a": 99.0}}
    pool = pool_of([("a", "A"), ("b", "A")])
    assert pool.pair_round(100.0, NO_BLOCKS, parted, None) == [("a", "b")]


def test_longest_waiting_is_served_first_so_nobody_starves() -> None:
    # "old" may meet only B; the Bs may also meet each other. Served in any other order, the two Bs would
    # pair up and leave "old" waiting forever.
    rules = SessionRules(meeting_seconds=60, allowed_pairs=SessionRules.pairs_from([("A", "B"), ("B", "B")]))
    for seed in range(50):
        pool = pool_of([("old", "A"), ("b1", "B"), ("b2", "B")], rules, seed=seed)
        pairs = pool.pair_round(100.0, NO_BLOCKS, NO_HISTORY, 300.0)
        assert pairs[0][0] == "old"


def test_the_only_eligible_partner_is_found_among_many_excluded() -> None:
    members = [("x", "A")] + [(f"p{i}", "A") for i in range(200)]
    pool = pool_of(members)
    blocked = symmetric([("x", f"p{i}") for i in range(200) if i != 137])
    pairs = pool.pair_round(100.0, blocked, NO_HISTORY, 300.0)
    assert ("x", "p137") in pairs


@pytest.mark.parametrize("candidates", [5, 20])  # a scan below 16 candidates, random probes above
def test_partner_is_uniformly_random_among_the_eligible(candidates: int) -> None:
    members = [("x", "A")] + [(f"p{i}", "A") for i in range(candidates)]
    # p0 is excluded by cooldown and must never be picked.
    parted = {"x": {"p0": 90.0}, "p0": {"x": 90.0}}
    picks: Counter[str] = Counter()
    trials = 150 * (candidates - 1)
    for seed in range(trials):
        pool = pool_of(members, seed=seed)
        first = pool.pair_round(100.0, NO_BLOCKS, parted, 300.0)[0]
        assert first[0] == "x"
        picks[first[1]] += 1
    assert "p0" not in picks
    assert set(picks) == {f"p{i}" for i in range(1, candidates)}
    # About 150 each; a fair die stays well inside these bounds (4 standard deviations) for these seeds.
    assert min(picks.values()) > 100 and max(picks.values()) < 200


def test_no_two_left_over_members_may_meet() -> None:
    rules = SessionRules(meeting_seconds=60, allowed_pairs=SessionRules.pairs_from([("A", "B"), ("C", "C")]))
    rng = random.Random(11)
    for _ in range(100):
        members = [(f"p{i}", rng.choice("ABC")) for i in range(rng.randrange(2, 30))]
        ids = [m for m, _ in members]
        blocks = [(rng.choice(ids), rng.choice(ids)) for _ in range(rng.randrange(5))]
        blocked = symmetric([(a, b) for a, b in blocks if a != b])
        history = [(rng.choice(ids), rng.choice(ids), rng.uniform(0, 100)) for _ in range(rng.randrange(10))]
        parted: dict[str, dict[str, float]] = {}
        for a, b, at in history:
            if a != b:
                parted.setdefault(a, {})[b] = at
                parted.setdefault(b, {})[a] = at
        type_of = dict(members)
        pool = pool_of(members, rules, seed=rng.randrange(1000))

        def may_pair(
            a: str,
            b: str,
            type_of: dict[str, str] = type_of,
            blocked: dict[str, set[str]] = blocked,
            parted: dict[str, dict[str, float]] = parted,
        ) -> bool:
            return (
                a != b
                and rules.may_meet(type_of[a], type_of[b])
                and b not in blocked.get(a, set())
                and parted.get(a, {}).get(b, -1e9) + 50.0 <= 100.0
            )

        pairs = pool.pair_round(100.0, blocked, parted, 50.0)
        for a, b in pairs:
            assert may_pair(a, b)
        left = list(pool)
        assert not any(may_pair(a, b) for a in left for b in left)


def test_retype_moves_buckets_but_keeps_the_place_in_the_queue() -> None:
    pool = ReadyPool(EVERYONE.may_meet, random.Random(1))
    for attendee in ["a", "b", "c"]:
        pool.add(attendee, "A", 5.0)
    pool.retype("a", "B")
    assert pool.ticket_type("a") == "B" and pool.count("A") == 2 and pool.count("B") == 1
    assert pool.waiting_since("a") == 5.0
    assert pool.longest_waiting_first() == ["a", "b", "c"]
    with pytest.raises(ValueError):
        pool.retype("z", "A")
    assert len(pool) == 3
