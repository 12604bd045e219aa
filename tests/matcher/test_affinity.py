from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from matcher import InvalidCommand, Matched, Matcher, ReadyPool, SessionRules, UnknownAttendee
from matcher.affinity import (
    INTEREST_WEIGHT,
    MOST_SHARED,
    TagBits,
    choose_weighted,
    interests_from,
    weight,
)

EVERYONE = SessionRules(meeting_seconds=60)


def test_interests_are_a_set_of_non_empty_tags() -> None:
    assert interests_from(["ai", "health", "ai"]) == frozenset({"ai", "health"})
    assert interests_from(()) == frozenset()
    for bad in ("ai", ["ai", ""], [3], None, 7):
        with pytest.raises(InvalidCommand):
            interests_from(bad)  # type: ignore[arg-type]


def test_tag_bits_round_trip() -> None:
    bits = TagBits()
    mask = bits.mask({"ai", "bio"})
    assert bits.tags(mask) == {"ai", "bio"}
    assert bits.mask(["bio"]) & mask and not bits.mask(["climate"]) & mask
    assert bits.mask([]) == 0 and bits.tags(0) == frozenset()


def test_weight_grows_with_each_shared_interest_up_to_a_cap() -> None:
    bits = TagBits()
    mine = bits.mask({"a", "b", "c", "d"})
    assert weight(mine, 0) == 1
    assert weight(0, bits.mask({"a"})) == 1
    assert weight(mine, bits.mask({"x"})) == 1
    assert weight(mine, bits.mask({"a", "x"})) == 1 + INTEREST_WEIGHT
    assert weight(mine, bits.mask({"a", "b"})) == 1 + 2 * INTEREST_WEIGHT
    assert MOST_SHARED == 2
    assert weight(mine, bits.mask({"a", "b", "c"})) == weight(mine, mine) == 1 + 2 * INTEREST_WEIGHT


# x has three interests; the candidates share 0, 1, 2 or 3 of them.
MINE = frozenset({"t1", "t2", "t3"})
TAGS = {
    "n0": {"zz"},
    "n1": set(),
    "n2": {"t9"},
    "o0": {"t1"},
    "o1": {"t2", "t8"},
    "b0": {"t1", "t2"},
    "a0": {"t1", "t2", "t3", "t4"},
}
SHARES = {c: len(MINE & tags) for c, tags in TAGS.items()}


def expected_shares() -> dict[str, float]:
    weights = {c: 1 + INTEREST_WEIGHT * min(s, MOST_SHARED) for c, s in SHARES.items()}
    return {c: w / sum(weights.values()) for c, w in weights.items()}


def masks_of(bits: TagBits) -> dict[str, int]:
    return {c: bits.mask(tags) for c, tags in TAGS.items() if tags}


def test_choose_weighted_follows_the_weights() -> None:
    rng = random.Random(1)
    bits = TagBits()
    masks = masks_of(bits)
    candidates = sorted(SHARES)
    picks = Counter(choose_weighted(candidates, bits.mask(MINE), masks, rng.random) for _ in range(20_000))
    for candidate, share in expected_shares().items():
        assert abs(picks[candidate] / 20_000 - share) < 0.02


def test_sharing_more_than_the_cap_weighs_the_same() -> None:
    # x has five interests; sharing four or two weighs the same (1 + 2 * INTEREST_WEIGHT). Four of
    # each kind: 16 candidates, so the pool samples.
    mine = frozenset({"a", "b", "c", "d", "e"})
    tags = {"four": {"a", "b", "c", "d"}, "two": {"a", "b"}, "one": {"e"}, "none": set()}
    weights = {"four": 9, "two": 9, "one": 5, "none": 1}
    picks: Counter[str] = Counter()
    trials = 2000
    for seed in range(trials):
        pool = ReadyPool(EVERYONE.may_meet, random.Random(seed))
        pool.add("x", "A", 0.0, mine)
        for kind, kind_tags in tags.items():
            for i in range(4):
                pool.add(f"{kind}-{i}", "A", 1.0, frozenset(kind_tags))
        picks[pool.pair_round(100.0, {}, {}, 300.0)[0][1].split("-")[0]] += 1
    for kind, w in weights.items():
        assert abs(picks[kind] / trials - w / sum(weights.values())) < 0.035, picks


# Without fillers the pool scans (fewer than 16 candidates); with 10 it samples (over 16, and more than a
# quarter of them eligible).
@pytest.mark.parametrize("filler", [0, 10])
def test_the_pool_weighs_partners_by_shared_interests(filler: int) -> None:
    # Fillers share nothing and are excluded by cooldown: they must never be picked, and the draw among
    # the others follows the weights.
    parted: dict[str, dict[str, float]] = {"x": {}}
    picks: Counter[str] = Counter()
    trials = 3000
    for seed in range(trials):
        pool = ReadyPool(EVERYONE.may_meet, random.Random(seed))
        pool.add("x", "A", 0.0, MINE)
        for i, c in enumerate(sorted(SHARES)):
            pool.add(c, "A", 1.0 + i, frozenset(TAGS[c]))
        for i in range(filler):
            pool.add(f"f{i}", "A", 100.0 + i, frozenset({"t1"}) if i % 2 else frozenset())
            parted["x"][f"f{i}"] = 90.0
            parted.setdefault(f"f{i}", {})["x"] = 90.0
        first = pool.pair_round(100.0, {}, parted, 300.0)[0]
        assert first[0] == "x"
        picks[first[1]] += 1
    assert set(picks) <= set(SHARES)
    for candidate, share in expected_shares().items():
        assert abs(picks[candidate] / trials - share) < 0.035


