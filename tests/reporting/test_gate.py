"""The gate end to end through the CLI: exit codes, noise, normalisation, JUnit, summaries."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from harness.cli import main
from harness.errors import EXIT_BREACH, EXIT_INVALID_RUN, EXIT_OK, EXIT_USAGE, HarnessError
from harness.gate import BREACH, PASS, SKIP, evaluate
from harness.thresholds import parse_threshold

from .conftest import build_results, build_scenario

WriteResults = Callable[[str, dict[str, Any]], Path]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty directory so the repository's pyproject defaults do not apply."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def gate(results: Path, baseline: Path, *args: str) -> int:
    return main(["gate", "--no-defaults", "--results", str(results), "--baseline", str(baseline),
                 *args])


def repeats(name: str, throughputs: list[float], **kwargs: Any) -> list[dict[str, Any]]:
    return [build_scenario(name, throughput=t, repeat_index=i, **kwargs)
            for i, t in enumerate(throughputs)]


def checks(results: dict[str, Any], baseline: dict[str, Any], *texts: str) -> list[Any]:
    outcome = evaluate(results, baseline, [parse_threshold(t) for t in texts],
                       check_status=False)
    return outcome.checks


# --- exit codes ---------------------------------------------------------------------------


def test_run_against_its_own_results_passes(write_results: WriteResults) -> None:
    path = write_results("latest.json", build_results(repeats("baseline", [3200, 3250, 3150])))
    assert gate(path, path, "--threshold", "lost == 0",
                "--threshold", "throughput_cps >= 0.9 * baseline") == EXIT_OK


def test_impossible_threshold_breaches(write_results: WriteResults,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = write_results("latest.json", build_results())
    assert gate(path, path, "--threshold", "latency.p99_ms < 0") == EXIT_BREACH
    assert "BREACH" in capsys.readouterr().out


def test_corrupt_baseline_is_bad_input(write_results: WriteResults, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = write_results("latest.json", build_results())
    corrupt = tmp_path / "baseline.json"
    corrupt.write_text('{"schema_version": 1,\n "run_id": }')
    assert gate(path, corrupt, "--threshold", "lost == 0") == EXIT_USAGE
    assert "baseline: results file" in capsys.readouterr().err


def test_bad_expression_is_bad_input(write_results: WriteResults,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = write_results("latest.json", build_results())
    assert gate(path, path, "--threshold", "lost = 0") == EXIT_USAGE
    assert "unexpected character '='" in capsys.readouterr().err


def test_unknown_metric_is_bad_input_with_a_suggestion(
    write_results: WriteResults, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_results("latest.json", build_results())
    assert gate(path, path, "--threshold", "latency.p99ms < 5") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "no scenario of the results has" in err
    assert "did you mean latency.p99_ms" in err


def test_invalid_scenario_exits_3_even_with_a_breach(write_results: WriteResults) -> None:
    doc = build_results([build_scenario("baseline"),
                         build_scenario("high_load", status="invalid")])
    path = write_results("latest.json", doc)
    assert gate(path, path, "--threshold", "latency.p99_ms < 0") == EXIT_INVALID_RUN


def test_scenario_skipped_for_a_capability_is_not_an_invalid_run(
    write_results: WriteResults, capsys: pytest.CaptureFixture[str]
) -> None:
    skipped = build_scenario("buffer_level", status="skipped", count=0)
    skipped["skipped"] = [{"capability": "buffer_level", "reason": "target lacks it"}]
    path = write_results("latest.json", build_results([build_scenario("baseline"), skipped]))
    assert gate(path, path, "--threshold", "lost == 0") == EXIT_OK
    assert "skipped: the target lacks buffer_level" in capsys.readouterr().out


def test_failed_scenario_breaches_unless_status_checks_are_off(write_results: WriteResults) -> None:
    broken = [{"name": "none_lost", "passed": False, "detail": "3 lost"}]
    doc = build_results([build_scenario("baseline", status="fail", invariants=broken)])
    path = write_results("latest.json", doc)
    assert gate(path, path, "--threshold", "lost == 0") == EXIT_BREACH
    assert gate(path, path, "--threshold", "lost == 0", "--no-status") == EXIT_OK


def _status_row(*repeat_invariants: list[dict[str, Any]]) -> Any:
    doc = build_results([
        build_scenario("high_load", repeat_index=i, status="fail" if any(
            not inv["passed"] for inv in invariants) else "pass", invariants=invariants)
        for i, invariants in enumerate(repeat_invariants)])
    (row,) = evaluate(doc, doc, []).checks
    return row


SLOW = {"name": "latency_bounded", "passed": False, "detail": "P99 63.1 ms > 50 ms"}
FAST = {"name": "latency_bounded", "passed": True, "detail": "P99 9.2 ms <= 50 ms"}
LOST = {"name": "none_lost", "passed": False, "detail": "3 lost"}
KEPT = {"name": "none_lost", "passed": True, "detail": "none lost"}


def test_a_timing_bound_broken_in_one_repeat_of_three_is_the_machine_not_a_breach() -> None:
    row = _status_row([KEPT, SLOW], [KEPT, FAST], [KEPT, FAST])
    assert row.verdict == PASS
    assert "latency_bounded broken in 1 of 3 repeats only" in row.note


def test_a_timing_bound_broken_in_most_repeats_breaches() -> None:
    row = _status_row([KEPT, SLOW], [KEPT, SLOW], [KEPT, FAST])
    assert (row.verdict, row.note) == (BREACH, "broken: latency_bounded")


def test_a_correctness_invariant_broken_in_one_repeat_breaches_beside_a_timing_bound() -> None:
    assert _status_row([LOST, FAST], [KEPT, FAST], [KEPT, FAST]).verdict == BREACH
    row = _status_row([KEPT, SLOW], [LOST, FAST], [KEPT, FAST])
    assert (row.verdict, row.note) == (BREACH, "broken: latency_bounded, none_lost")


def test_unknown_scenario_is_bad_input(write_results: WriteResults) -> None:
    path = write_results("latest.json", build_results())
    assert gate(path, path, "--scenario", "nope") == EXIT_USAGE
    assert gate(path, path, "--threshold", "nope:lost == 0") == EXIT_USAGE


# --- samples ------------------------------------------------------------------------------


def _no_latency(name: str) -> dict[str, Any]:
    return build_scenario(name, count=0)


def test_scoped_threshold_on_a_metric_without_samples_is_an_error() -> None:
    doc = build_results([build_scenario("baseline"), _no_latency("queue_overflow")])
    with pytest.raises(HarnessError, match=r"has no samples in scenario 'queue_overflow'"):
        checks(doc, doc, "queue_overflow:latency.p99_ms < 50")


def test_metric_without_samples_anywhere_is_an_error() -> None:
    doc = build_results([_no_latency("queue_overflow")])
    with pytest.raises(HarnessError, match=r"has no samples in any scenario"):
        checks(doc, doc, "latency.p99_ms < 50")


def test_scenario_without_samples_is_skipped_visibly_when_others_have_them() -> None:
    doc = build_results([build_scenario("baseline"), _no_latency("queue_overflow")])
    rows = checks(doc, doc, "latency.p99_ms < 50")
    assert [(c.scenario, c.verdict) for c in rows] == [("baseline", PASS),
                                                       ("queue_overflow", SKIP)]
    assert "no samples" in rows[1].note


def test_null_metric_counts_as_no_samples() -> None:
    doc = build_results([build_scenario("baseline")])
    doc["scenarios"][0]["metrics"]["slo"]["recovery_ms"] = None
    with pytest.raises(HarnessError, match=r"no samples"):
        checks(doc, doc, "baseline:slo.recovery_ms < 100")


# --- noise and normalisation --------------------------------------------------------------


def test_relative_drop_within_the_noise_passes_and_says_so() -> None:
    baseline = build_results(repeats("high_load", [9000, 10000, 11000]))
    current = build_results(repeats("high_load", [8500, 8800, 9200]))
    (row,) = checks(current, baseline, "throughput_cps >= 0.9 * baseline")
    assert row.verdict == PASS
    assert row.current == 8800 and row.baseline == 10000
    assert row.comparison is not None and row.comparison.p >= 0.01
    assert "within noise" in row.note and "limit crossed" in row.note


def test_relative_drop_outside_the_noise_breaches_with_effect_interval_and_p() -> None:
    baseline = build_results(repeats("high_load", [9900, 10000, 10100]))
    current = build_results(repeats("high_load", [8000, 8100, 8200]))
    (row,) = checks(current, baseline, "throughput_cps >= 0.9 * baseline")
    assert row.verdict == BREACH
    comparison = row.comparison
    assert comparison is not None and comparison.p < 0.01
    assert comparison.effect == pytest.approx(0.81)
    assert comparison.low is not None and comparison.high is not None
    assert comparison.low <= 0.81 <= comparison.high < 0.9
    assert "Welch" in row.note


def test_significant_but_small_difference_is_within_the_limit() -> None:
    baseline = build_results(repeats("high_load", [9990, 10000, 10010]))
    current = build_results(repeats("high_load", [9490, 9500, 9510]))
    (row,) = checks(current, baseline, "throughput_cps >= 0.9 * baseline")
    assert row.verdict == PASS
    assert row.comparison is not None and row.comparison.p < 0.01
    assert "within the limit" in row.note


def test_a_percentile_with_too_few_samples_beyond_it_is_skipped_and_says_why() -> None:
    short = build_results([build_scenario("baseline", count=600, repeat_index=i)
                           for i in range(3)])
    p999, p99 = checks(short, short, "latency.p999_ms <= 2 * baseline",
                       "latency.p99_ms <= 2 * baseline")
    assert p999.verdict == SKIP
    assert p999.note == ("600 samples in a repeat leave 0.6 beyond P99.9: too few to compare "
                         "(needs >= 5,000 per repeat)")
    assert p99.verdict == PASS  # 6 samples beyond P99 in every repeat: compared
    long = build_results([build_scenario("baseline", count=20_000, repeat_index=i)
                          for i in range(3)])
    (row,) = checks(long, long, "latency.p999_ms <= 2 * baseline")
    assert row.verdict == PASS


def test_baseline_with_too_few_repeats_is_refused_with_the_command_to_rerecord() -> None:
    baseline = build_results([build_scenario("high_load", throughput=10000)])
    current = build_results(repeats("high_load", [8000, 8100, 8200]))
    with pytest.raises(HarnessError, match=r"the baseline has 1 measured repeat\(s\) of "
                                           r"scenario 'high_load'; relative checks need >= 3: "
                                           r"re-record the baseline with stageflow-stress run "
                                           r"--quick --seed 1 --repeat 3$"):
        checks(current, baseline, "throughput_cps >= 0.9 * baseline")


def test_results_with_too_few_repeats_are_refused() -> None:
    baseline = build_results(repeats("high_load", [8000, 8100, 8200]))
    current = build_results(repeats("high_load", [8000, 8100]))
    with pytest.raises(HarnessError, match=r"the results has 2 measured repeat\(s\).*run again"):
        checks(current, baseline, "throughput_cps >= 0.9 * baseline")


def test_min_repeats_can_be_lowered_to_two_but_not_one() -> None:
    baseline = build_results(repeats("high_load", [9900, 10100]))
    current = build_results(repeats("high_load", [8000, 8100]))
    outcome = evaluate(current, baseline, [parse_threshold("throughput >= 0.9 * baseline")],
                       check_status=False, min_repeats=2)
    assert outcome.checks[0].verdict == BREACH
    with pytest.raises(HarnessError, match=r"min_repeats must be >= 2"):
        evaluate(current, baseline, [parse_threshold("throughput >= 0.9 * baseline")],
                 check_status=False, min_repeats=1)


def test_baseline_from_other_parameters_is_refused(write_results: WriteResults,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    base = build_results(repeats("baseline", [3200, 3210, 3190]))
    current = copy.deepcopy(base)
    for entry in base["scenarios"]:
        entry["params"] = {"chunks": 16000, "rate_cps": 3200.0}
    for entry in current["scenarios"]:
        entry["params"] = {"chunks": 600, "rate_cps": 3200.0}
    code = gate(write_results("latest.json", current), write_results("base.json", base),
                "--threshold", "throughput >= 0.9 * baseline")
    assert code == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "ran scenario 'baseline' with other parameters (chunks=16000 vs 600" in err
    assert "re-record the baseline" in err


def test_absolute_thresholds_need_no_repeats_in_the_baseline() -> None:
    baseline = build_results([build_scenario("high_load", throughput=10000)])
    current = build_results([build_scenario("high_load", lost=2)])
    (row,) = checks(current, baseline, "lost == 0")
    assert row.verdict == BREACH


def test_slower_machine_passes_when_throughput_is_normalised_by_the_reference() -> None:
    baseline = build_results(repeats("high_load", [9900, 10000, 10100]), reference=1_000_000.0)
    current = build_results(repeats("high_load", [4950, 5000, 5050]), reference=500_000.0)
    (row,) = checks(current, baseline, "throughput_cps >= 0.9 * baseline")
    assert row.verdict == PASS
    assert row.baseline == pytest.approx(5000)
    assert "normalised" in row.note


def test_open_loop_throughput_is_compared_raw_even_with_references() -> None:
    baseline = build_results(repeats("high_load", [9900, 10000, 10100]), reference=500_000.0)
    current = build_results(repeats("high_load", [9900, 10000, 10100]), reference=1_000_000.0)
    for doc in (baseline, current):
        for entry in doc["scenarios"]:
            entry["metrics"]["offered_cps"] = 10000.0
    (row,) = checks(current, baseline, "throughput_cps >= 0.9 * baseline")
    assert (row.verdict, row.baseline) == (PASS, 10000)
    assert "open-loop" in row.note


def test_without_a_reference_throughput_is_compared_raw_and_says_so() -> None:
    baseline = build_results(repeats("high_load", [9900, 10000, 10100]), reference=None)
    current = build_results(repeats("high_load", [4950, 5000, 5050]), reference=500_000.0)
    (row,) = checks(current, baseline, "throughput_cps >= 0.9 * baseline")
    assert row.verdict == BREACH
    assert "raw throughput" in row.note


def test_absolute_limit_must_hold_in_every_repeat() -> None:
    doc = build_results([build_scenario("baseline", repeat_index=0),
                         build_scenario("baseline", repeat_index=1, lost=3),
                         build_scenario("baseline", repeat_index=2)])
    (row,) = checks(doc, doc, "lost == 0")
    assert (row.verdict, row.current) == (BREACH, 3)
    assert "worst of 3 runs" in row.note


def test_relative_threshold_on_a_scenario_missing_from_the_baseline_is_an_error() -> None:
    baseline = build_results(repeats("baseline", [3200, 3200, 3200]))
    current = build_results([*repeats("baseline", [3200, 3200, 3200]),
                             *repeats("high_load", [9000, 9000, 9000])])
    with pytest.raises(HarnessError, match=r"the baseline has no scenario 'high_load'"):
        checks(current, baseline, "high_load:throughput >= 0.9 * baseline")


# --- outputs ------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_check_and_failures_for_breaches(
    write_results: WriteResults, tmp_path: Path
) -> None:
    doc = build_results([build_scenario("baseline"), build_scenario("high_load", p99=80.0)])
    path = write_results("latest.json", doc)
    junit = tmp_path / "gate.xml"
    code = gate(path, path, "--threshold", "latency.p99_ms < 50", "--threshold", "lost == 0",
                "--junit", str(junit))
    assert code == EXIT_BREACH
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 6  # 2 status checks + 2 thresholds x 2 scenarios
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["high_load: latency.p99_ms < 50"]
    assert (suite.get("tests"), suite.get("failures")) == ("6", "1")


def test_a_machine_of_another_speed_is_named_in_a_warning(
        write_results: WriteResults, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = write_results("baseline.json", build_results([build_scenario("baseline")]))
    same = write_results("same.json", build_results([build_scenario("baseline")],
                                                    reference=1_100_000.0))
    slow = write_results("slow.json", build_results([build_scenario("baseline")],
                                                    reference=520_000.0))
    assert gate(same, baseline, "--threshold", "lost == 0") == EXIT_OK
    assert "reference asyncio.Queue" not in capsys.readouterr().out
    assert gate(slow, baseline, "--threshold", "lost == 0") == EXIT_OK  # a warning only
    assert "moved the reference asyncio.Queue at x0.4 of the baseline's" in " ".join(
        capsys.readouterr().out.split())


def test_step_summary_is_appended_to(write_results: WriteResults, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    path = write_results("latest.json", build_results())
    assert gate(path, path, "--threshold", "lost == 0") == EXIT_OK
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "### stageflow-stress gate: PASS" in text
    assert "| `lost == 0` | baseline |" in text


def test_json_output_lists_every_check(write_results: WriteResults,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = write_results("latest.json", build_results())
    assert gate(path, path, "--threshold", "lost == 0", "--json") == EXIT_OK
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["verdict"] == "PASS"
    assert [c["expression"] for c in doc["checks"]] == ["status == pass", "lost == 0"]


# --- threshold sources --------------------------------------------------------------------


def test_thresholds_come_from_a_config_file(write_results: WriteResults, tmp_path: Path) -> None:
    config = tmp_path / "gate.toml"
    config.write_text('thresholds = ["latency.p99_ms < 0"]\n')
    path = write_results("latest.json", build_results())
    assert gate(path, path, "--config", str(config)) == EXIT_BREACH


def test_config_that_is_not_toml_is_bad_input(write_results: WriteResults, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gate.toml"
    config.write_text("thresholds = [\n")
    path = write_results("latest.json", build_results())
    assert gate(path, path, "--config", str(config)) == EXIT_USAGE
    assert "is not valid TOML" in capsys.readouterr().err


def test_pyproject_defaults_give_thresholds_and_the_baseline(
    write_results: WriteResults, tmp_path: Path
) -> None:
    base = build_results(repeats("baseline", [9900, 10000, 10100]))
    slower = build_results(repeats("baseline", [4950, 5000, 5050]))
    write_results("baseline.json", base)
    current = write_results("latest.json", slower)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.stageflow-stress]\nbaseline = "baseline.json"\n'
        'thresholds = ["throughput_cps >= 0.9 * baseline"]\n'
    )
    assert main(["gate", "--results", str(current)]) == EXIT_BREACH
    assert main(["gate", "--results", str(current), "--no-defaults",
                 "--baseline", "baseline.json"]) == EXIT_OK


def test_gate_without_any_baseline_is_bad_input(write_results: WriteResults,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = write_results("latest.json", build_results())
    assert main(["gate", "--no-defaults", "--results", str(path)]) == EXIT_USAGE
    assert "gate needs --baseline FILE" in capsys.readouterr().err
