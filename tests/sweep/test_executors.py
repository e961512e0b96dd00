"""Executors: the same sweep gives the same verdicts and merged counts serially, on the
process pool and on Ray; a worker that dies or a cell that wedges is recorded and the
other cells complete; pooled percentiles equal those of the same samples in one process."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
import sweep_toys  # noqa: F401  (registers sweep_burst in this process too)

import scenarios  # noqa: F401  (registers the built-in scenarios)
from harness.executors import ProcessExecutor, RayExecutor, SerialExecutor
from harness.metrics import encode_histogram, histogram_summary, percentile_summary
from harness.sweep.document import pool_groups
from harness.sweep.spec import Cell, SweepSpec, parse_axis, plan_cells
from scenarios.registry import get_scenario

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="ray extra not installed")


def _cells(*axes: str, seeds: Sequence[int] = (1, 2)) -> list[Cell]:
    spec = SweepSpec(scenarios=["sweep_burst"], seeds=list(seeds), quick=True,
                     modules=["sweep_toys"], axes=[parse_axis(a) for a in axes])
    return plan_cells(spec, [get_scenario("sweep_burst")])


def _verdicts(entries: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["cell"], e["status"], e["seed"],
             tuple((i["name"], i["passed"]) for i in e["invariants"]),
             tuple(e["metrics"][k] for k in ("sent", "delivered", "dropped", "lost")))
            for e in entries]


def _merged_counts(cells: Sequence[Cell], entries: Sequence[dict[str, Any]]) -> list[Any]:
    return [(g["params"], g["statuses"], g["metrics"]["dropped"], g["metrics"]["delivered"],
             g["metrics"]["latency_ms"]["count"]) for g in pool_groups(cells, entries)]


SWEEP = ("max_size=5,20", "count=40,80")


@pytest.fixture(scope="module")
def serial_entries() -> tuple[list[Cell], list[dict[str, Any]]]:
    cells = _cells(*SWEEP)
    return cells, SerialExecutor().run(cells)


@pytest.fixture(scope="module")
def ray_executor() -> Iterator[RayExecutor]:
    executor = RayExecutor(workers=2, kill_after_s=1.0)
    executor.start()
    try:
        yield executor
    finally:
        executor.close()


def test_serial_cells_have_the_expected_deterministic_counts(
        serial_entries: tuple[list[Cell], list[dict[str, Any]]]) -> None:
    cells, entries = serial_entries
    assert len(entries) == 8
    for cell, entry in zip(cells, entries, strict=True):
        assert entry["status"] == "pass"
        assert entry["metrics"]["dropped"] == cell.params["count"] - cell.params["max_size"]
        assert entry["seed"] != cell.seed  # the attempt seed is derived, as `run` derives it


def test_the_pool_agrees_with_serial_and_runs_each_cell_in_its_own_process(
        serial_entries: tuple[list[Cell], list[dict[str, Any]]]) -> None:
    cells, serial = serial_entries
    pooled = ProcessExecutor(workers=2).run(cells)
    assert _verdicts(pooled) == _verdicts(serial)
    assert _merged_counts(cells, pooled) == _merged_counts(cells, serial)
    assert len({e["worker"]["pid"] for e in pooled}) == len(cells)


def test_a_killed_pool_worker_is_reported_and_the_rest_complete() -> None:
    cells = _cells("die=[false, true]")
    done: list[int] = []
    entries = ProcessExecutor(workers=2).run(cells, lambda cell, _e: done.append(cell.index))
    assert sorted(done) == [0, 1, 2, 3]
    by_die = {(c.params["die"], c.seed): e for c, e in zip(cells, entries, strict=True)}
    for seed in (1, 2):
        assert by_die[(False, seed)]["status"] == "pass"
        dead = by_die[(True, seed)]
        assert dead["status"] == "error"
        assert "worker process died before the cell finished (killed by signal SIGKILL)" \
            in dead["error"]
        assert dead["reproduction"].endswith("--param die=true")


def test_a_wedged_cell_is_killed_with_its_stack_and_the_rest_complete() -> None:
    cells = _cells("wedge=[false, true]", "deadline_s=1.0", seeds=[1])
    entries = ProcessExecutor(workers=2, kill_after_s=2.0).run(cells)
    assert [e["status"] for e in entries] == ["pass", "timeout"]
    verdict = entries[1]["invariants"][0]
    assert verdict["name"] == "no_hang" and not verdict["passed"]
    assert "ran past its 1 s deadline" in verdict["detail"]
    assert "sweep_toys.py" in verdict["stack"]


def test_pooled_percentiles_equal_the_same_samples_recorded_in_one_process() -> None:
    # 1,000 samples: every percentile's rank is an integer, where the nearest-rank
    # definition and HdrHistogram's rounding of the rank pick the same sample
    cells = _cells("count=250", "rate_cps=5000.0", "max_size=250", seeds=[1, 2, 3, 4])
    entries = ProcessExecutor(workers=2).run(cells)
    (group,) = pool_groups(cells, entries)
    samples = np.concatenate([np.asarray(e["metrics"]["notes"]["latency_ns"], dtype=np.int64)
                              for e in entries])
    assert samples.size == 1000
    pooled = group["metrics"]["latency_ms"]
    assert pooled == histogram_summary(encode_histogram(samples))
    exact = percentile_summary(samples)
    for key in ("p50", "p95", "p99", "p999", "max"):
        assert pooled[key] == pytest.approx(exact[key], rel=2e-3)
    assert pooled["count"] == exact["count"]


@needs_ray
@pytest.mark.timeout(180)
def test_ray_agrees_with_serial_and_reports_a_dead_worker(
        serial_entries: tuple[list[Cell], list[dict[str, Any]]],
        ray_executor: RayExecutor) -> None:
    cells, serial = serial_entries
    on_ray = ray_executor.run(cells)
    assert _verdicts(on_ray) == _verdicts(serial)
    assert _merged_counts(cells, on_ray) == _merged_counts(cells, serial)
    dying = _cells("die=[false, true]", seeds=[1])
    entries = ray_executor.run(dying)
    assert entries[0]["status"] == "pass"
    assert entries[1]["status"] == "error"
    assert "Ray worker died before the cell finished" in entries[1]["error"]
