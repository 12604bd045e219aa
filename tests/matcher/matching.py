"""Test reference: the size of a maximum matching, by the textbook algorithm on an explicit graph."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


def maximum_matching_size(people: list[str], may_meet: Callable[[str, str], bool]) -> int:
    """Edmonds' blossom algorithm on the explicit graph (the textbook O(V^3) version)."""
    n = len(people)
    adj = [[j for j in range(n) if j != i and may_meet(people[i], people[j])] for i in range(n)]
    match = [-1] * n
    parent = [-1] * n

    def find_path(root: int) -> int:
        used = [False] * n
        parent[:] = [-1] * n
        base = list(range(n))
        used[root] = True
        queue = deque([root])

        def lca(a: int, b: int) -> int:
            seen = [False] * n
            while True:
                a = base[a]
                seen[a] = True
                if match[a] == -1:
                    break
                a = parent[match[a]]
            while True:
                b = base[b]
                if seen[b]:
                    return b
                b = parent[match[b]]

        def mark(v: int, b: int, child: int, blossom: list[bool]) -> None:
            while base[v] != b:
                blossom[base[v]] = blossom[base[match[v]]] = True
                parent[v] = child
                child = match[v]
                v = parent[match[v]]

        while queue:
            v = queue.popleft()
            for to in adj[v]:
                if base[v] == base[to] or match[v] == to:
                    continue
                if to == root or (match[to] != -1 and parent[match[to]] != -1):
                    common = lca(v, to)
                    blossom = [False] * n
                    mark(v, common, to, blossom)
                    mark(to, common, v, blossom)
                    for i in range(n):
                        if blossom[base[i]]:
                            base[i] = common
                            if not used[i]:
                                used[i] = True
                                queue.append(i)
                elif parent[to] == -1:
                    parent[to] = v
                    if match[to] == -1:
                        return to
                    used[match[to]] = True
                    queue.append(match[to])
        return -1

    for i in range(n):
        if match[i] == -1:
            v = find_path(i)
            while v != -1:
                pv = parent[v]
                ppv = match[pv]
                match[v], match[pv] = pv, v
                v = ppv
    return sum(1 for m in match if m != -1) // 2
