"""Each attempt's seed: derived from the run seed, the scenario name and the repeat
index, so ``stageflow-stress run NAME --seed N`` replays an attempt."""

from __future__ import annotations

import hashlib

__all__ = [
    "derive_seed",
]


def derive_seed(run_seed: int, name: str, repeat_index: int = 0) -> int:
    """A scenario attempt's seed: stable for (run seed, scenario name, repeat index)."""
    digest = hashlib.blake2b(f"{run_seed}:{name}:{repeat_index}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") & 0x7FFF_FFFF
