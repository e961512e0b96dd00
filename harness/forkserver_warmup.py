"""Imported last by the sweep pool's forkserver (``harness.executors``), never by anything
else: it warms the heap every cell's process is forked from, then freezes it.

- **Warm**: one tiny cell (``baseline``, 20 chunks, on ``stageflow_core``) runs here once,
  so the modules the harness imports lazily (numpy's masked arrays for ``np.unique``, the
  target loader's, ...) and its caches are loaded once, not in every cell. A warm-up that
  fails is ignored: the cells then only start colder.
- **Freeze** (``gc.freeze()``): the runner collects garbage before every scenario. In a
  cell forked from an unfrozen heap, that collection walks every inherited object and
  writes to its header, copying nearly every page of the forkserver into the cell. Frozen,
  collections skip those objects and the pages stay shared.
"""

from __future__ import annotations

import contextlib
import gc

__all__: list[str] = []


def _warm_up() -> None:
    from harness.executors import run_cell
    from harness.sweep.spec import Cell

    run_cell(Cell(index=-1, target="stageflow_core", scenario="baseline",
                  params={"chunks": 20, "rate_cps": 10_000.0}, seed=0, quick=True))


with contextlib.suppress(Exception):
    _warm_up()
gc.collect()
gc.freeze()
