"""Make a fuzz session depend only on its seed and the target, not on what else is loaded.

Hypothesis (>= 6.13x) mixes into its choices literal constants harvested from every
"local" module imported so far (``hypothesis.internal.conjecture.providers``). A fuzz
session run from the CLI, from one test, or from the whole test suite therefore explores
different examples for the same seed. :func:`seed_only` pins that pool to empty while a
session runs, so ``--seed N`` replays exactly. It relies on a private hypothesis name
(hypothesis is pinned in ``pyproject.toml``); when the name is absent it does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["seed_only"]


@contextmanager
def seed_only() -> Iterator[None]:
    """Within the block, hypothesis draws no constants from the project's own modules."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without the module
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    empty = getattr(providers, "Constants", None)
    if original is None or empty is None:  # pragma: no cover - the private API moved
        yield
        return
    pool = empty()
    providers._get_local_constants = lambda: pool
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()
