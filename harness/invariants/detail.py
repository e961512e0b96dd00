"""How a verdict's one-line detail names chunks and counts: ``p<producer>#<seq>`` ids (at
most a few, then "and N more"), and counts whose noun agrees with them.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.invariants.observations import _SEQ_BITS

__all__ = ["chunk_id"]

_SHOWN = 5  # ids named in a one-line detail


def chunk_id(producer: int, seq: int) -> str:
    """How details name a chunk: ``p<producer>#<seq>``."""
    return f"p{producer}#{seq}"


def _name_keys(keys: Iterable[int], total: int | None = None) -> str:
    keys = list(keys)
    names = [chunk_id(k >> _SEQ_BITS, k & ((1 << _SEQ_BITS) - 1)) for k in keys[:_SHOWN]]
    more = (total if total is not None else len(keys)) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _n(count: int, singular: str, plural: str | None = None) -> str:
    """``"1 chunk"``, ``"2 chunks"``: the count and the noun that agrees with it."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _of(part: int, whole: int, singular: str, plural: str | None = None) -> str:
    """``"1 of 1 put"``, ``"1 of 3 puts"``: the noun agrees with the whole."""
    return f"{part} of {_n(whole, singular, plural)}"
