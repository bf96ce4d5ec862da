"""The cyclic garbage collector's settings of the long-running processes (web, actors, ledger).

CPython's collector stops the event loop while it runs, and a full (generation 2) collection
walks every tracked object the process holds. With CPython's default thresholds (700, 10,
10) a web or actors process streaming to 1,000 sockets ran 6-9 full collections in a
12-second run, 100-400 ms each, and spent 1.0-1.7 s of that run's wall time collecting,
nearly all of it finding nothing: every socket's deltas waited behind those pauses (the
gap between deltas, issue 11). What start-up built is frozen out of the collector's sight,
and the young generation collects every YOUNG objects instead of every 700, so the old
generations fill, and are walked, about 70 times less often; cycles that die young are
still collected young, and a full collection still runs (after OLD middle collections, and
only once the old generation grew by a quarter, CPython's own rule). Measured in
`hirebuddha bench --only streams`, three pairs, these thresholds set from the process's
start: web 1.0-1.3 s -> 0.40-0.42 s of collection, actors 1.0-1.15 s -> 0.18-0.20 s, longest
pause in the actors 113-146 ms -> 38-39 ms (README "Performance").
"""

from __future__ import annotations

import gc

YOUNG = 50_000
"""Allocations (net, of tracked objects) between young collections (CPython: 700)."""
MIDDLE = 20
"""Young collections between middle-generation collections (CPython: 10)."""
OLD = 100
"""Middle collections between full ones, at least (CPython: 10)."""


def settle_startup() -> None:
    """Call once start-up is done: collect, freeze what is left (it lives as long as the
    process) and set the thresholds above."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
