"""Interest-weighted matching: how often partners share an interest, weighted against purely random, and
what the weighting costs a pairing round of 10,000 ready attendees.

1. A session on a synthetic population (2,000 attendees, 50 tags, 5 interests each, tags of uneven
   popularity), played twice with the same people and seeds: once weighted, once purely random. Every
   round everyone is ready, is paired, meets, and is ready again (the re-match cooldown applies). Prints the
   share of meetings whose partners share at least one interest, and the pairs per round (which must be
   the same: weighting changes who meets whom, never how many).
2. The pairing round of bench_matcher (10,000 ready, a 4-type matrix, 5 prior meetings each in cooldown,
   100 blocks) with everyone holding 5 interests, weighted: `Matcher.tick()` and `ReadyPool.pair_round`.
   Goal: under 50 ms per round.
"""

from __future__ import annotations

import gc
import random
import statistics
import time

from bench.bench_matcher import ATTENDEES, COOLDOWN, RULES, _Clock, _scenario
from matcher import Matched, Matcher, ReadyPool, SessionRules

TAGS = [f"tag{i:02d}" for i in range(50)]
PER_ATTENDEE = 5
SESSION_ATTENDEES = 2_000
SESSION_ROUNDS = 8
MEETING_SECONDS = 300.0
TIMED_ROUNDS = 7


def _interests(rng: random.Random) -> frozenset[str]:
    """Five distinct tags; tag i is picked about 1/(i+5) as often (a few popular topics, a long tail)."""
    weights = [1 / (i + 5) for i in range(len(TAGS))]
    chosen: set[str] = set()
    while len(chosen) < PER_ATTENDEE:
        chosen.add(rng.choices(TAGS, weights)[0])
    return frozenset(chosen)


def _population(seed: int, size: int) -> dict[str, frozenset[str]]:
    rng = random.Random(seed)
    return {f"a{i}": _interests(rng) for i in range(size)}


def _play_session(people: dict[str, frozenset[str]], weighting: bool, seed: int) -> tuple[float, list[int]]:
    """(share of meetings with a shared interest, pairs per round)."""
    clock = _Clock(1000.0)
    rules = SessionRules(
        meeting_seconds=MEETING_SECONDS, rematch_cooldown_seconds=3600.0, interest_weighting=weighting
    )
    matcher = Matcher(rules, clock, random.Random(seed))
    for attendee, tags in people.items():
        matcher.join(attendee, "attendee", tags)
    shared = 0
    meetings = 0
    per_round: list[int] = []
    for _ in range(SESSION_ROUNDS):
        for attendee in people:
            clock.now += 0.001
            matcher.ready(attendee)
        clock.now += 1
        matched = [e for e in matcher.tick() if isinstance(e, Matched)]
        per_round.append(len(matched))
        meetings += len(matched)
        shared += sum(1 for e in matched if e.shared_interests)
        clock.now += MEETING_SECONDS + 1
        matcher.tick()  # every meeting ends
        for attendee in people:  # whoever was left over stops waiting for this round
            matcher.unready(attendee)
    return shared / meetings, per_round


def _time_tick(seed: int, weighting: bool) -> tuple[float, int]:
    scenario = _scenario(seed)
    people = _population(seed, ATTENDEES)
    clock = _Clock(scenario.now)
    rules = SessionRules(
        meeting_seconds=RULES.meeting_seconds,
        rematch_cooldown_seconds=COOLDOWN,
        allowed_pairs=RULES.allowed_pairs,
        interest_weighting=weighting,
    )
    matcher = Matcher(rules, clock, random.Random(seed))
    matcher.seed_history(scenario.history, scenario.blocks, [])
    for i, attendee in enumerate(scenario.ids):
        matcher.join(attendee, scenario.type_of[attendee], people[f"a{i}"])
    for attendee in scenario.ids:
        clock.now += 0.0001
        matcher.ready(attendee)
    clock.now += 1
    gc.collect()
    started = time.perf_counter()
    events = matcher.tick()
    elapsed = time.perf_counter() - started
    return elapsed * 1000, sum(isinstance(event, Matched) for event in events)


def _time_pool(seed: int) -> float:
    scenario = _scenario(seed)
    people = _population(seed, ATTENDEES)
    pool = ReadyPool(RULES.may_meet, random.Random(seed))
    blocked: dict[str, set[str]] = {}
    parted: dict[str, dict[str, float]] = {}
    for by, other in scenario.blocks:
        blocked.setdefault(by, set()).add(other)
        blocked.setdefault(other, set()).add(by)
    for a, b, at in scenario.history:
        parted.setdefault(a, {})[b] = at
        parted.setdefault(b, {})[a] = at
    for i, attendee in enumerate(scenario.ids):
        pool.add(attendee, scenario.type_of[attendee], scenario.now + i * 0.0001, people[f"a{i}"])
    gc.collect()
    started = time.perf_counter()
    pool.pair_round(scenario.now + 2, blocked, parted, COOLDOWN)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    people = _population(1, SESSION_ATTENDEES)
    weighted, weighted_rounds = _play_session(people, True, seed=3)
    uniform, uniform_rounds = _play_session(people, False, seed=3)
    print(
        f"session: {SESSION_ATTENDEES:,} attendees, {SESSION_ROUNDS} rounds, {len(TAGS)} tags, "
        f"{PER_ATTENDEE} interests each (uneven popularity)"
    )
    print(f"  meetings with a shared interest: weighted {weighted:6.1%}   purely random {uniform:6.1%}")
    print(f"  pairs per round, weighted:      {weighted_rounds}")
    print(f"  pairs per round, purely random: {uniform_rounds}")
    if weighted_rounds != uniform_rounds:
        print("  !! the weighting changed how many pairs a round formed")

    tick_ms: list[float] = []
    plain_ms: list[float] = []
    pool_ms: list[float] = []
    pairs: list[int] = []
    for seed in range(TIMED_ROUNDS):
        elapsed, paired = _time_tick(seed, True)
        tick_ms.append(elapsed)
        pairs.append(paired)
        plain_ms.append(_time_tick(seed, False)[0])
        pool_ms.append(_time_pool(seed))
    print(
        f"pairing round: {ATTENDEES:,} ready attendees with {PER_ATTENDEE} interests each, the bench_matcher "
        f"matrix, history and blocks; {statistics.median(pairs):,.0f} pairs"
    )
    print(
        f"  Matcher.tick() round, weighted:       median {statistics.median(tick_ms):6.1f} ms "
        f"(min {min(tick_ms):.1f}, max {max(tick_ms):.1f}, {TIMED_ROUNDS} rounds)   goal < 50 ms"
    )
    print(
        f"  Matcher.tick() round, purely random:  median {statistics.median(plain_ms):6.1f} ms "
        f"(min {min(plain_ms):.1f}, max {max(plain_ms):.1f})"
    )
    print(
        f"  ReadyPool.pair_round(), weighted:     median {statistics.median(pool_ms):6.1f} ms "
        f"(min {min(pool_ms):.1f}, max {max(pool_ms):.1f})"
    )


if __name__ == "__main__":
    main()
