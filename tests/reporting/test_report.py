"""The regenerated report: golden output, determinism, --check, and what it is built from."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from harness.cli import main
from harness.commands.report import generate
from harness.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from harness.jsonio import write_json_atomic
from harness.report import build_report

from .conftest import GOLDEN, build_results, build_scenario


@pytest.fixture
def golden_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the golden inputs, and the working directory the report is built from."""
    directory = tmp_path / "golden"
    shutil.copytree(GOLDEN, directory)
    monkeypatch.chdir(directory)
    return directory


def test_report_matches_the_golden_file(golden_dir: Path) -> None:
    text = generate(Path("results.json"), Path("ledgers"))
    if os.environ.get("STAGEFLOW_UPDATE_GOLDEN") == "1":  # regenerate after a deliberate change
        (GOLDEN / "report.md").write_text(text, encoding="utf-8")
    assert text == (golden_dir / "report.md").read_text(encoding="utf-8")


def test_same_inputs_give_a_byte_identical_report(golden_dir: Path) -> None:
    assert generate(Path("results.json"), Path("ledgers")) == generate(
        Path("results.json"), Path("ledgers"))


def test_report_does_not_depend_on_ledger_entry_order(golden_dir: Path) -> None:
    results = orjson.loads(Path("results.json").read_bytes())
    ledgers = {"bug": orjson.loads(Path("ledgers/bugs.json").read_bytes())["entries"]}
    shuffled = {"bug": list(reversed(ledgers["bug"]))}
    assert build_report(results, ledgers) == build_report(results, shuffled)


def test_numbers_come_from_the_results(golden_dir: Path) -> None:
    results = orjson.loads(Path("results.json").read_bytes())
    results["scenarios"][4]["metrics"]["latency_ms"]["p999"] = 77.125
    results["scenarios"][4]["metrics"]["throughput_cps"] = 12345.0
    text = build_report(results, {})
    assert "| high_load | 15,000 | 1.840 | 9.310 | 17.450 | 77.125 | 35.880 | 2.950 |" in text
    assert ("Highest delivered rate | 12,345 chunks/s (high_load, offered 10,000 chunks/s)"
            in text)


def test_open_loop_throughput_is_offered_vs_delivered_not_a_ratio_to_the_reference() -> None:
    paced = build_scenario("high_load", throughput=9000.0)
    paced["metrics"]["offered_cps"] = 10000.0
    text = build_report(build_results([paced]), {})
    assert "| high_load | 10,000 | 9,000 | 90.0 % |" in text
    assert "Ratio to asyncio.Queue" not in text
    assert "Reference: a bare `asyncio.Queue` moved 1,300,000 items/s" in text


def test_scenario_without_an_offered_rate_keeps_the_ratio_to_the_reference() -> None:
    paced = build_scenario("baseline")
    paced["metrics"]["offered_cps"] = 3200.0
    closed = build_scenario("closed_loop", throughput=650_000.0)
    text = build_report(build_results([paced, closed]), {})
    assert "| closed_loop | 650,000 | 0.5000 |" in text
    assert "| baseline | 3,200 | 3,200 | 100.0 % |" in text


def test_appendix_lists_inputs_with_their_sha256(golden_dir: Path) -> None:
    import hashlib

    text = generate(Path("results.json"), Path("ledgers"))
    digest = hashlib.sha256(Path("results.json").read_bytes()).hexdigest()
    assert f"| `results.json` | `{digest}` |" in text


