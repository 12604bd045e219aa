"""Complete a round's pairing to a maximum one: nobody waits who could be paired by pairing others anew.

The random (or interest-weighted) choice of partners pairs greedily, and a greedy pairing can strand
people: a sponsor who may meet only attendees waits while two attendees were paired with each other,
although splitting that pair would give both sponsors a partner. This module repairs such choices by
augmenting paths (Edmonds' blossom algorithm), so a round always forms as many pairs as the rules allow,
however the partners were chosen. Whoever was paired stays paired (some get another partner); only those
left waiting by the first choice are added.

The graph is never built: two people may meet when their ticket types may meet and `eligible` says yes
(blocks, cooldowns), so it is dense and its missing edges are few. A search therefore takes in untouched
people type by type (each refusal is charged to a block or a cooldown), finds blossoms by blossom rather
than by person, and a failed search removes its whole tree: it shows that those people cannot all be
paired, now or after any later augmentation (their outer blossoms touch only the tree's inner people).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence

_PROBES = 48  # random tries for a short (three-edge) augmenting path before the full search


class _Graph:
    """Who may meet whom in one round, and the pairing being augmented."""

    def __init__(
        self,
        members: dict[str, list[str]],
        type_of: Mapping[str, str],
        allowed: Callable[[str], frozenset[str]],
        eligible: Callable[[str, str], bool],
        mate: dict[str, str],
        waiting: Sequence[str],
    ) -> None:
        self.members = members
        self.type_of = type_of
        self.allowed = allowed
        self.eligible = eligible
        self.mate = mate
        self.touched: set[str] = set()  # whose partner changed, or who got one
        self.removed: set[str] = set()
        self._removed_by_type: Counter[str] = Counter()
        # Those left unpaired, by ticket type, in waiting order.
        self.exposed: dict[str, dict[str, None]] = {}
        for attendee in waiting:
            self.exposed.setdefault(type_of[attendee], {})[attendee] = None
        # (type, partner's type) -> the paired of that type whose partner has that type; built on first
        # use, entries made stale by a new partner are skipped (and dropped) when met.
        self._by_pair_type: dict[tuple[str, str], dict[str, None]] | None = None

    def pair(self, a: str, b: str) -> None:
        """Pair `a` with `b` (each leaves their previous partner, who is re-paired by the caller)."""
        self.mate[a] = b
        self.mate[b] = a
        self.touched.add(a)
        self.touched.add(b)
        index = self._by_pair_type
        if index is not None:
            type_of = self.type_of
            index.setdefault((type_of[a], type_of[b]), {})[a] = None
            index.setdefault((type_of[b], type_of[a]), {})[b] = None

    def by_pair_type(self) -> dict[tuple[str, str], dict[str, None]]:
        if self._by_pair_type is None:
            index: dict[tuple[str, str], dict[str, None]] = {}
            type_of = self.type_of
            for a, b in self.mate.items():
                index.setdefault((type_of[a], type_of[b]), {})[a] = None
            self._by_pair_type = index
        return self._by_pair_type

    def exposed_count(self) -> int:
        return sum(map(len, self.exposed.values()))

    def settle(self, attendee: str) -> None:
        """`attendee` is paired now, or out of the search."""
        self.exposed[self.type_of[attendee]].pop(attendee, None)

    def remove(self, people: list[str]) -> None:
        """Take a frustrated tree out of every later search."""
        removed, by_type = self.removed, self._removed_by_type
        for x in people:
            removed.add(x)
            by_type[self.type_of[x]] += 1
            if x not in self.mate:
                self.settle(x)
        for ticket_type, count in by_type.items():
            members = self.members[ticket_type]
            if count and 2 * count > len(members):  # compact: keeps scans over the rest cheap
                self.members[ticket_type] = [x for x in members if x not in removed]
                by_type[ticket_type] = 0

    def live_count(self, ticket_type: str) -> int:
        members = self.members.get(ticket_type)
        return len(members) - self._removed_by_type[ticket_type] if members else 0

    def live_share(self, ticket_type: str) -> float:
        members = self.members.get(ticket_type)
        if not members:
            return 0.0
        return 1.0 - self._removed_by_type[ticket_type] / len(members)


def complete(
    pairs: list[tuple[str, str]],
    waiting: Sequence[str],
    members: dict[str, list[str]],
    type_of: Mapping[str, str],
    allowed: Callable[[str], frozenset[str]],
    eligible: Callable[[str, str], bool],
    random_: Callable[[], float],
) -> tuple[dict[str, str], set[str]]:
    """A maximum pairing that keeps everyone in `pairs` paired: everyone's partner (both ways round), and
    who has a new partner (everyone else keeps theirs from `pairs`).

    `waiting`: the unpaired, longest-waiting first; no two of them may meet (the pairing is maximal).
    `members`: everyone of the round, paired or not, by ticket type (the lists are not changed);
    `type_of`: their ticket types. `allowed(t)`: the ticket types `t` may meet.
    `eligible(x, y)`: whether two distinct people of types that may meet may meet now (symmetric).
    """
    mate: dict[str, str] = {}
    if len(waiting) < 2:
        return mate, set()
    for a, b in pairs:
        mate[a] = b
        mate[b] = a
    graph = _Graph(dict(members), type_of, allowed, eligible, mate, waiting)
    for root in waiting:
        if graph.exposed_count() < 2:
            break
        if root in mate or root in graph.removed:
            continue
        if not any(graph.live_count(t) for t in allowed(type_of[root])):
            graph.remove([root])  # nobody left whom they may meet
            continue
        if not _short_path(graph, root, random_) and not _short_path_by_type(graph, root):
            _search(graph, root)
    return mate, graph.touched


def _short_path(graph: _Graph, root: str, random_: Callable[[], float]) -> bool:
    """Try random paths root - m = m' - other: m leaves m' for root, m' takes another waiting person."""
    mate, type_of, allowed = graph.mate, graph.type_of, graph.allowed
    types = [t for t in allowed(type_of[root]) if graph.live_share(t) >= 0.5]
    buckets = [graph.members[t] for t in types]
    total = sum(map(len, buckets))
    if not total:
        return False
    for _ in range(_PROBES):
        index = int(random_() * total)
        for bucket in buckets:
            if index < len(bucket):
                middle = bucket[index]
                break
            index -= len(bucket)
        else:  # pragma: no cover - the index is always inside the buckets
            continue
        other_side = mate.get(middle)
        if other_side is None or middle in graph.removed or not graph.eligible(root, middle):
            continue
        if _take_over(graph, root, middle, other_side):
            return True
    return False


