"""The completion of a round to a maximum pairing, checked against an independent textbook algorithm."""

from __future__ import annotations

import random
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import ReadyPool, SessionRules
from matcher.augment import complete
from tests.matcher.matching import maximum_matching_size

TYPE_PAIRS = [frozenset(p) for p in (("A",), ("B",), ("C",), ("A", "B"), ("A", "C"), ("B", "C"))]


@st.composite
def rounds(draw: st.DrawFn, most: int = 14) -> dict:
    n = draw(st.integers(2, most))
    people = [f"p{i}" for i in range(n)]
    matrix = None if draw(st.booleans()) else frozenset(draw(st.lists(st.sampled_from(TYPE_PAIRS))))
    exclusions = draw(st.lists(st.tuples(st.sampled_from(people), st.sampled_from(people)), max_size=3 * n))
    return {
        "people": people,
        "types": {p: draw(st.sampled_from("ABC")) for p in people},
        "interests": {p: frozenset(draw(st.lists(st.sampled_from("uvwx"), max_size=3))) for p in people},
        "rules": SessionRules(meeting_seconds=60, allowed_pairs=matrix),
        # Half of the exclusions are blocks, half recent meetings (a cooldown of 50 s at 100 s).
        "blocked": [(a, b) for i, (a, b) in enumerate(exclusions) if a != b and i % 2],
        "parted": [(a, b, 60.0 + i) for i, (a, b) in enumerate(exclusions) if a != b and not i % 2],
        "seed": draw(st.integers(0, 1000)),
    }


def play(case: dict, weighting: bool) -> tuple[list[tuple[str, str]], ReadyPool, Callable[[str, str], bool]]:
    rules: SessionRules = case["rules"]
    types = case["types"]
    blocked: dict[str, set[str]] = {}
    parted: dict[str, dict[str, float]] = {}
    for a, b in case["blocked"]:
        blocked.setdefault(a, set()).add(b)
        blocked.setdefault(b, set()).add(a)
    for a, b, at in case["parted"]:
        parted.setdefault(a, {})[b] = at
        parted.setdefault(b, {})[a] = at

    def may_meet(a: str, b: str) -> bool:
        return (
            rules.may_meet(types[a], types[b])
            and b not in blocked.get(a, ())
            and parted.get(a, {}).get(b, -1e9) + 50.0 <= 100.0
        )

    pool = ReadyPool(rules.may_meet, random.Random(case["seed"]))
    for i, p in enumerate(case["people"]):
        pool.add(p, types[p], float(i // 2), case["interests"][p])  # some equal waiting times
    return pool.pair_round(100.0, blocked, parted, 50.0, weighting=weighting), pool, may_meet


@settings(max_examples=300, deadline=None)
@given(case=rounds())
def test_a_round_forms_a_maximum_pairing_weighted_or_not(case: dict) -> None:
    people = case["people"]
    counts = []
    for weighting in (False, True):
        pairs, pool, may_meet = play(case, weighting)
        paired = [x for pair in pairs for x in pair]
        assert len(paired) == len(set(paired)), "someone is in two pairs"
        assert all(may_meet(a, b) for a, b in pairs), "a pair breaks the matrix, a block or a cooldown"
        assert all(people.index(a) < people.index(b) for a, b in pairs), "the longer waiter comes first"
        assert sorted(pool) == sorted(set(people) - set(paired))
        counts.append(len(pairs))
    # Weighting changes who meets whom, never how many meet: both form the most pairs the rules allow.
    assert counts[0] == counts[1] == maximum_matching_size(people, may_meet)


def test_larger_rounds_match_the_textbook_algorithm() -> None:
    rng = random.Random(8)
    for trial in range(150):
        n = rng.randrange(10, 60)
        people = [f"p{i}" for i in range(n)]
        density = rng.choice([0.05, 0.5, 0.9, 0.97])
        exclusions = [(a, b) for i, a in enumerate(people) for b in people[i + 1 :] if rng.random() < density]
        case = {
            "people": people,
            "types": {p: rng.choice("ABC") for p in people},
            "interests": {p: frozenset(rng.sample("uvwxyz", rng.randrange(3))) for p in people},
            "rules": SessionRules(
                meeting_seconds=60,
                allowed_pairs=frozenset(rng.sample(TYPE_PAIRS, rng.randrange(1, 7))) if trial % 3 else None,
            ),
            "blocked": exclusions[::2],
            "parted": [(a, b, 70.0) for a, b in exclusions[1::2]],
            "seed": trial,
        }
        for weighting in (False, True):
            pairs, _, may_meet = play(case, weighting)
            assert all(may_meet(a, b) for a, b in pairs)
            assert len(pairs) == maximum_matching_size(people, may_meet), (trial, weighting)


def test_a_stranded_sponsor_gets_a_partner_by_splitting_another_pair() -> None:
    # Sponsors meet attendees only; attendees meet everyone. Served first, the two attendees may pair up
    # with each other: the round must then split them so that both sponsors meet someone.
    rules = SessionRules(
        meeting_seconds=60,
        allowed_pairs=SessionRules.pairs_from([("attendee", "attendee"), ("attendee", "sponsor")]),
    )
    for seed in range(40):
        pool = ReadyPool(rules.may_meet, random.Random(seed))
        for i, (p, t) in enumerate(
            [("a1", "attendee"), ("a2", "attendee"), ("s1", "sponsor"), ("s2", "sponsor")]
        ):
            pool.add(p, t, float(i))
        pairs = pool.pair_round(100.0, {}, {}, None)
        assert sorted(tuple(sorted(pair)) for pair in pairs) in (
            [("a1", "s1"), ("a2", "s2")],
            [("a1", "s2"), ("a2", "s1")],
        )
        assert len(pool) == 0


def test_complete_keeps_the_paired_paired_and_reports_who_changed() -> None:
    # a-b are paired; x and y wait, and may meet only a and b respectively.
    type_of = {"a": "T", "b": "T", "x": "T", "y": "T"}
    edges = {frozenset(p) for p in (("a", "b"), ("a", "x"), ("b", "y"))}
    mate, changed = complete(
        [("a", "b")],
        ["x", "y"],
        {"T": ["a", "b", "x", "y"]},
        type_of,
        lambda t: frozenset({"T"}),
        lambda p, q: frozenset((p, q)) in edges,
        random.Random(1).random,
    )
    assert mate == {"a": "x", "x": "a", "b": "y", "y": "b"}
    assert changed == {"a", "b", "x", "y"}


def test_complete_changes_nothing_when_nobody_else_can_be_paired() -> None:
    # x and y may meet only a, who is paired with b: one of them must wait, and nothing changes.
    type_of = {"a": "T", "b": "T", "x": "T", "y": "T"}
    edges = {frozenset(p) for p in (("a", "b"), ("a", "x"), ("a", "y"))}
    mate, changed = complete(
        [("a", "b")],
        ["x", "y"],
        {"T": ["a", "b", "x", "y"]},
        type_of,
        lambda t: frozenset({"T"}),
        lambda p, q: frozenset((p, q)) in edges,
        random.Random(1).random,
    )
    assert changed == set() and mate == {"a": "b", "b": "a"}