def test_without_weighting_the_pool_ignores_interests() -> None:
    picks: Counter[str] = Counter()
    for seed in range(2800):
        pool = ReadyPool(EVERYONE.may_meet, random.Random(seed))
        pool.add("x", "A", 0.0, MINE)
        for i, c in enumerate(sorted(SHARES)):
            pool.add(c, "A", 1.0 + i, frozenset(TAGS[c]))
        picks[pool.pair_round(100.0, {}, {}, 300.0, weighting=False)[0][1]] += 1
    # 400 each; a fair die stays well inside these bounds for these seeds.
    assert min(picks.values()) > 320 and max(picks.values()) < 480


def test_interests_follow_a_member_through_changes() -> None:
    pool = ReadyPool(EVERYONE.may_meet, random.Random(1))
    pool.add("a", "A", 1.0, frozenset({"u"}))
    pool.add("b", "A", 2.0)
    assert pool.interests("a") == {"u"} and pool.interests("b") == frozenset()
    pool.set_interests("b", frozenset({"v", "w"}))
    pool.set_interests("a", frozenset())
    assert pool.interests("a") == frozenset() and pool.interests("b") == {"v", "w"}
    pool.retype("b", "B")
    assert pool.interests("b") == {"v", "w"}
    with pytest.raises(ValueError):
        pool.set_interests("z", frozenset({"u"}))
    pool.remove("b")
    assert pool.interests("b") == frozenset()


# The matcher ------------------------------------------------------------------------------------------


def paired_with(m: Matcher, attendee: str) -> str:
    matched = next(e for e in m.tick() if isinstance(e, Matched))
    assert attendee in (matched.a, matched.b)
    return matched.b if matched.a == attendee else matched.a


def test_the_partner_card_shows_the_interests_both_share(make_matcher: Any) -> None:
    m = make_matcher()
    m.join("a", "A", {"ai", "bio", "climate"})
    m.join("b", "A", ["bio", "climate", "design"])
    m.ready("a")
    m.ready("b")
    matched = next(e for e in m.tick() if isinstance(e, Matched))
    assert matched.shared_interests == {"bio", "climate"}
    view = m.view("a").meeting
    assert view is not None and view.shared_interests == {"bio", "climate"}
    # Changed during the meeting: the view follows, the match event was what they had then.
    m.set_interests("b", {"design"})
    view = m.view("a").meeting
    assert view is not None and view.shared_interests == frozenset()


def test_weighting_prefers_shared_interests_and_purely_random_does_not(make_matcher: Any) -> None:
    def share_with_common(weighting: bool) -> float:
        common = 0
        for seed in range(400):
            m = make_matcher(seed=seed, interest_weighting=weighting)
            m.join("x", "A", {"ai"})
            m.join("friend", "A", {"ai"})
            for i in range(4):
                m.join(f"s{i}", "A", {"bio"})
            for attendee in ("x", "friend", "s0", "s1", "s2", "s3"):
                m.ready(attendee)
            common += paired_with(m, "x") == "friend"
        return common / 400

    # Weight 1 + 4 for the friend against 1 for each of the four others: 5/9; at random: 1/5.
    assert 0.45 < share_with_common(True) < 0.66
    assert 0.13 < share_with_common(False) < 0.27


def test_weighting_never_overrides_a_rule(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(allowed_pairs=SessionRules.pairs_from([("A", "B")]))
    m.join("a", "A", {"ai"})
    m.join("twin", "A", {"ai"})  # shares everything, but A may not meet A
    m.join("b", "B", {"bio"})
    m.join("friend", "B", {"ai"})
    m.seed_history([], [("a", "friend")], [])  # a blocked friend at an earlier session
    for attendee in ("a", "twin", "b", "friend"):
        m.ready(attendee)
    pairs = {frozenset((e.a, e.b)) for e in m.tick() if isinstance(e, Matched)}
    assert pairs == {frozenset(("a", "b")), frozenset(("twin", "friend"))}


def test_set_interests_while_ready_weighs_the_next_pairing(make_matcher: Any) -> None:
    picks = 0
    for seed in range(200):
        m = make_matcher(seed=seed)
        for attendee in ("x", "p", "q", "r", "s"):
            m.join(attendee, "A")
            m.ready(attendee)
        assert m.set_interests("x", ["ai"]) == []
        m.set_interests("s", {"ai"})
        picks += paired_with(m, "x") == "s"
    assert picks > 200 * 0.4  # 5/9 with the shared interest, 1/4 without


def test_a_rejoin_replaces_the_interests(make_matcher: Any) -> None:
    m = make_matcher()
    m.join("a", "A", {"ai"})
    m.join("b", "A", {"ai"})
    m.join("a", "A", {"bio"})
    m.ready("a")
    m.ready("b")
    assert next(e for e in m.tick() if isinstance(e, Matched)).shared_interests == frozenset()


@pytest.mark.parametrize("interests", ["ai", [""], [None], 5])
def test_bad_interests_are_refused_and_change_nothing(make_matcher: Any, interests: Any) -> None:
    m = make_matcher()
    with pytest.raises(InvalidCommand):
        m.join("a", "A", interests)
    m.join("a", "A", {"ai"})
    with pytest.raises(InvalidCommand):
        m.set_interests("a", interests)
    with pytest.raises(UnknownAttendee):
        m.set_interests("nobody", {"ai"})
    m.join("b", "A", {"ai"})
    m.ready("a")
    m.ready("b")
    assert next(e for e in m.tick() if isinstance(e, Matched)).shared_interests == {"ai"}