def test_check_exits_0_when_current_and_1_when_stale(
    golden_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--results", "results.json", "--ledger-dir", "ledgers", "--out", "out.md"]
    assert main([*args, "--check"]) == EXIT_FAIL
    assert "out.md is missing" in capsys.readouterr().out
    assert main(args) == EXIT_OK
    assert main([*args, "--check"]) == EXIT_OK
    doc = orjson.loads(Path("ledgers/dx.json").read_bytes())
    doc["entries"][0]["title"] = "Blocking is undocumented"
    write_json_atomic(Path("ledgers/dx.json"), doc)
    capsys.readouterr()
    assert main([*args, "--check"]) == EXIT_FAIL
    assert "out.md is stale (first difference at line" in capsys.readouterr().out


def test_check_writes_nothing(golden_dir: Path) -> None:
    main(["report", "--results", "results.json", "--ledger-dir", "ledgers", "--out", "new.md",
          "--check"])
    assert not Path("new.md").exists()


def test_corrupt_ledger_is_bad_input(golden_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("ledgers/bugs.json").write_text('{"version": 1, "entries": [1]}')
    args = ["report", "--results", "results.json", "--ledger-dir", "ledgers", "--out", "out.md"]
    assert main(args) == EXIT_USAGE
    assert "bugs.json:1:28: entries[0]: expected an object" in capsys.readouterr().err
    assert not Path("out.md").exists()


def test_missing_results_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == EXIT_USAGE
    assert "results/latest.json does not exist" in capsys.readouterr().err


def test_missing_ledgers_give_a_report_without_findings(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_json_atomic(path, build_results())
    text = generate(path, tmp_path / "no-ledgers")
    assert "The ledgers hold no findings." in text
    assert "### Bugs (0)" in text


def test_verdict_names_the_failed_scenarios() -> None:
    broken = [{"name": "none_lost", "passed": False, "detail": "3 lost"}]
    doc = build_results([build_scenario("baseline"),
                         build_scenario("high_load", status="fail", invariants=broken)])
    assert ("**Verdict: FAIL.** 1 of 2 scenario runs did not pass against stageflow_core "
            "0.1.0: high_load (fail: none_lost).") in build_report(doc, {})


def test_invalid_run_verdict_says_the_numbers_do_not_count() -> None:
    doc = build_results([build_scenario("high_load", status="invalid")])
    assert "**Verdict: INVALID.**" in build_report(doc, {})


def test_skipped_scenario_is_reported_as_skipped_not_invalid() -> None:
    skipped = build_scenario("buffer_level", status="skipped", count=0)
    skipped["skipped"] = [{"capability": "buffer_level", "reason": "target lacks it"}]
    text = build_report(build_results([build_scenario("baseline"), skipped]), {})
    assert ("**Verdict: PASS.** The one scenario run passed against stageflow_core 0.1.0. "
            "1 scenario run was skipped: the target lacks buffer_level.") in text
    assert "| buffer_level | correctness | H1 | SKIPPED |" in text


def test_counts_agree_with_their_nouns() -> None:
    broken = [{"name": "none_lost", "passed": False, "detail": "1 lost"}]
    doc = build_results([build_scenario("high_load", status="fail", invariants=broken,
                                        lost=1)])
    entry = {"id": "BUG-001", "type": "bug", "title": "t", "status": "fixed", "seen_count": 1,
             "first_seen": "2026-11-23", "last_seen": "2026-11-23",
             "target": {"name": "stageflow_core", "version": "0.1.0"}}
    text = build_report(doc, {"bug": [entry]})
    assert "1 of 1 scenario run did not pass against" in text
    assert "1 chunk was lost without an event" in text
    assert "**Seen:** first 2026-11-23, last 2026-11-23, 1 run." in text
    assert "The ledgers hold no open bug or DX finding against stageflow_core" in text


def test_hypothesis_evidence_counts_one_attempt_in_the_singular() -> None:
    from harness.hypotheses import evaluate_hypotheses

    evidence = evaluate_hypotheses([build_scenario("baseline")])["H1"]["evidence"]
    assert evidence.startswith("baseline passed (1 attempt; checked: ")


def _buffer_scenario() -> dict[str, Any]:
    """A scenario that writes into a buffer, as the runner records it: writes accepted
    count as delivered, and there is no per-chunk latency."""
    scenario = build_scenario("buffer_underrun", count=40)
    scenario["metrics"]["latency_ms"] = {"count": 0, "max": 0.0, "mean": 0.0, "p50": 0.0,
                                         "p95": 0.0, "p99": 0.0, "p999": 0.0}
    scenario["metrics"]["series"] = {
        "buffer_ms.buffer_16000x1": {"count": 968, "last": 0.0, "max": 270.0, "mean": 125.5,
                                     "min": 0.0, "p99": 270.0, "points": []},
        "loop_lag_ms": {"count": 826, "last": 0.2, "max": 3.2, "mean": 0.2, "min": 0.05,
                        "p99": 1.0, "points": []},
    }
    scenario["metrics"]["events"] = {"stream.buffer_underrun": 1, "stream.buffer_recovered": 1}
    return scenario


def test_buffer_scenario_says_why_it_has_no_latency_instead_of_a_row_of_dashes() -> None:
    text = build_report(build_results([build_scenario("baseline"), _buffer_scenario()]), {})
    latency = text[text.index("### Latency"):text.index("### Service time")]
    assert "| buffer_underrun |" not in latency
    assert ("No latency for buffer_underrun: chunks are written into a buffer and leave it as "
            "bytes") in latency
    assert ("buffer_underrun write chunks into a buffer: Delivered counts the writes it "
            "accepted") in text


def test_refused_and_stranded_chunks_are_counted_apart_from_dropped_and_lost() -> None:
    scenario = build_scenario("queue_overflow", count=520)
    scenario["metrics"].update(delivered=189, dropped=250, refused=30, stranded=50, lost=1)
    text = build_report(build_results([scenario]), {})
    assert "| 520 | 189 | 250 | 30 | 50 | 1 |" in text
    assert "| Chunks refused (the put raised) | 30 |" in text


def test_buffer_level_and_queue_depth_come_from_the_sampled_series() -> None:
    text = build_report(build_results([_buffer_scenario()]), {})
    assert ("| buffer_underrun | buffer `buffer_16000x1` | ms of audio | 0.0 | 125.5 | 270.0 "
            "| 270.0 | 0.0 |") in text
    assert "`loop_lag_ms`" not in text


def test_telemetry_events_are_listed_with_their_counts() -> None:
    text = build_report(build_results([_buffer_scenario()]), {})
    assert ("| buffer_underrun | `stream.buffer_recovered` 1, `stream.buffer_underrun` 1 |"
            in text)


def test_memory_is_shown_in_units_that_fit_its_size() -> None:
    scenario = build_scenario("baseline")
    scenario["metrics"]["memory"] = {"peak_bytes": 47_452_160, "growth_bytes": 32_768,
                                     "growth_bytes_per_s": -1_197_393.5}
    text = build_report(build_results([scenario]), {})
    assert "| baseline | 45.3 MiB | 32 KiB | -1.1 MiB/s |" in text


def _compare_document() -> dict[str, Any]:
    doc = build_results()
    cell = {"status": "pass", "throughput_cps": 3200.0, "p50_ms": 0.5, "p99_ms": 3.0, "lost": 0,
            "dropped": 0, "findings": 0, "skipped": []}
    doc["compare"] = {  # the shape harness.compare writes (docs/architecture.md)
        "suite": "adversarial", "quick": True, "seed": 0,
        "targets": [{"name": "stageflow_core", "version": "0.1.0", "run_id": "r1",
                     "summary": {"passed": 1, "failed": 0}},
                    {"name": "stageflow", "version": "0.5.1", "run_id": "r2",
                     "summary": {"passed": 0, "failed": 1}}],
        "fields": ["status", "throughput_cps", "p50_ms", "p99_ms", "lost", "dropped",
                   "findings", "skipped"],
        "rows": [{"scenario": "baseline", "stageflow_core": cell,
                  "stageflow": {**cell, "status": "fail", "throughput_cps": 1234.0,
                                "p50_ms": None, "p99_ms": None, "lost": 2, "findings": 3}}],
    }
    return doc


def test_compare_section_is_rendered_side_by_side_when_present() -> None:
    text = build_report(_compare_document(), {})
    assert "## 5. Side-by-side comparison" in text
    assert "- stageflow 0.5.1: run `r2` (1 failed)" in text
    assert "| baseline | stageflow_core 0.1.0 | PASS | 3,200 | 0.500 | 3.000 | 0 | 0 | 0 |" in text
    assert "| baseline | stageflow 0.5.1 | FAIL | 1,234 | — | — | 2 | 0 | 3 |" in text
    assert "P50/P99 — for baseline (stageflow): no chunk was delivered." in text


def test_compare_shows_the_capabilities_a_target_lacked() -> None:
    doc = _compare_document()
    doc["compare"]["rows"][0]["stageflow"].update(status="skipped", skipped=["duplex"])
    text = build_report(doc, {})
    assert "| Bug findings | Lacks |" in text
    assert "| baseline | stageflow 0.5.1 | SKIPPED | 1,234 | — | — | 2 | 0 | 3 | duplex |" in text


def test_compare_says_why_a_buffer_scenario_has_no_latency() -> None:
    doc = _compare_document()
    doc["scenarios"][0]["metrics"]["latency_ms"]["count"] = 0
    doc["compare"]["rows"][0]["stageflow_core"]["p99_ms"] = None
    text = build_report(doc, {})
    assert "P50/P99 — for baseline: chunks are written into a buffer and leave it as bytes" in text


def test_report_renders_the_compare_document_next_to_the_results(golden_dir: Path) -> None:
    text = generate(Path("results.json"), Path("ledgers"))
    assert ("From `compare-latest.json`: run `20261124T004355Z-5f0fcd` of "
            "2026-11-24T00:43:55Z") in text
    assert "| queue_overflow | stageflow 0.5.1 | FAIL |" in text


def test_appendix_lists_the_compare_file_with_its_sha256(golden_dir: Path) -> None:
    import hashlib

    text = generate(Path("results.json"), Path("ledgers"))
    digest = hashlib.sha256(Path("compare-latest.json").read_bytes()).hexdigest()
    assert f"| `compare-latest.json` | `{digest}` |" in text


def test_compare_option_names_the_compare_file(golden_dir: Path) -> None:
    Path("compare-latest.json").rename("other.json")
    text = generate(Path("results.json"), Path("ledgers"), Path("other.json"))
    assert "From `other.json`: run `20261124T004355Z-5f0fcd`" in text


def test_no_compare_leaves_the_comparison_and_its_file_out(golden_dir: Path) -> None:
    text = generate(Path("results.json"), Path("ledgers"), use_compare=False)
    assert "Side-by-side" not in text
    assert "compare-latest.json" not in text


def test_results_with_their_own_compare_section_ignore_the_default_file(
    golden_dir: Path,
) -> None:
    write_json_atomic(Path("own.json"), _compare_document())
    text = generate(Path("own.json"), Path("ledgers"))
    assert "- stageflow 0.5.1: run `r2` (1 failed)" in text
    assert "compare-latest.json" not in text


def test_check_is_stale_when_the_compare_file_changes(
    golden_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--results", "results.json", "--ledger-dir", "ledgers", "--out", "out.md"]
    assert main(args) == EXIT_OK
    doc = orjson.loads(Path("compare-latest.json").read_bytes())
    doc["compare"]["rows"][0]["stageflow"]["findings"] = 9
    write_json_atomic(Path("compare-latest.json"), doc)
    capsys.readouterr()
    assert main([*args, "--check"]) == EXIT_FAIL
    assert "out.md is stale" in capsys.readouterr().out


def test_missing_compare_file_is_bad_input(
    golden_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--results", "results.json", "--ledger-dir", "ledgers", "--out", "out.md",
            "--compare", "nope.json"]
    assert main(args) == EXIT_USAGE
    assert "compare file nope.json does not exist" in capsys.readouterr().err
    assert not Path("out.md").exists()


def test_compare_file_without_a_compare_section_is_bad_input(
    golden_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--results", "results.json", "--ledger-dir", "ledgers", "--out", "out.md",
            "--compare", "results.json"]
    assert main(args) == EXIT_USAGE
    assert "compare file results.json has no 'compare' section" in capsys.readouterr().err


def test_no_compare_section_without_compare() -> None:
    assert "Side-by-side" not in build_report(build_results(), {})


def _bug_found_by(records: Any) -> dict[str, Any]:
    return {"id": "BUG-001", "type": "bug", "title": "t", "status": "open",
            "target": {"name": "stageflow", "version": "0.5.1"},
            "evidence": {"found_by": records}}


def test_findings_list_each_check_that_found_the_defect_with_its_command() -> None:
    records = [
        {"check": "high_load/no_hang", "source": "run", "run_id": "r1", "seed": 0,
         "reproduction": "stageflow-stress run high_load --target stageflow --seed 0"},
        {"check": "fuzz/no_hang", "source": "fuzz", "run_id": "f1", "machine": "queue",
         "seed": 3, "confirmed": False,
         "reproduction": "stageflow-stress fuzz --target stageflow --seed 3"},
    ]
    text = build_report(build_results(), {"bug": [_bug_found_by(records)]})
    assert ("**Found by**\n\n"
            "- `high_load/no_hang` (run `r1`, seed 0): "
            "`stageflow-stress run high_load --target stageflow --seed 0`\n"
            "- `fuzz/no_hang` (fuzz `f1`, queue machine, seed 3, script not verified): "
            "`stageflow-stress fuzz --target stageflow --seed 3`\n") in text


def test_findings_without_usable_found_by_records_have_no_found_by_list() -> None:
    entries = [_bug_found_by("not a list"), {**_bug_found_by([{"source": "run"}, 7]),
                                             "id": "BUG-002"}]
    text = build_report(build_results(), {"bug": entries})
    assert "#### BUG-002: t" in text
    assert "**Found by**" not in text


def test_a_long_reproduction_script_is_pointed_to_not_printed() -> None:
    from harness.report.findings import REPRODUCTION_MAX_LINES, _entry_lines

    script = "\n".join(f"step_{n}()" for n in range(REPRODUCTION_MAX_LINES + 5))
    entry = {"id": "BUG-100", "title": "t", "severity": "high", "reproduction": script}
    text = "\n".join(_entry_lines(entry, "bug"))
    assert "step_0()" not in text
    assert f"{REPRODUCTION_MAX_LINES + 5}-line script" in text and "`bugs.json`" in text
    short = "\n".join(_entry_lines({**entry, "reproduction": "step_0()"}, "bug"))
    assert "step_0()" in short


def test_voice_section_shows_where_a_barge_ins_time_went_and_the_targets_heap_trend() -> None:
    scenario = build_scenario("voice_barge_in", count=39)
    stats = {"count": 39, "p50": 0.016, "p95": 0.031, "p99": 0.032, "max": 0.032}
    scenario["metrics"]["notes"] = {"response_ms": {**stats, "p50": 11.2},
                                    "interrupt_ms": stats}
    scenario["soak"] = {"verdict": "flat", "samples": 23, "tolerance_bytes_per_min": 65536,
                        "trend": {"target": {"bytes_per_min": 31130.0,
                                             "ci95": [29184.0, 33075.0]}}}
    text = build_report(build_results([scenario]), {})
    assert ("| voice_barge_in | barge-in: VAD's answer to speaker cleared | 39 | 0.016 |"
            in text)
    assert "| voice_barge_in | flat | 30 KiB/min | 28 KiB .. 32 KiB | 64 KiB/min | 23 |" in text


def test_no_heap_trend_table_without_a_watched_heap() -> None:
    text = build_report(build_results([build_scenario("baseline")]), {})
    assert "### Memory trend of the target" not in text
