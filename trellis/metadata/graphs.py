"""Cycles in a directed graph: formulas that read each other, and later approval steps or metrics
that depend on each other, must not go round in a circle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Distinct cycles of a directed graph, each as `[a, b, a]`, by an iterative depth-first walk."""
    state: dict[str, str] = {}  # "open" while on the current path, then "done"
    seen: set[frozenset[str]] = set()
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        stack = [iter(graph[start])]
        state[start] = "open"
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = "done"
                stack.pop()
            elif state.get(child) == "open":
                cycle = path[path.index(child):] + [child]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append(cycle)
            elif child not in state:
                state[child] = "open"
                path.append(child)
                stack.append(iter(graph[child]))
    return cycles
