"""bench --gate-power's bookkeeping: pairs, kinds, sizing, invalid runs, the goals."""

from __future__ import annotations

from typing import Any

import pytest
from reporting.conftest import build_results, build_scenario

import harness.power as power
from harness.commands.bench import power_missed, render_power
from harness.errors import HarnessError
from harness.thresholds import parse_threshold

THRESHOLDS = [parse_threshold("throughput_cps >= 0.9 * baseline")]


def _doc(throughput: float, *, ratio: float = 1.2, invalid: bool = False) -> dict[str, Any]:
    scenarios = []
    for i in range(3):
        status = "invalid" if invalid and i == 0 else "pass"
        entry = build_scenario("baseline", throughput=throughput + i, repeat_index=i,
                               status=status)
        capacity = build_scenario("capacity", repeat_index=i, count=0)
        capacity["metrics"]["capacity"] = {"queue_ratio": ratio, "reference_cps": 1e6}
        scenarios += [entry, capacity]
    return build_results(scenarios)


class FakeRecorder:
    """Clean runs at 10,000/s; an injected run at 5,000/s unless its expression says ok."""

    calls: list[str | None] = []

    def __init__(self, target_spec: str, *, quick: bool, repeat: int) -> None:
        self.specs = [type("Spec", (), {"name": n})() for n in ("baseline", "capacity")]
        self.detection_specs = self.specs
        self.capacity_spec = self.specs[1]
        self.clean_runs = 0

    def run(self, inject: str | None = None, *, specs: Any = None,
            repeat: int | None = None) -> dict[str, Any]:
        FakeRecorder.calls.append(inject)
        if inject is None:
            self.clean_runs += 1
            return _doc(10_000, invalid=self.clean_runs == 2)  # one unusable clean run
        if inject == power.NULL_WRAPPER or inject.startswith("get~"):
            return _doc(10_000)
        if inject == "put+251ns":  # the fake's 20 % drop shows in capacity only
            return _doc(10_000, ratio=0.96)
        return _doc(5_000)


def test_pairs_kinds_and_invalid_runs_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(power, "_Recorder", FakeRecorder)
    monkeypatch.setattr(power, "_size_capacity_drop",
                        lambda recorder, say: ("put+251ns", "sized by the test"))
    FakeRecorder.calls = []
    doc = power.run_power(runs=2, thresholds=THRESHOLDS, alpha=0.01, min_repeats=3)
    body = doc["gate_power"]
    # clean run 2 has an invalid repeat: it is run again, as CI would be
    assert body["clean_reruns"] == 1
    assert body["iterations"] == 2
    assert (body["aa"]["runs"], body["aa"]["breached"], body["aa"]["invalid"]) == (2, 0, 0)
    caught = body["detections"]
    assert (caught["put+20us"]["runs"], caught["put+20us"]["breached"]) == (2, 2)
    assert caught["get~0.3ms"]["breached"] == 0  # the fake makes waits on get harmless
    # the 20 % kind is compared with a baseline run carrying the null wrapper
    assert {g["inject"] for g in caught["capacity-20%"]["gates"]} == {"put+251ns"}
    assert FakeRecorder.calls.count(power.NULL_WRAPPER) == 2
    assert caught["capacity-20%"]["breached"] == 0  # the thresholds here gate throughput
    # the fake's clean P99 is 3 ms, so the 2x P99 kind is a wait on get: harmless here too
    assert power_missed(doc) == ["get~0.3ms caught in 0 of 2", "p99x2 caught in 0 of 2",
                                 "capacity-20% caught in 0 of 2"]
    table = render_power(doc)
    assert table.row_count == 1 + len(power.KINDS)


def test_the_2x_p99_kind_is_sized_from_the_clean_p99() -> None:
    clean = _doc(10_000)
    for entry in clean["scenarios"]:
        entry["metrics"]["latency_ms"]["p99"] = 0.4
    expression, how = power._sized(power.KINDS[3], clean, FakeRecorder("x", quick=True,
                                                                         repeat=3), print)
    assert expression == "get+400us@2%"
    assert "0.400 ms" in how
    for entry in clean["scenarios"]:
        entry["metrics"]["latency_ms"]["p99"] = 5.0
    assert power._sized(power.KINDS[3], clean, FakeRecorder("x", quick=True, repeat=3),
                        print)[0] == "get~5000us@2%"


def test_bad_requests_are_refused() -> None:
    with pytest.raises(HarnessError, match="--power-runs must be >= 1"):
        power.run_power(runs=0, thresholds=THRESHOLDS, alpha=0.01, min_repeats=3)
    with pytest.raises(HarnessError, match="needs relative thresholds"):
        power.run_power(runs=1, thresholds=[parse_threshold("lost == 0")], alpha=0.01,
                        min_repeats=3)


class SizingRecorder(FakeRecorder):
    """capacity.queue_ratio of a queue whose item costs 800 ns, plus the injected work."""

    def run(self, inject: str | None = None, *, specs: Any = None,
            repeat: int | None = None) -> dict[str, Any]:
        assert specs == [self.capacity_spec] and repeat == 1  # the gate's own metric
        work = float(inject.removeprefix("put+").removesuffix("ns"))
        return _doc(10_000, ratio=1.2 * 800 / (800 + work))


def test_the_capacity_drop_is_sized_on_the_metric_the_gate_checks() -> None:
    expression, how = power._sized(power.KINDS[4], _doc(10_000),
                                   SizingRecorder("x", quick=True, repeat=3), print)
    # 200 ns more on an 800 ns item (+1 ns of the null wrapper): queue_ratio x0.8
    assert expression == "put+201ns"
    assert "fitted: put+201ns is x0.80" in how


def test_an_unknown_power_kind_is_refused_with_the_known_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main
    from harness.errors import EXIT_USAGE

    assert main(["bench", "--gate-power", "--power-kinds", "p99x2,p99x3"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--power-kinds: unknown kind p99x3; the kinds are put+20us, get~0.3ms" in err


def test_chosen_kinds_are_the_only_ones_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(power, "_Recorder", FakeRecorder)
    doc = power.run_power(runs=1, thresholds=THRESHOLDS, alpha=0.01, min_repeats=3,
                          kinds=[power.KINDS[0]])
    assert list(doc["gate_power"]["detections"]) == ["put+20us"]