def _take_over(graph: _Graph, root: str, middle: str, other_side: str) -> bool:
    """root - middle = other_side - someone unpaired: augment along it if that someone exists."""
    for ticket_type in graph.allowed(graph.type_of[other_side]):
        for other in graph.exposed.get(ticket_type, ()):
            if other != root and graph.eligible(other_side, other):
                graph.pair(root, middle)
                graph.pair(other_side, other)
                graph.settle(root)
                graph.settle(other)
                return True
    return False


def _short_path_by_type(graph: _Graph, root: str) -> bool:
    """Every path root - m = m' - other, looked for by ticket type: m of a type `root` may meet, paired
    with an m' of a type that may meet someone unpaired. Exact where the random tries are not."""
    type_of, allowed, mate, removed = graph.type_of, graph.allowed, graph.mate, graph.removed
    useful = {
        t for t in graph.members if any(x != root for e in allowed(t) for x in graph.exposed.get(e, ()))
    }
    index = graph.by_pair_type()
    for middle_type in allowed(type_of[root]):
        for side_type in useful:
            entries = index.get((middle_type, side_type))
            if not entries:
                continue
            for middle in list(entries):
                other_side = mate.get(middle)
                if other_side is None or type_of[other_side] != side_type or middle in removed:
                    del entries[middle]  # re-paired since (or out of the search)
                    continue
                if graph.eligible(root, middle) and _take_over(graph, root, middle, other_side):
                    return True
    return False


