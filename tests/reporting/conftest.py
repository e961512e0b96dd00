"""Builders for results documents (schema of docs/architecture.md) and ledger directories."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from harness.jsonio import write_json_atomic
from harness.metrics import encode_histogram
from harness.timeseries import build_timeseries

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
LEDGER_NAMES = ("bugs.json", "dx.json", "improvements.json", "strengths.json")

ScenarioBuilder = Callable[..., dict[str, Any]]
ResultsBuilder = Callable[..., dict[str, Any]]


def _latency(p99: float, count: int) -> dict[str, Any]:
    return {"p50": p99 / 4, "p95": p99 / 2, "p99": p99, "p999": p99 * 1.5, "max": p99 * 2,
            "mean": p99 / 3, "count": count}


def build_scenario(
    name: str = "baseline",
    *,
    status: str = "pass",
    throughput: float = 3200.0,
    p99: float = 3.0,
    count: int = 1000,
    lost: int = 0,
    repeat_index: int = 0,
    invariants: list[dict[str, Any]] | None = None,
    category: str = "correctness",
    error: Any = None,
    seed: int = 1,
) -> dict[str, Any]:
    """One scenario result exactly as the results schema describes it."""
    return {
        "name": name, "category": category, "hypotheses": ["H1"], "status": status,
        "duration_ms": 812.3, "repeat_index": repeat_index, "seed": seed, "params": {},
        "metrics": {
            "sent": count, "delivered": count - lost, "dropped": 0, "refused": 0, "stranded": 0,
            "lost": lost,
            "duplicated": 0, "throughput_cps": throughput,
            "latency_ms": _latency(p99, count), "service_ms": _latency(p99 / 10, count),
            "latency_hdr": "HISTFAAA", "service_hdr": "HISTFAAA",
            "memory": {"peak_bytes": 30_000_000, "growth_bytes_per_s": 0.0},
            "slo": {"underruns": 0, "underrun_ms": 0.0, "drop_ratio": 0.0, "recovery_ms": None,
                    "loop_lag_ms_max": 0.5},
        },
        "invariants": invariants if invariants is not None else [
            {"name": "none_lost", "passed": True, "detail": f"{count} sent, {count} delivered"},
            {"name": "no_hang", "passed": True, "detail": "every task finished"},
        ],
        "error": error,
    }


def build_results(
    scenarios: list[dict[str, Any]] | None = None,
    *,
    run_id: str = "20261123T120000Z-1a2b3c",
    created_at: str = "2026-11-23T12:00:00Z",
    target: tuple[str, str] = ("stageflow_core", "0.1.0"),
    reference: float | None = 1_300_000.0,
    seed: int = 1,
) -> dict[str, Any]:
    """A results document exactly as the schema describes it."""
    scenarios = scenarios if scenarios is not None else [build_scenario()]
    doc: dict[str, Any] = {
        "schema_version": 1,
        "run_id": run_id,
        "created_at": created_at,
        "command": f"stageflow-stress run --quick --seed {seed}",
        "target": {"name": target[0], "version": target[1]},
        "environment": {"python": "3.11.7", "platform": "Linux", "cpu_count": 2,
                        "git_commit": None},
        "seed": seed,
        "suite": "transform007",
        "quick": True,
        "repeat": max([s.get("repeat_index", 0) for s in scenarios] + [0]) + 1,
        "scenarios": scenarios,
        "hypotheses": {"H1": {"status": "supported", "evidence": "baseline passed"}},
        "summary": {
            "passed": sum(s["status"] == "pass" for s in scenarios),
            "failed": sum(s["status"] == "fail" for s in scenarios),
            "errors": sum(s["status"] == "error" for s in scenarios),
            "timeouts": sum(s["status"] == "timeout" for s in scenarios),
            "invalid": sum(s["status"] == "invalid" for s in scenarios),
        },
    }
    if reference is not None:
        doc["reference"] = {"asyncio_queue_items_per_s": reference}
    return doc


T0 = 5_000_000_000
MS = 1_000_000


def _timeseries() -> dict[str, Any]:
    intended = T0 + np.arange(0, 400, 2, dtype=np.int64) * MS  # 200 chunks, every 2 ms
    latency = np.where((intended >= T0 + 100 * MS) & (intended < T0 + 150 * MS), 40, 2) * MS
    received = intended + latency
    depth_t = T0 + np.arange(0, 400, dtype=np.int64) * MS
    depth = np.minimum(np.arange(400) % 100, 50).astype(float)
    ts = build_timeseries(
        intended_ns=intended, delivered_intended_ns=intended, delivered_recv_ns=received,
        delivery_ns=received,
        samples={"queue_depth.queue": (depth_t, depth),
                 "buffer_ms.playout": (depth_t, depth * 2),
                 "rss_bytes": (depth_t[::20], np.linspace(50, 52, 20) * 1048576)},
        events=[("stream.chunk_dropped", {}, int(T0 + 120 * MS)),
                ("stream.chunk_dropped", {}, int(T0 + 121 * MS)),
                ("stream.throttle_started", {}, int(T0 + 110 * MS))],
        closes_ns=[T0 + 400 * MS], faults=[("consumer stalled", T0 + 100 * MS, T0 + 150 * MS)],
        max_windows=40)
    assert ts is not None
    return ts


def timeseries_doc() -> dict[str, Any]:
    """A schema 2 document of one scenario, ``stream``, with histograms and time series:
    latency 1..1000 ms, a 50 ms stall at 100 ms (its chunks 40 ms late), drops, a throttle
    and a close marked."""
    entry = build_scenario("stream", count=1000)
    entry["metrics"]["latency_hdr"] = encode_histogram(np.arange(1, 1001) * MS)  # 1..1000 ms
    entry["metrics"]["service_hdr"] = encode_histogram(np.arange(1, 1001) * 10_000)
    entry["metrics"]["timeseries"] = _timeseries()
    doc = build_results([entry])
    doc["schema_version"] = 2
    return doc


def baseline_v1_doc() -> dict[str, Any]:
    """A schema 1 document (no time series) of the same scenario: latency 2..200 ms."""
    entry = build_scenario("stream", count=100)
    entry["metrics"]["latency_hdr"] = encode_histogram(np.arange(1, 101) * 2 * MS)  # 2..200
    entry["metrics"]["service_hdr"] = ""
    return build_results([entry], run_id="20261101T000000Z-000000")


@pytest.fixture
def scenario() -> ScenarioBuilder:
    return build_scenario


@pytest.fixture
def results() -> ResultsBuilder:
    return build_results


@pytest.fixture
def write_results(tmp_path: Path) -> Callable[[str, dict[str, Any]], Path]:
    def write(name: str, doc: dict[str, Any]) -> Path:
        path = tmp_path / name
        write_json_atomic(path, copy.deepcopy(doc))
        return path

    return write


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A ledger directory holding the hand-written (seed) entries of the repository's four
    ledgers; what the harness generated into them is left out, so tests do not depend on
    the last committed run."""
    directory = tmp_path / "ledgers"
    directory.mkdir()
    for name in LEDGER_NAMES:
        doc = orjson.loads((REPO / name).read_bytes())
        doc["entries"] = [e for e in doc["entries"] if e.get("source") == "manual"]
        write_json_atomic(directory / name, doc)
    return directory


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.json"))}


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, bytes]]:
    """The bytes of every JSON file in a directory (to prove nothing was written)."""
    return _snapshot
