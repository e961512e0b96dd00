"""The adversarial suite and compare: nothing in stageflow_core, real defects in the peer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from harness.cli import main
from harness.compare import compare_rows, parse_targets, run_compare
from harness.errors import HarnessError
from harness.runner import Runner
from harness.targets import load_target
from mocks.faults import FaultWindow
from mocks.trace import Trace
from scenarios.adv_windows import window_report
from scenarios.registry import suite_members


def _failed(entry: dict[str, Any]) -> dict[str, str]:
    return {i["name"]: i["detail"] for i in entry["invariants"] if not i["passed"]}


@pytest.fixture(scope="module")
def compared() -> list[dict[str, Any]]:
    return run_compare(["stageflow_core", "stageflow"], suite="adversarial", quick=True,
                       seed=0, timeout_s=None, command="test")


def test_suite_has_the_adversarial_scenarios() -> None:
    names = {spec.name for spec in suite_members("adversarial")}
    assert {"adv_stalled_consumer", "adv_close_under_load", "adv_cancel_storm",
            "adv_emitter_faults", "adv_overflow_bursts", "adv_malformed_chunks",
            "adv_extreme_configs", "adv_duplex_barge_in"} <= names


@pytest.mark.needs_peer
def test_stageflow_core_passes_every_adversarial_scenario(compared: list) -> None:
    ours = compared[0]
    assert ours["target"]["name"] == "stageflow_core"
    assert {e["name"]: (e["status"], _failed(e)) for e in ours["scenarios"]} == {
        e["name"]: ("pass", {}) for e in ours["scenarios"]}


@pytest.mark.needs_peer
def test_peer_put_hangs_when_the_consumer_stalls(compared: list) -> None:
    peer = {e["name"]: e for e in compared[1]["scenarios"]}
    hang = _failed(peer["adv_stalled_consumer"]).get("no_hang", "")
    assert "stuck-producer" in hang and "put" in hang


@pytest.mark.needs_peer
def test_peer_close_leaves_waiters_blocked(compared: list) -> None:
    peer = {e["name"]: e for e in compared[1]["scenarios"]}
    failed = _failed(peer["adv_close_under_load"])
    assert "close_wakes_blocked_producers" in failed
    assert "close_wakes_blocked_consumers" in failed


@pytest.mark.needs_peer
def test_peer_buffer_accepts_malformed_chunks(compared: list) -> None:
    peer = {e["name"]: e for e in compared[1]["scenarios"]}
    assert "buffer_refuses_malformed_chunks" in _failed(peer["adv_malformed_chunks"])


@pytest.mark.needs_peer
def test_missing_capability_is_skipped_not_crashed(compared: list) -> None:
    peer = {e["name"]: e for e in compared[1]["scenarios"]}
    duplex = peer["adv_duplex_barge_in"]
    assert (duplex["status"], duplex["error"]) == ("skipped", None)
    assert compared[1]["summary"]["skipped"] >= 1
    assert [s["capability"] for s in duplex["skipped"]] == ["duplex"]


@pytest.mark.needs_peer
def test_compare_section_has_a_cell_per_target_and_scenario(compared: list) -> None:
    section = compared[0]["compare"]
    assert [t["name"] for t in section["targets"]] == ["stageflow_core", "stageflow"]
    row = next(r for r in section["rows"] if r["scenario"] == "adv_close_under_load")
    assert row["stageflow_core"]["status"] == "pass"
    assert row["stageflow"]["status"] == "fail"
    assert row["stageflow"]["findings"] >= 2
    assert set(row["stageflow"]) == set(section["fields"])


def test_fault_window_metrics_split_before_during_after() -> None:
    trace = Trace()
    start = 1_000_000_000
    for seq in range(30):  # one chunk per ms; those intended in [10, 20) ms arrive 50 ms late
        intended = start + seq * 1_000_000
        late = 50_000_000 if 10 <= seq < 20 else 100_000
        trace.sent(0, seq, intended, intended, intended, "queued")
        trace.received(0, 0, seq, intended + late)
    report = window_report(trace, FaultWindow(10.0, 10.0), start_ns=start, fault="stall")
    assert (report["before"]["delivered"], report["during"]["delivered"],
            report["after"]["delivered"]) == (10, 10, 10)
    assert report["during"]["latency_p50_ms"] == pytest.approx(50.0)
    assert report["recovery_ms"] == 0.0


def test_compare_rows_count_findings_per_scenario() -> None:
    target = load_target("stageflow_core")
    doc = {"run_id": "r", "seed": 0, "quick": True, "target": {"name": target.name,
                                                                 "version": target.version},
           "scenarios": [{"name": "s", "category": "correctness", "status": "fail",
                          "duration_ms": 1.0, "seed": 0, "metrics": {"lost": 2},
                          "invariants": [{"name": "none_lost", "passed": False,
                                          "detail": "2 lost"}]}]}
    rows = compare_rows([doc])
    assert rows == [{"scenario": "s", "stageflow_core": {
        "status": "fail", "throughput_cps": 0.0, "p50_ms": None, "p99_ms": None, "lost": 2,
        "dropped": 0, "findings": 1, "skipped": [], "latency_hdr": None,
        "service_hdr": None}}]


@pytest.mark.parametrize("text", ["stageflow_core", "a,,b", "a,a"])
def test_bad_target_lists_are_refused(text: str) -> None:
    with pytest.raises(HarnessError, match="--targets"):
        parse_targets(text)


def test_cli_compare_unknown_suite_exits_2(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compare", "--targets", "stageflow_core,stageflow", "--suite", "nope",
                 "--no-ledger", "--results-dir", str(tmp_path)])
    assert code == 2
    assert "nope" in capsys.readouterr().err


def test_runner_can_run_one_adversarial_scenario_on_stageflow_core() -> None:
    spec = next(s for s in suite_members("adversarial") if s.name == "adv_cancel_storm")
    entry = Runner(target=load_target("stageflow_core"), target_spec="stageflow_core",
                   quick=True, seed=3).run_one(spec, 0)
    assert entry["status"] == "pass", _failed(entry)
    assert entry["metrics"]["lost"] == 0 and entry["metrics"]["duplicated"] == 0


def test_cli_compare_writes_the_compare_document(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.commands.compare as command

    def fake_run_compare(specs: list[str], **_: Any) -> list[dict[str, Any]]:
        target = load_target("stageflow_core")
        doc = {"schema_version": 1, "run_id": "20260101T000000Z-abcdef",
               "target": {"name": target.name, "version": target.version},
               "environment": {}, "seed": 0, "scenarios": [], "hypotheses": {},
               "compare": {"suite": "adversarial", "quick": True, "seed": 0,
                           "targets": [{"name": s, "version": "", "run_id": "x",
                                        "summary": {}} for s in specs],
                           "fields": [], "rows": []}}
        return [doc]

    monkeypatch.setattr(command, "run_compare", fake_run_compare)
    code = main(["compare", "--targets", "stageflow_core,stageflow", "--no-ledger",
                 "--results-dir", str(tmp_path), "--json"])
    assert code == 0
    written = orjson.loads((tmp_path / "compare-latest.json").read_bytes())
    assert written["compare"]["targets"][1]["name"] == "stageflow"
    assert orjson.loads(capsys.readouterr().out)["compare"] == written["compare"]