class _Tree:
    """One search's alternating tree, rooted at an unpaired attendee (Edmonds' algorithm).

    Outer people (the root, partners of inner people, and everyone in a blossom) are grown from; inner
    people were reached from an outer one (`parent`) and lead on to their partner. `base` names each
    person's blossom by its base.
    """

    def __init__(self, graph: _Graph, root: str) -> None:
        self.graph = graph
        self.root = root
        self.parent: dict[str, str] = {}
        self.base: dict[str, str] = {root: root}
        self.blossom: dict[str, list[str]] = {root: [root]}  # base -> everyone of that blossom
        self.outer: set[str] = {root}
        # Outer people by ticket type, then by blossom: blossoms are matched against blossoms.
        self.outer_groups: dict[str, dict[str, list[str]]] = {graph.type_of[root]: {root: [root]}}
        self.to_grow: deque[str] = deque([root])
        self.to_join: deque[str] = deque([root])
        self._untouched: dict[str, dict[str, None]] = {}

    def labelled(self) -> list[str]:
        return [x for people in self.blossom.values() for x in people]

    def untouched(self, ticket_type: str) -> dict[str, None]:
        """People of `ticket_type` not in the tree (nor removed), built on first use."""
        found = self._untouched.get(ticket_type)
        if found is None:
            base, removed = self.base, self.graph.removed
            members = self.graph.members.get(ticket_type, ())
            found = self._untouched[ticket_type] = {
                x: None for x in members if x not in base and x not in removed
            }
        return found

    def make_outer(self, attendee: str) -> None:
        self.outer.add(attendee)
        groups = self.outer_groups.setdefault(self.graph.type_of[attendee], {})
        groups.setdefault(self.base[attendee], []).append(attendee)
        self.to_grow.append(attendee)
        self.to_join.append(attendee)

    def grow(self, v: str) -> str | None:
        """Take in every untouched person `v` may meet; an unpaired one ends the search (returned).

        Each outer person taken in is first tried against the unpaired (usually few): in a dense graph
        that ends the search after a handful of people rather than after the whole graph."""
        graph = self.graph
        mate, eligible, type_of = graph.mate, graph.eligible, graph.type_of
        end = self.unpaired_neighbour(v)
        if end is not None:
            return end
        for ticket_type in graph.allowed(type_of[v]):
            untouched = self.untouched(ticket_type)
            for x in list(untouched):
                if x not in untouched or not eligible(v, x):
                    continue  # taken in meanwhile (a partner of someone found), or not to be met
                partner = mate[x]  # the unpaired were looked at above
                del untouched[x]
                self.untouched(type_of[partner]).pop(partner, None)
                self.parent[x] = v
                for y in (x, partner):
                    self.base[y] = y
                    self.blossom[y] = [y]
                self.make_outer(partner)
                end = self.unpaired_neighbour(partner)
                if end is not None:
                    return end
        return None

    def unpaired_neighbour(self, v: str) -> str | None:
        """An unpaired person outside the tree whom the outer `v` may meet (now `v`'s child), if any."""
        graph = self.graph
        for ticket_type in graph.allowed(graph.type_of[v]):
            for other in graph.exposed.get(ticket_type, ()):
                if other not in self.base and graph.eligible(v, other):
                    self.parent[other] = v
                    return other
        return None

    def join(self, x: str) -> bool:
        """Contract every blossom `x` closes with an outer person of another blossom; True if any."""
        graph, base = self.graph, self.base
        found = False
        for ticket_type in graph.allowed(graph.type_of[x]):
            groups = self.outer_groups.get(ticket_type)
            while groups:
                partner = next(
                    (y for b, ys in groups.items() if b != base[x] for y in ys if graph.eligible(x, y)),
                    None,
                )
                if partner is None:
                    break
                self.contract(x, partner)
                found = True
        return found

    def contract(self, v: str, to: str) -> None:
        """`v` and `to` are outer in different blossoms: shrink the odd cycle through them."""
        mate, base, parent = self.graph.mate, self.base, self.parent
        path: set[str] = set()  # the bases from `v` up to the root
        a = v
        while True:
            a = base[a]
            path.add(a)
            if a == self.root:
                break
            a = parent[mate[a]]
        b = to
        while base[b] not in path:
            b = parent[mate[base[b]]]
        common = base[b]
        absorbed: set[str] = set()
        for start, child in ((v, to), (to, v)):
            x = start
            while base[x] != common:
                absorbed.add(base[x])
                absorbed.add(base[mate[x]])
                parent[x] = child
                child = mate[x]
                x = parent[mate[x]]
        absorbed.discard(common)
        newly_outer: list[str] = []
        into = self.blossom[common]
        for old in absorbed:
            for x in self.blossom.pop(old):
                base[x] = common
                into.append(x)
                if x not in self.outer:
                    newly_outer.append(x)
            for groups in self.outer_groups.values():
                people = groups.pop(old, None)
                if people:
                    groups.setdefault(common, []).extend(people)
        for x in newly_outer:
            self.make_outer(x)

    def augment(self, end: str) -> None:
        mate, parent = self.graph.mate, self.parent
        v: str | None = end
        while v is not None:
            pv = parent[v]
            ppv = mate.get(pv)
            self.graph.pair(v, pv)
            v = ppv


def _search(graph: _Graph, root: str) -> bool:
    """Edmonds' search from `root`: augment and return True, or remove the tree and return False.

    Edges are looked at in any order (the algorithm allows it): growing first, blossoms when nothing
    grows; each outer person is matched against the other blossoms once, after it became outer.
    """
    tree = _Tree(graph, root)
    while tree.to_grow or tree.to_join:
        if tree.to_grow:
            end = tree.grow(tree.to_grow.popleft())
            if end is not None:
                tree.augment(end)
                graph.settle(root)
                graph.settle(end)
                return True
        else:
            tree.join(tree.to_join.popleft())
    graph.remove(tree.labelled())
    return False
