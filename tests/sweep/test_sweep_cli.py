"""``stageflow-stress sweep``: the documented example runs end to end; bad input exits 2
with one line and runs nothing."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harness.cli import main
from harness.results import load_results

EXAMPLE = Path(__file__).parents[2] / "examples" / "sweep.toml"


def test_the_example_sweep_runs_on_the_pool_and_names_the_best_cell(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results"
    code = main(["sweep", "--file", str(EXAMPLE), "--slo", "latency.p99_ms < 1000",
                 "--slo", "lost == 0", "--results-dir", str(results), "--json"])
    captured = capsys.readouterr()
    doc = orjson.loads(captured.out)
    statuses = {entry["status"] for entry in doc["scenarios"]}
    assert statuses <= {"pass", "invalid"}  # invalid: a machine too busy to keep the rate
    assert code == (3 if "invalid" in statuses else 0)
    assert load_results(results / "sweep-latest.json")["run_id"] == doc["run_id"]
    assert not (results / "latest.json").exists()  # the last `run` is not replaced
    sweep = doc["sweep"]
    assert sweep["executor"]["kind"] == "pool"
    assert len(doc["scenarios"]) == len(sweep["cells"]) == 12
    assert len(sweep["groups"]) == 6
    assert [a["name"] for a in sweep["axes"]] == ["max_size", "rate_cps", "chunks"]
    for group in sweep["groups"]:
        assert len(group["cells"]) == 2
        assert group["metrics"]["sent"] == 400
        assert group["metrics"]["latency_ms"]["count"] == group["metrics"]["delivered"]
        assert group["slo"]["met"] is (group["status"] == "pass")  # the SLO is loose
    met = [g for g in sweep["groups"] if g["slo"]["met"]]
    assert sweep["slo"]["met"] == len(met)
    if met:
        best = sweep["groups"][sweep["slo"]["best"]]
        assert best["metrics"]["latency_ms"]["p99"] == min(
            g["metrics"]["latency_ms"]["p99"] for g in met)
    assert "best under latency.p99_ms < 1000 and lost == 0" in captured.err
    assert "max_size \\ rate_cps" in captured.err  # the matrix


@pytest.mark.parametrize(("argv", "message"), [
    (["baseline", "--grid", "max_sise=1,2"], "unknown parameter 'max_sise'"),
    (["baseline", "--grid", "max_size=0,4"], "parameter 'max_size' must be > 0, got 0"),
    (["baseline", "--grid", "max_size="], "empty list of values"),
    (["--grid", "max_size=1,2"], "no scenarios to sweep"),
    (["no_such_scenario"], "unknown scenario 'no_such_scenario'"),
    (["baseline", "--slo", "latency.p99_ms < baseline"], "a sweep has no baseline"),
    (["baseline", "--slo", "latency.p99_ms <"], "bad threshold"),
    (["baseline", "--targets", "no_such_target_module"], "no_such_target_module"),
    (["baseline", "--ray", "127.0.0.1:1"], "--ray 127.0.0.1:1: cannot reach"),
    (["baseline", "--ray", "--executor", "serial"], "choose one"),
])
def test_bad_input_exits_2_with_one_line_and_runs_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        message: str) -> None:
    results = tmp_path / "results"
    code = main(["sweep", *argv, "--quick", "--results-dir", str(results)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err
    assert len(err.splitlines()) == 1
    assert not results.exists() or not any(results.iterdir())
