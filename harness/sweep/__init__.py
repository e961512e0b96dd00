"""Sweeps: scenario parameters x targets x seeds, each cell a normal run, pooled exactly.

:mod:`harness.sweep.spec` reads and expands a sweep into cells; :mod:`harness.executors`
runs them (serially, on a local process pool or on Ray); :mod:`harness.sweep.document`
pools the cells over seeds (merged HDR histograms) and names the best one under an SLO.
"""

from __future__ import annotations

from harness.sweep.document import (
    SWEEP_FORMAT,
    Objective,
    build_sweep_document,
    describe_params,
    metric_value,
    parse_objective,
    parse_slo,
    pool_groups,
    worst_status,
)
from harness.sweep.spec import (
    Axis,
    Cell,
    Range,
    SweepSpec,
    load_sweep_file,
    parse_axis,
    parse_seeds,
    plan_cells,
)

__all__ = [
    "SWEEP_FORMAT",
    "Axis",
    "Cell",
    "Objective",
    "Range",
    "SweepSpec",
    "build_sweep_document",
    "describe_params",
    "load_sweep_file",
    "metric_value",
    "parse_axis",
    "parse_objective",
    "parse_seeds",
    "parse_slo",
    "plan_cells",
    "pool_groups",
    "worst_status",
]
