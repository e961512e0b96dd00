"""One defect, one finding: identity is the contract clause broken, checks are provenance."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import orjson

from harness.defects import DefectKey
from harness.findings import (
    Finding,
    checks_run_for,
    findings_from_run,
    key_fingerprint,
    merge_findings,
    record_run,
)
from harness.ledgers import load_ledgers

from .conftest import REPO, build_results, build_scenario

TARGET = ("mylib", "1.0")
BLOCKED = {"component": "ChunkQueue", "operation": "put (full queue)",
           "property": "backpressure_visible"}
READ_FRAMES = {"component": "StreamingBuffer", "operation": "read", "property": "whole_frames"}
TRIM_FRAMES = {"component": "StreamingBuffer", "operation": "add_chunk (overflow trim)",
               "property": "whole_frames"}
SNIPPET = "import asyncio\n# replays the shrunk example\nasyncio.run(main())\n"
# the target declares what these tests' defects break, so they are bugs (test_judging.py
# covers targets that do not)
DECLARES = [{"clause": "queue.blocked_events", "value": True, "where": "mylib docs"}]


def broken(name: str, detail: str, *defects: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "passed": False, "detail": detail, "defects": list(defects), **extra}


def run_with(*scenarios: tuple[str, list[dict[str, Any]]], run_id: str = "20261123T120000Z-aaaaaa",
             target: tuple[str, str] = TARGET) -> dict[str, Any]:
    entries = [build_scenario(name, status="fail", category="reliability", invariants=invs)
               for name, invs in scenarios]
    doc = build_results(entries, run_id=run_id, created_at=f"at-{run_id}", target=target)
    doc["target"]["semantics"] = DECLARES
    return doc


def telemetry_run(run_id: str = "20261123T120000Z-aaaaaa", **kw: Any) -> dict[str, Any]:
    return run_with(("queue_overflow", [broken("telemetry", "1 of 1 puts blocked", BLOCKED)]),
                    run_id=run_id, **kw)


def fuzz_finding(prop: str = "backpressure_visible", operation: str = "put (full queue)",
                 *, confirmed: bool = True, target: tuple[str, str] = TARGET) -> Finding:
    return Finding(
        kind="bug", title="from the fuzzer", severity="low", component="ChunkQueue",
        target={"name": target[0], "version": target[1]}, description="d", reproduction=SNIPPET,
        expected="e", actual="a", impact="i", recommendation="r",
        evidence={"source": "fuzz", "run_id": "fuzz-1", "machine": "queue", "property": prop,
                  "operation": operation, "seed": 0,
                  "verified": {"confirmed": confirmed}},
        check=f"fuzz/{prop}")


def merge_fuzz(ledgers: Path, *findings: Finding, checks: set[str] | None = None) -> Any:
    return merge_findings(list(findings), ledger_dir=ledgers, run_id="fuzz-1",
                          target={"name": TARGET[0], "version": TARGET[1],
                                  "semantics": DECLARES},
                          checks_run=checks if checks is not None else set(),
                          now="at-fuzz-1")


def generated(ledgers: Path) -> list[dict[str, Any]]:
    return [e for e in load_ledgers(ledgers)["bug"].entries
            if e.get("fingerprint") and e.get("source") != "manual"]


def checks_of(entry: dict[str, Any]) -> list[str]:
    return [r["check"] for r in entry["evidence"]["found_by"]]


# --- findings_from_run ----------------------------------------------------------------------

def test_a_defect_seen_by_two_scenarios_of_a_run_is_one_finding() -> None:
    run = run_with(("queue_overflow", [broken("telemetry", "1 put blocked", BLOCKED)]),
                   ("adv_close_under_load", [broken("telemetry", "40 puts blocked", BLOCKED)]))
    (finding,) = findings_from_run(run)
    assert finding.title == "ChunkQueue.put (full queue): a put waits without " \
                            "stream.producer_blocked (1 put blocked)"
    assert finding.checks == ["queue_overflow/telemetry", "adv_close_under_load/telemetry"]
    assert (finding.check, finding.actual.split(" (")[0]) == ("queue_overflow/telemetry",
                                                              "1 put blocked")
    assert finding.reproduction == ("stageflow-stress run queue_overflow --target mylib "
                                    "--seed 1 --quick")


def test_two_defects_in_one_verdict_are_two_findings() -> None:
    run = run_with(("buffer_overflow", [broken("whole_frames", "reads and trims",
                                               READ_FRAMES, TRIM_FRAMES)]))
    findings = findings_from_run(run)
    assert [f.title for f in findings] == [
        "the overflow trim and read() cut audio mid-frame: durations are turned into bytes "
        "without rounding to whole frames"] * 2
    assert len({f.fingerprint for f in findings}) == 2


def test_fingerprint_is_the_clause_not_the_check() -> None:
    one = findings_from_run(run_with(("a", [broken("telemetry", "x", BLOCKED)])))[0]
    other = findings_from_run(run_with(("b", [broken("mine", "y 7 ms", BLOCKED)])))[0]
    assert one.fingerprint == other.fingerprint == key_fingerprint(
        "mylib", "bug", DefectKey(**BLOCKED))


def test_check_without_a_key_keeps_its_check_identity() -> None:
    run = run_with(("queue_overflow", [broken("monitor_counts_drops", "monitor counted 0")]))
    (finding,) = findings_from_run(run)
    assert finding.defect_key is None
    assert finding.title == ("BackpressureMonitor: invariant 'monitor_counts_drops' broken in "
                             "scenario queue_overflow")
    assert finding.checks == ["queue_overflow/monitor_counts_drops"]


def test_what_a_check_could_not_name_is_filed_under_the_check_too() -> None:
    run = run_with(("queue_overflow", [broken("telemetry", "both", BLOCKED,
                                              unattributed="2 put timeouts without event")]))
    keyed, rest = findings_from_run(run)
    assert keyed.defect_key == DefectKey(**BLOCKED)
    assert (rest.defect_key, rest.actual) == (None, "2 put timeouts without event")


# --- merging ------------------------------------------------------------------------------

def test_run_and_fuzz_seeing_one_defect_make_one_entry_with_two_records(tmp_path: Path) -> None:
    record_run(telemetry_run(), ledger_dir=tmp_path)
    summary = merge_fuzz(tmp_path, fuzz_finding())
    assert (summary.added, summary.updated) == ([], ["BUG-001"])
    (entry,) = generated(tmp_path)
    # the verified script replaced the CLI command: the words are those of the script
    assert entry["title"] == "from the fuzzer" and entry["reproduction"] == SNIPPET
    assert checks_of(entry) == ["queue_overflow/telemetry", "fuzz/backpressure_visible"]
    run_record, fuzz_record = entry["evidence"]["found_by"]
    assert (run_record["run_id"], run_record["scenario"], run_record["seed"]) == (
        "20261123T120000Z-aaaaaa", "queue_overflow", 1)
    assert run_record["reproduction"].startswith("stageflow-stress run queue_overflow")
    assert (fuzz_record["run_id"], fuzz_record["confirmed"]) == ("fuzz-1", True)


def test_fuzz_first_then_run_also_folds(tmp_path: Path) -> None:
    merge_fuzz(tmp_path, fuzz_finding())
    assert record_run(telemetry_run(), ledger_dir=tmp_path).updated == ["BUG-001"]
    assert checks_of(generated(tmp_path)[0]) == ["fuzz/backpressure_visible",
                                                 "queue_overflow/telemetry"]


def test_rerun_updates_its_record_instead_of_adding_one(tmp_path: Path) -> None:
    record_run(telemetry_run(), ledger_dir=tmp_path)
    record_run(telemetry_run("20261124T120000Z-bbbbbb"), ledger_dir=tmp_path)
    (entry,) = generated(tmp_path)
    (record,) = entry["evidence"]["found_by"]
    assert (entry["seen_count"], record["run_id"]) == (2, "20261124T120000Z-bbbbbb")


def test_verified_fuzz_script_replaces_the_cli_command(tmp_path: Path) -> None:
    record_run(telemetry_run(), ledger_dir=tmp_path)
    merge_fuzz(tmp_path, fuzz_finding())
    entry = generated(tmp_path)[0]
    assert entry["reproduction"] == SNIPPET
    assert entry["evidence"]["found_by"][0]["reproduction"].startswith("stageflow-stress run")


def test_cli_command_stays_over_an_unverified_script_which_is_kept(tmp_path: Path) -> None:
    record_run(telemetry_run(), ledger_dir=tmp_path)
    merge_fuzz(tmp_path, fuzz_finding(confirmed=False))
    entry = generated(tmp_path)[0]
    assert entry["reproduction"].startswith("stageflow-stress run queue_overflow")
    assert entry["evidence"]["found_by"][1]["snippet"] == SNIPPET


def test_hand_edited_reproduction_is_never_replaced(tmp_path: Path) -> None:
    record_run(telemetry_run(), ledger_dir=tmp_path)
    path = tmp_path / "bugs.json"
    doc = orjson.loads(path.read_bytes())
    doc["entries"][0]["reproduction"] = "my own script"
    path.write_bytes(orjson.dumps(doc))
    merge_fuzz(tmp_path, fuzz_finding())
    assert generated(tmp_path)[0]["reproduction"] == "my own script"


def test_fixed_once_a_check_that_saw_it_runs_and_no_longer_sees_it(tmp_path: Path) -> None:
    record_run(telemetry_run(), ledger_dir=tmp_path)
    merge_fuzz(tmp_path, fuzz_finding())
    summary = merge_fuzz(tmp_path, checks={"fuzz/backpressure_visible"})
    assert summary.fixed == ["BUG-001"]


def test_not_fixed_when_none_of_its_checks_ran(tmp_path: Path) -> None:
    record_run(telemetry_run(), ledger_dir=tmp_path)
    summary = merge_fuzz(tmp_path, checks={"fuzz/no_hang", "baseline/telemetry"})
    assert summary.fixed == []


def test_not_fixed_while_another_check_still_sees_it(tmp_path: Path) -> None:
    record_run(telemetry_run(), ledger_dir=tmp_path)
    merge_fuzz(tmp_path, fuzz_finding())
    run = run_with(("queue_overflow", [{"name": "telemetry", "passed": True, "detail": ""}]),
                   ("adv_stalled_consumer", [broken("telemetry", "2 blocked", BLOCKED)]),
                   run_id="20261124T120000Z-bbbbbb")
    summary = record_run(run, ledger_dir=tmp_path)
    assert (summary.fixed, summary.updated) == ([], ["BUG-001"])
    assert checks_of(generated(tmp_path)[0])[-1] == "adv_stalled_consumer/telemetry"


def test_findings_of_one_defect_in_one_batch_fold_into_one_entry(tmp_path: Path) -> None:
    run_finding = findings_from_run(telemetry_run())[0]
    summary = merge_fuzz(tmp_path, run_finding, fuzz_finding())
    assert summary.added == ["BUG-001"]
    entry = generated(tmp_path)[0]
    assert checks_of(entry) == ["queue_overflow/telemetry", "fuzz/backpressure_visible"]
    assert entry["reproduction"] == SNIPPET


def test_bug_038_is_matched_by_its_defect_key(seeded: Path) -> None:
    bug_038 = load_ledgers(REPO)["bug"].entries[0]
    key = DefectKey(bug_038["component"], bug_038["evidence"]["operation"],
                    bug_038["evidence"]["property"])
    assert key == DefectKey("ChunkQueue", "put (full queue)", "no_hang")
    assert bug_038["fingerprint"] == key_fingerprint("stageflow", "bug", key)
    run = run_with(("adv_stalled_consumer", [broken("no_hang", "1 task", key.as_dict())]),
                   target=("stageflow", "0.5.1"))
    assert record_run(run, ledger_dir=seeded).manual == ["BUG-038"]


def test_fuzz_entry_from_before_keys_gets_its_key_fingerprint(tmp_path: Path) -> None:
    merge_fuzz(tmp_path, fuzz_finding())
    path = tmp_path / "bugs.json"
    doc = orjson.loads(path.read_bytes())
    legacy = doc["entries"][0]
    legacy["fingerprint"] = "0123456789abcdef"
    legacy["evidence"].pop("found_by")
    path.write_bytes(orjson.dumps(doc))
    summary = record_run(telemetry_run(), ledger_dir=tmp_path)
    assert (summary.added, summary.updated) == ([], ["BUG-001"])


def test_run_entry_from_before_keys_is_adopted_not_falsely_fixed(tmp_path: Path) -> None:
    legacy_run = run_with(("queue_overflow", [{"name": "telemetry", "passed": False,
                                               "detail": "old"}]))
    record_run(legacy_run, ledger_dir=tmp_path)
    path = tmp_path / "bugs.json"
    doc = orjson.loads(path.read_bytes())
    doc["entries"][0]["evidence"].pop("found_by")
    path.write_bytes(orjson.dumps(doc))
    summary = record_run(telemetry_run("20261124T120000Z-bbbbbb"), ledger_dir=tmp_path)
    assert (summary.added, summary.updated, summary.fixed) == ([], ["BUG-001"], [])
    (entry,) = generated(tmp_path)
    assert entry["fingerprint"] == key_fingerprint("mylib", "bug", DefectKey(**BLOCKED))


def test_merging_a_keyed_run_twice_writes_nothing(tmp_path: Path) -> None:
    record_run(telemetry_run(), ledger_dir=tmp_path)
    before = (tmp_path / "bugs.json").read_bytes()
    assert record_run(copy.deepcopy(telemetry_run()), ledger_dir=tmp_path).written == []
    assert (tmp_path / "bugs.json").read_bytes() == before


def test_a_target_with_some_overflow_policies_does_not_fix_the_missing_ones() -> None:
    run = telemetry_run()
    run["target"]["capabilities"] = {"overflow_policies": ["block", "drop_oldest"],
                                     "put_timeout": True}
    checks = checks_run_for(run)
    assert "capability/put_timeout" in checks
    assert "capability/overflow_policies" not in checks


def test_the_same_script_seen_again_takes_the_harness_s_current_words(tmp_path: Path) -> None:
    merge_fuzz(tmp_path, fuzz_finding())
    reworded = dataclasses.replace(fuzz_finding(), title="put() waits without telling anyone")
    merge_fuzz(tmp_path, reworded)
    assert generated(tmp_path)[0]["title"] == "put() waits without telling anyone"


def test_words_a_person_edited_are_kept_when_the_same_script_is_seen_again(
    tmp_path: Path,
) -> None:
    merge_fuzz(tmp_path, fuzz_finding())
    path = tmp_path / "bugs.json"
    doc = orjson.loads(path.read_bytes())
    doc["entries"][-1]["title"] = "my own title"
    path.write_bytes(orjson.dumps(doc))
    merge_fuzz(tmp_path, dataclasses.replace(fuzz_finding(), title="the harness's new words"))
    assert generated(tmp_path)[0]["title"] == "my own title"


def test_a_script_whose_only_change_is_its_docstring_is_rewritten_with_its_words(
    tmp_path: Path,
) -> None:
    def worded(title: str) -> Finding:
        script = f'"""{title}"""\n{SNIPPET}'
        return dataclasses.replace(fuzz_finding(), title=title, reproduction=script)

    merge_fuzz(tmp_path, worded("holds more than its bound (level:18)"))
    merge_fuzz(tmp_path, worded("holds more than its bound (18 bytes held)"))
    entry = generated(tmp_path)[0]
    assert entry["title"] == "holds more than its bound (18 bytes held)"
    assert entry["reproduction"].startswith('"""holds more than its bound (18 bytes held)"""')


def test_the_same_steps_with_the_harness_s_current_assertion_replace_the_old_script(
    tmp_path: Path,
) -> None:
    def expecting(allowed: str) -> Finding:
        script = f"{SNIPPET}assert got in {allowed}, 'expected {allowed}'\n"
        return dataclasses.replace(fuzz_finding(), title=f"expected {allowed}",
                                   reproduction=script)

    merge_fuzz(tmp_path, expecting("(False, 'closed')"))
    merge_fuzz(tmp_path, expecting("('closed',)"))
    entry = generated(tmp_path)[0]
    assert entry["reproduction"].endswith("assert got in ('closed',), 'expected ('closed',)'\n")
    assert entry["title"] == "expected ('closed',)"
    other_steps = dataclasses.replace(
        expecting("(1,)"), reproduction=f"{SNIPPET}q.close()\nassert got in (1,), 'x'\n")
    merge_fuzz(tmp_path, other_steps)  # other calls, no shorter: the script it has stays
    assert generated(tmp_path)[0]["reproduction"].endswith("'expected ('closed',)'\n")

