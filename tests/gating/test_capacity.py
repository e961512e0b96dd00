"""The capacity scenario, --inject on run, and the gate judging capacity rounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from reporting.conftest import build_results, build_scenario

import scenarios  # noqa: F401  (registers the built-in scenarios)
from harness.cli import main
from harness.errors import EXIT_OK, EXIT_USAGE
from harness.gate import BREACH, PASS, evaluate
from harness.runner import run_scenario
from harness.targets import load_target
from harness.thresholds import parse_threshold
from scenarios.registry import get_scenario

SMALL = {"rounds": 3, "slices": 1, "slice_ms": 1.0, "curve": [0.25, 2.0], "step_ms": 5.0,
         "buffer_depth_ms": 1_000}


def test_capacity_records_ratios_rounds_curve_and_buffer() -> None:
    entry = run_scenario(get_scenario("capacity"), load_target("stageflow_core"), quick=True,
                         seed=1, overrides=SMALL)
    assert entry["status"] == "pass", entry.get("error")
    capacity = entry["metrics"]["capacity"]
    samples = capacity["samples"]
    for key in ("queue_ratio", "buffer_ratio", "buffer_depth_ratio"):
        assert len(samples[key]) == SMALL["rounds"]
        assert all(v > 0 for v in samples[key])
        assert capacity[key] == sorted(samples[key])[1]  # the median round
    assert capacity["queue_cps"] > 0 and capacity["reference_cps"] > 0
    assert [p["fraction"] for p in capacity["curve"]] == SMALL["curve"]
    assert all(p["lost"] == 0 for p in capacity["curve"])
    assert next(i for i in entry["invariants"]
                if i["name"] == "capacity_delivers_all")["passed"] is True


def test_capacity_of_a_queue_only_target_skips_the_buffer_part() -> None:
    class QueueOnly:
        def __init__(self) -> None:
            core = load_target("stageflow_core")
            self.name, self.version, self.capabilities = "queue-only", "1", core.capabilities
            self.closed_errors, self.full_errors = core.closed_errors, core.full_errors
            self.make_queue = core.make_queue

        def make_chunk(self, *_: Any, **__: Any) -> Any:
            raise NotImplementedError("no audio here")

        def make_buffer(self, **_: Any) -> Any:
            raise NotImplementedError("no audio here")

    entry = run_scenario(get_scenario("capacity"), QueueOnly(), quick=True, seed=1,
                         overrides=SMALL)
    assert entry["status"] == "pass", entry.get("error")
    assert "buffer_ratio" not in entry["metrics"]["capacity"]
    assert entry["skipped"][0]["capability"] == "buffer"


def _capacity(rounds: list[float], index: int) -> dict[str, Any]:
    entry = build_scenario("capacity", repeat_index=index, count=0)
    entry["metrics"]["capacity"] = {"queue_ratio": sorted(rounds)[len(rounds) // 2],
                                    "samples": {"queue_ratio": rounds}}
    return entry


def test_gate_judges_capacity_over_its_rounds_with_mann_whitney() -> None:
    base = build_results([_capacity([1.0, 1.02, 0.98, 1.01, 0.99], i) for i in range(3)])
    slower = build_results([_capacity([0.8, 0.82, 0.78, 0.81, 0.79], i) for i in range(3)])
    same = build_results([_capacity([1.01, 0.99, 1.0, 0.98, 1.02], i) for i in range(3)])
    threshold = [parse_threshold("capacity.queue_ratio >= 0.9 * baseline")]
    (row,) = evaluate(slower, base, threshold, check_status=False).checks
    assert row.verdict == BREACH
    assert row.comparison is not None and row.comparison.test == "Mann-Whitney 15v15"
    assert row.comparison.effect == pytest.approx(0.8)
    (row,) = evaluate(same, base, threshold, check_status=False).checks
    assert row.verdict == PASS


def test_run_inject_records_the_expression_and_replays_with_it(tmp_path: Path) -> None:
    code = main(["run", "baseline", "--quick", "--seed", "3", "--no-ledger", "--results-dir",
                 str(tmp_path), "--inject", "put+5us", "--param", "chunks=50"])
    assert code == EXIT_OK
    doc = json.loads((tmp_path / "latest.json").read_text())
    assert doc["inject"] == "put+5us"
    entry = doc["scenarios"][0]
    assert entry["metrics"]["service_ms"]["p50"] >= 0.005
    assert entry["reproduction"].endswith("--inject put+5us")


def test_run_refuses_an_inject_that_does_not_parse(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "baseline", "--quick", "--no-ledger", "--results-dir", str(tmp_path),
                 "--inject", "put+"])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.endswith("--inject 'put+': expected a duration such as 20us or 0.3ms, found the "
                        "end at column 5")
    assert not (tmp_path / "latest.json").exists()
