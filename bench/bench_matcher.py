"""Matcher pairing round: 10,000 ready attendees, a 4-type ticket matrix, 5 prior meetings each.

Prints the time of one pairing round as the server runs it (`Matcher.tick()`: pairing, starting every
meeting with its events, and the waiting statuses of whoever is left over), and of the bare pairing
algorithm (`ReadyPool.pair_round`). Goal: under 50 ms per round. Each round runs on a fresh matcher, after
a `gc.collect()` of the setup's garbage; the cyclic collector stays enabled while timing.

Then an unbalanced round, where a random greedy choice is far from the most pairs possible: 6,000
sponsors who may meet only attendees, 4,000 attendees who may meet anyone. The round completes its choice
to a maximum pairing (every attendee meets a sponsor): the bench prints the pairs and the time.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from dataclasses import dataclass

from matcher import Matched, Matcher, ReadyPool, SessionRules

ATTENDEES = 10_000
PRIOR_MEETINGS = 5
ROUNDS = 7
COOLDOWN = 300.0
TYPES = ("speaker", "sponsor", "attendee", "investor")
# Speakers and attendees mingle; sponsors meet attendees and investors but not each other.
MATRIX = (
    ("speaker", "speaker"),
    ("speaker", "attendee"),
    ("sponsor", "attendee"),
    ("sponsor", "investor"),
    ("attendee", "attendee"),
    ("attendee", "investor"),
    ("investor", "investor"),
)
RULES = SessionRules(
    meeting_seconds=300, rematch_cooldown_seconds=COOLDOWN, allowed_pairs=SessionRules.pairs_from(MATRIX)
)


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class _Scenario:
    ids: list[str]
    type_of: dict[str, str]
    history: list[tuple[str, str, float]]  # (a, b, parted at)
    blocks: list[tuple[str, str]]
    now: float


def _scenario(seed: int) -> _Scenario:
    rng = random.Random(seed)
    now = 10_000.0
    ids = [f"t{i}" for i in range(ATTENDEES)]
    type_of = {attendee: TYPES[rng.randrange(len(TYPES))] for attendee in ids}
    by_type: dict[str, list[str]] = {t: [] for t in TYPES}
    for attendee in ids:
        by_type[type_of[attendee]].append(attendee)
    # Five earlier meetings each (every meeting counts for both sides: 2 or 3 started by each attendee),
    # all with eligible partners and recent enough that the cooldown applies to every one.
    history: list[tuple[str, str, float]] = []
    for i, attendee in enumerate(ids):
        partner_types = [t for t in TYPES if RULES.may_meet(type_of[attendee], t)]
        for _ in range(PRIOR_MEETINGS // 2 + i % 2):
            partner = rng.choice(by_type[rng.choice(partner_types)])
            if partner != attendee:
                history.append((attendee, partner, now - rng.uniform(0, 200)))
    blocks = [(rng.choice(ids), rng.choice(ids)) for _ in range(ATTENDEES // 100)]
    return _Scenario(ids, type_of, history, [(a, b) for a, b in blocks if a != b], now)


def _time_tick(scenario: _Scenario, seed: int) -> tuple[float, int, int]:
    clock = _Clock(scenario.now)
    matcher = Matcher(RULES, clock, random.Random(seed))
    matcher.seed_history(scenario.history, scenario.blocks, [])
    for attendee in scenario.ids:
        matcher.join(attendee, scenario.type_of[attendee])
    for attendee in scenario.ids:
        clock.now += 0.0001  # distinct waiting times, as in real life
        matcher.ready(attendee)
    clock.now += 1
    gc.collect()  # the setup's garbage is not the round's; the collector stays on while timing
    started = time.perf_counter()
    events = matcher.tick()
    elapsed = time.perf_counter() - started
    paired = 2 * sum(isinstance(event, Matched) for event in events)
    return elapsed * 1000, paired, matcher.live_summary().waiting


def _time_pool(scenario: _Scenario, seed: int) -> float:
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
        pool.add(attendee, scenario.type_of[attendee], scenario.now + i * 0.0001)
    gc.collect()
    started = time.perf_counter()
    pool.pair_round(scenario.now + 2, blocked, parted, COOLDOWN)
    return (time.perf_counter() - started) * 1000


def _unbalanced(seed: int) -> tuple[float, int]:
    rules = SessionRules(
        meeting_seconds=300,
        allowed_pairs=SessionRules.pairs_from([("sponsor", "attendee"), ("attendee", "attendee")]),
    )
    members = [(f"s{i}", "sponsor") for i in range(6000)] + [(f"a{i}", "attendee") for i in range(4000)]
    random.Random(seed).shuffle(members)
    pool = ReadyPool(rules.may_meet, random.Random(seed))
    for i, (attendee, ticket_type) in enumerate(members):
        pool.add(attendee, ticket_type, i * 0.0001)
    gc.collect()
    started = time.perf_counter()
    pairs = pool.pair_round(10.0, {}, {}, None)
    return (time.perf_counter() - started) * 1000, len(pairs)


def main() -> None:
    tick_ms: list[float] = []
    pool_ms: list[float] = []
    paired: list[int] = []
    left: list[int] = []
    for seed in range(ROUNDS):
        scenario = _scenario(seed)
        elapsed, pairs, waiting = _time_tick(scenario, seed)
        tick_ms.append(elapsed)
        paired.append(pairs)
        left.append(waiting)
        pool_ms.append(_time_pool(scenario, seed))
    print(
        f"matcher pairing round: {ATTENDEES:,} ready attendees, {len(TYPES)} ticket types "
        f"({len(MATRIX)} allowed pairs), {PRIOR_MEETINGS} prior meetings each in cooldown, "
        f"{ATTENDEES // 100} blocks"
    )
    print(
        f"  paired per round: median {statistics.median(paired):,.0f}; "
        f"left waiting (no eligible partner): median {statistics.median(left):,.0f}"
    )
    print(
        f"  Matcher.tick() round:     median {statistics.median(tick_ms):6.1f} ms "
        f"(min {min(tick_ms):.1f}, max {max(tick_ms):.1f}, {ROUNDS} rounds)   goal < 50 ms"
    )
    print(
        f"  ReadyPool.pair_round():   median {statistics.median(pool_ms):6.1f} ms "
        f"(min {min(pool_ms):.1f}, max {max(pool_ms):.1f})"
    )
    runs = [_unbalanced(seed) for seed in range(3)]
    print("unbalanced round: 6,000 sponsors (meet attendees only), 4,000 attendees")
    print(
        f"  pairs {runs[0][1]:,} (the most possible: 4,000); ReadyPool.pair_round() median "
        f"{statistics.median(r[0] for r in runs):.1f} ms"
    )


if __name__ == "__main__":
    main()
