"""Process-wide settings a long-running service applies once it has loaded what it keeps.

The enrich worker and the API hold large, long-lived heaps (the knowledge base, the taggers'
tables, routes and schemas) and allocate many short-lived containers per article or request.
CPython's cyclic collector then rescans the long-lived part again and again: measured on the
enrichment, ~6% of its time went to collections. :func:`settle_heap` moves everything allocated
so far into the permanent generation (``gc.freeze``) and lets the youngest generation grow
larger before a collection, which brought that share to ~2%. Reference counting still frees
almost everything at once; only cycles wait a little longer.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]

#: Allocations (minus deallocations) of container objects before a young collection.
YOUNG_THRESHOLD = 20_000


def settle_heap(young_threshold: int = YOUNG_THRESHOLD) -> None:
    """Collect once, freeze what survives, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, young_threshold), middle, old)
