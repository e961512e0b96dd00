"""Findings from runs, fingerprints, and the merge into the ledgers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import EXIT_USAGE, HarnessError
from harness.findings import (
    Finding,
    checks_run_for,
    findings_from_run,
    merge_findings,
    normalise_defect,
    record_run,
)
from harness.ledgers import load_ledgers

from .conftest import build_results, build_scenario

STACK = (
    "producer-0:\n"
    "/home/a/.venv/site-packages/scenarios/queue_overflow.py:{line} in produce: await q.put(c)\n"
    "/home/a/.venv/site-packages/stageflow/helpers/streaming.py:331 in put: await self._q.put(i)\n"
    "/usr/lib/python3.11/asyncio/queues.py:140 in put: await putter"
)


PUT_HANG = {"component": "ChunkQueue", "operation": "put (full queue)", "property": "no_hang"}


def hang(
    detail: str = "1 tasks still blocked at the 2 s deadline", line: int = 41,
    defects: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A failed no_hang invariant; without ``defects`` it names no clause (filed under the
    check, one finding per place where tasks wait)."""
    invariant = {"name": "no_hang", "passed": False, "detail": detail,
                 "stack": STACK.format(line=line)}
    if defects:
        invariant["defects"] = defects
    return invariant


def failing_run(
    run_id: str = "20261123T120000Z-aaaaaa", *, seed: int = 1,
    target: tuple[str, str] = ("mylib", "1.0"), **hang_args: Any,
) -> dict[str, Any]:
    scenarios = [
        build_scenario("baseline"),
        build_scenario("queue_overflow", status="timeout", category="reliability", seed=seed,
                       invariants=[{"name": "none_lost", "passed": True, "detail": ""},
                                   hang(**hang_args)]),
    ]
    return build_results(scenarios, run_id=run_id, created_at=f"at-{run_id}", target=target,
                         seed=seed)


def passing_run(run_id: str, target: tuple[str, str] = ("mylib", "1.1")) -> dict[str, Any]:
    scenarios = [build_scenario("baseline"), build_scenario("queue_overflow")]
    return build_results(scenarios, run_id=run_id, created_at=f"at-{run_id}", target=target)


def generated(ledger_dir: Path) -> list[dict[str, Any]]:
    return [e for e in load_ledgers(ledger_dir)["bug"].entries
            if e.get("fingerprint") and e.get("source") != "manual"]


# --- findings_from_run --------------------------------------------------------------------


def test_failed_invariant_becomes_a_bug_finding() -> None:
    (finding,) = findings_from_run(failing_run())
    assert (finding.kind, finding.check, finding.component, finding.severity) == (
        "bug", "queue_overflow/no_hang", "ChunkQueue", "high")
    assert finding.target == {"name": "mylib", "version": "1.0"}
    assert finding.evidence["scenario"] == "queue_overflow"
    assert finding.evidence["invariant"] == "no_hang"
    assert "--seed 1" in finding.reproduction


def test_invariant_reproduction_is_used_when_given() -> None:
    run = failing_run()
    run["scenarios"][1]["invariants"][1]["reproduction"] = "stageflow-stress run --seed 99"
    (finding,) = findings_from_run(run)
    assert finding.reproduction == "stageflow-stress run --seed 99"


def test_passing_run_has_no_findings() -> None:
    assert findings_from_run(passing_run("r1")) == []


def test_invalid_scenario_gives_no_finding() -> None:
    run = failing_run()
    run["scenarios"][1]["status"] = "invalid"
    assert findings_from_run(run) == []


def test_crash_becomes_a_crash_finding_named_by_exception_type() -> None:
    run = build_results([build_scenario("high_load", status="error", invariants=[],
                                        error="RuntimeError: boom at 0x7f00")])
    (finding,) = findings_from_run(run)
    assert finding.check == "high_load/crash"
    assert "RuntimeError" in finding.title


def test_timeout_without_invariant_becomes_a_deadline_finding() -> None:
    run = build_results([build_scenario("queue_overflow", status="timeout", invariants=[])])
    (finding,) = findings_from_run(run)
    assert (finding.check, finding.severity) == ("queue_overflow/deadline", "high")


@pytest.mark.parametrize(
    "skipped",
    [[{"capability": "buffer_level", "reason": "r"}], {"capability": "buffer_level"}],
)
def test_scenario_skipped_for_a_capability_becomes_an_improvement(skipped: Any) -> None:
    scenario = build_scenario("buffer_level", status="skipped", invariants=[])
    scenario["skipped"] = skipped
    (finding,) = findings_from_run(build_results([scenario], target=("stageflow", "0.5.1")))
    assert (finding.kind, finding.severity, finding.component, finding.check) == (
        "improvement", "P2", "StreamingBuffer", "capability/buffer_level")
    assert finding.title == "StreamingBuffer lacks buffer level query method"


def test_a_missing_overflow_policy_is_the_overflow_policies_recommendation() -> None:
    """One improvement, as the fuzzer files it, not one per policy a scenario needed."""
    scenario = build_scenario("adv_overflow_bursts", status="skipped", invariants=[])
    scenario["skipped"] = [{"capability": "overflow:drop_oldest", "reason": "r"}]
    (finding,) = findings_from_run(build_results([scenario], target=("lib", "1.0")))
    assert (finding.check, finding.title) == (
        "capability/overflow_policies", "ChunkQueue lacks explicit overflow policies")


def test_partial_skip_in_a_passing_scenario_still_counts_its_checks() -> None:
    scenario = build_scenario("buffer_underrun")
    scenario["skipped"] = [{"capability": "buffer_level", "reason": "level check skipped"}]
    run = build_results([scenario])
    (finding,) = findings_from_run(run)
    assert finding.kind == "improvement"
    assert "buffer_underrun/none_lost" in checks_run_for(run)


def test_checks_run_leave_out_invalid_and_skipped_scenarios() -> None:
    skipped = build_scenario("buffer_level", status="skipped", invariants=[])
    skipped["skipped"] = [{"capability": "buffer_level", "reason": "r"}]
    invalid = build_scenario("high_load", status="invalid")
    run = build_results([build_scenario("baseline"), skipped, invalid])
    run["target"]["capabilities"] = {"put_timeout": True, "buffer_level": False}
    checks = checks_run_for(run)
    assert {"baseline/none_lost", "baseline/no_hang", "capability/put_timeout"} <= checks
    assert not {c for c in checks if c.startswith(("buffer_level/", "high_load/"))}
    assert "capability/buffer_level" not in checks


# --- fingerprints -------------------------------------------------------------------------


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    run_id=st.from_regex(r"\A20\d{6}T\d{6}Z-[0-9a-f]{6}\Z"),
    seed=st.integers(0, 2**31),
    tasks=st.integers(1, 64),
    seconds=st.floats(0.1, 100, allow_nan=False),
    line=st.integers(1, 5000),
)
def test_fingerprint_ignores_run_ids_seeds_timings_and_line_numbers(
    run_id: str, seed: int, tasks: int, seconds: float, line: int
) -> None:
    reference = findings_from_run(failing_run())[0].fingerprint
    detail = f"{tasks} tasks still blocked at the {seconds:g} s deadline (0x{seed:x})"
    again = findings_from_run(failing_run(run_id, seed=seed, detail=detail, line=line))
    assert again[0].fingerprint == reference


def test_fingerprint_differs_by_target_name_but_not_version() -> None:
    base = findings_from_run(failing_run())[0].fingerprint
    other_version = findings_from_run(failing_run(target=("mylib", "2.0")))[0].fingerprint
    other_target = findings_from_run(failing_run(target=("mine", "0.5.1")))[0].fingerprint
    assert other_version == base
    assert other_target != base


def test_fingerprint_differs_by_where_the_task_waits() -> None:
    base = findings_from_run(failing_run())[0]
    run = failing_run()
    run["scenarios"][1]["invariants"][1]["stack"] = STACK.replace("in put:", "in get:")
    assert findings_from_run(run)[0].fingerprint != base.fingerprint


def test_tasks_hung_in_two_places_are_two_findings() -> None:
    run = failing_run()
    getter = STACK.format(line=7).replace("producer-0", "consumer-0").replace("in put:", "in get:")
    run["scenarios"][1]["invariants"][1]["stack"] = STACK.format(line=41) + "\n\n" + getter
    findings = findings_from_run(run)
    assert [f.title.rpartition("(")[2] for f in findings] == [
        "waits in streaming.py:get > queues.py:get)", "waits in streaming.py:put > queues.py:put)"]
    put_only = findings_from_run(failing_run())[0]
    assert findings[1].fingerprint == put_only.fingerprint


LOST = {"name": "none_lost", "passed": False,
        "detail": "50 chunks lost: 5685 sent, 3361 delivered; undelivered: p1#0 and 49 more"}
CANCELLED_GET = {"name": "woken_get_cancelled_loses_nothing", "passed": False,
                 "detail": "50 of 50 items handed to a cancelled get were lost",
                 "defects": [{"component": "ChunkQueue", "operation": "cancel (blocked get)",
                              "property": "no_loss", "level": "universal"}]}


def storm_run(run_id: str, *invariants: dict[str, Any]) -> dict[str, Any]:
    scenario = build_scenario("adv_cancel_storm", status="fail", category="adversarial",
                              invariants=[*invariants])
    return build_results([scenario], run_id=run_id, created_at=f"at-{run_id}",
                         target=("lib", "1.0"))


def test_an_unexplained_loss_beside_a_named_loss_defect_is_a_sighting_of_it() -> None:
    (finding,) = findings_from_run(storm_run("20261123T120000Z-aaaaaa", LOST, CANCELLED_GET))
    assert finding.defect_key.operation == "cancel (blocked get)"
    checks = [record["check"] for record in finding.evidence["found_by"]]
    assert checks == ["adv_cancel_storm/none_lost",
                      "adv_cancel_storm/woken_get_cancelled_loses_nothing"]
    (alone,) = findings_from_run(storm_run("20261123T120000Z-aaaaaa", LOST))
    assert alone.check == "adv_cancel_storm/none_lost"  # nothing names the cause: its own
    assert finding.evidence["member_fingerprints"] == [alone.fingerprint]


def test_the_entry_an_unexplained_loss_made_joins_the_named_defect(tmp_path: Path) -> None:
    record_run(storm_run("20261123T120000Z-aaaaaa", LOST), ledger_dir=tmp_path)
    # the defect's own entry, filed from another scenario that names it
    named = storm_run("20261124T120000Z-bbbbbb", CANCELLED_GET)
    named["scenarios"][0]["name"] = "adv_close_under_load"
    assert record_run(named, ledger_dir=tmp_path).added == ["BUG-002"]
    both = record_run(storm_run("20261125T120000Z-cccccc", LOST, CANCELLED_GET),
                      ledger_dir=tmp_path)
    assert (both.added, both.merged) == ([], ["BUG-001"])
    entries = {e["id"]: e for e in load_ledgers(tmp_path)["bug"].entries}
    assert (entries["BUG-001"]["status"], entries["BUG-001"]["merged_into"]) == (
        "merged", "BUG-002")
    assert entries["BUG-002"]["status"] == "open"


def test_without_an_entry_of_its_own_the_named_defect_takes_the_loss_entry_id(
        tmp_path: Path) -> None:
    record_run(storm_run("20261123T120000Z-aaaaaa", LOST), ledger_dir=tmp_path)
    record_run(storm_run("20261124T120000Z-bbbbbb", LOST, CANCELLED_GET), ledger_dir=tmp_path)
    (entry,) = load_ledgers(tmp_path)["bug"].entries  # no ID churn: BUG-001 is the defect
    assert (entry["id"], entry["status"], entry["component"]) == ("BUG-001", "open",
                                                                 "ChunkQueue")
    assert "cancel" in entry["title"].lower()


def test_normalise_defect_strips_what_changes_between_runs() -> None:
    assert normalise_defect("3 Tasks at /a/b/queue.py 0xdeadbeef run 20261123T120000Z-abc123") == (
        "# tasks at queue.py # run #")


def test_finding_refuses_a_bad_severity() -> None:
    with pytest.raises(ValueError, match=r"severity 'P2' is not valid for a bug"):
        Finding(kind="bug", title="t", severity="P2", component="ChunkQueue",
                target={"name": "x"}, description="", reproduction="", expected="", actual="",
                impact="", recommendation="", evidence={}, check="c")


# --- merge --------------------------------------------------------------------------------


def test_new_finding_gets_the_next_id_after_the_seeds(seeded: Path) -> None:
    summary = record_run(failing_run(), ledger_dir=seeded)
    assert summary.added == ["BUG-039"]
    entry = generated(seeded)[0]
    assert (entry["id"], entry["status"], entry["first_seen"], entry["seen_count"]) == (
        "BUG-039", "open", "at-20261123T120000Z-aaaaaa", 1)


def test_rerun_updates_last_seen_instead_of_duplicating(seeded: Path) -> None:
    record_run(failing_run("20261123T120000Z-aaaaaa"), ledger_dir=seeded)
    summary = record_run(failing_run("20261124T120000Z-bbbbbb", seed=5), ledger_dir=seeded)
    assert summary.added == [] and summary.updated == ["BUG-039"]
    (entry,) = generated(seeded)
    assert entry["last_seen_run"] == "20261124T120000Z-bbbbbb"
    assert entry["first_seen_run"] == "20261123T120000Z-aaaaaa"
    assert entry["seen_count"] == 2
    assert entry["evidence"]["seed"] == 5


def test_merging_the_same_run_twice_writes_nothing(
    seeded: Path, snapshot: Callable[[Path], dict[str, bytes]]
) -> None:
    record_run(failing_run(), ledger_dir=seeded)
    before = snapshot(seeded)
    summary = record_run(failing_run(), ledger_dir=seeded)
    assert summary.written == []
    assert snapshot(seeded) == before


def test_repeats_in_one_run_fold_into_one_entry(seeded: Path) -> None:
    run = failing_run()
    repeat = copy.deepcopy(run["scenarios"][1])
    repeat["repeat_index"] = 1
    run["scenarios"].append(repeat)
    assert record_run(run, ledger_dir=seeded).added == ["BUG-039"]
    assert len(generated(seeded)) == 1


def test_hand_edits_to_a_generated_entry_survive_a_merge(seeded: Path) -> None:
    record_run(failing_run(), ledger_dir=seeded)
    path = seeded / "bugs.json"
    doc = orjson.loads(path.read_bytes())
    entry = doc["entries"][1]
    entry.update(title="put() hangs on a full queue", severity="critical", notes="triaged",
                 recommendation="use put(timeout=)")
    path.write_bytes(orjson.dumps(doc))
    record_run(failing_run("20261124T120000Z-bbbbbb"), ledger_dir=seeded)
    (after,) = generated(seeded)
    assert (after["title"], after["severity"], after["notes"], after["recommendation"]) == (
        "put() hangs on a full queue", "critical", "triaged", "use put(timeout=)")
    assert after["last_seen_run"] == "20261124T120000Z-bbbbbb"


def test_hand_written_entries_are_never_modified(seeded: Path) -> None:
    manual_before = {k: copy.deepcopy(v.entries) for k, v in load_ledgers(seeded).items()}
    record_run(failing_run(), ledger_dir=seeded)
    record_run(passing_run("20261124T120000Z-bbbbbb"), ledger_dir=seeded)
    after = load_ledgers(seeded)
    for kind, entries in manual_before.items():
        assert [e for e in after[kind].entries if e.get("source") == "manual"] == entries


def test_stageflow_hang_is_reported_under_the_seeded_bug_038(
    seeded: Path, snapshot: Callable[[Path], dict[str, bytes]]
) -> None:
    """A target that declares nothing about a full queue is not filed a bug for blocking on
    one (our recommendation, a timeout, is an improvement); the hand-written BUG-038 that
    holds the defect's key is reported and never touched."""
    before = snapshot(seeded)
    summary = record_run(failing_run(target=("stageflow", "0.5.1"), defects=[PUT_HANG]),
                         ledger_dir=seeded)
    assert summary.manual == ["BUG-038"] and len(summary.added) == 1
    (improvement,) = [e for e in load_ledgers(seeded)["improvement"].entries
                      if e.get("source") != "manual"]
    assert improvement["title"] == "ChunkQueue.put() has no timeout parameter"
    after = snapshot(seeded)
    assert after["bugs.json"] == before["bugs.json"]


def test_finding_matching_a_manual_entry_is_reported_not_merged(seeded: Path) -> None:
    (finding,) = findings_from_run(failing_run())
    path = seeded / "dx.json"
    doc = orjson.loads(path.read_bytes())
    doc["entries"][0]["fingerprint"] = finding.fingerprint  # a person adopted the defect
    path.write_bytes(orjson.dumps(doc))
    before = path.read_bytes()
    summary = record_run(failing_run(), ledger_dir=seeded)
    assert summary.manual == ["DX-038"] and summary.added == []
    assert path.read_bytes() == before


def test_finding_not_found_again_is_marked_fixed_with_the_run(seeded: Path) -> None:
    record_run(failing_run(), ledger_dir=seeded)
    summary = record_run(passing_run("20261124T120000Z-bbbbbb"), ledger_dir=seeded)
    assert summary.fixed == ["BUG-039"]
    (entry,) = generated(seeded)
    assert (entry["status"], entry["fixed_in_run"], entry["fixed_in_version"]) == (
        "fixed", "20261124T120000Z-bbbbbb", "1.1")


def test_another_target_passing_does_not_fix_the_finding(seeded: Path) -> None:
    record_run(failing_run(), ledger_dir=seeded)
    record_run(passing_run("20261124T120000Z-bbbbbb", target=("stageflow_core", "0.1.0")),
               ledger_dir=seeded)
    assert generated(seeded)[0]["status"] == "open"


def test_a_check_that_did_not_run_does_not_fix_the_finding(seeded: Path) -> None:
    record_run(failing_run(), ledger_dir=seeded)
    only_baseline = build_results([build_scenario("baseline")], run_id="20261124T120000Z-bbbbbb",
                                  target=("mylib", "1.1"))
    assert record_run(only_baseline, ledger_dir=seeded).fixed == []
    assert generated(seeded)[0]["status"] == "open"


def test_fixed_finding_that_reappears_is_reopened(seeded: Path) -> None:
    record_run(failing_run(), ledger_dir=seeded)
    record_run(passing_run("20261124T120000Z-bbbbbb"), ledger_dir=seeded)
    summary = record_run(failing_run("20261125T120000Z-cccccc"), ledger_dir=seeded)
    assert summary.reopened == ["BUG-039"]
    (entry,) = generated(seeded)
    assert (entry["status"], entry["reopened_in_run"]) == ("open", "20261125T120000Z-cccccc")
    assert "fixed_in_run" not in entry


def test_wontfix_stays_wontfix(seeded: Path) -> None:
    record_run(failing_run(), ledger_dir=seeded)
    path = seeded / "bugs.json"
    doc = orjson.loads(path.read_bytes())
    doc["entries"][1]["status"] = "wontfix"
    path.write_bytes(orjson.dumps(doc))
    record_run(failing_run("20261124T120000Z-bbbbbb"), ledger_dir=seeded)
    record_run(passing_run("20261125T120000Z-cccccc"), ledger_dir=seeded)
    assert generated(seeded)[0]["status"] == "wontfix"


def test_corrupt_ledger_stops_the_merge_and_nothing_is_written(
    seeded: Path, snapshot: Callable[[Path], dict[str, bytes]]
) -> None:
    (seeded / "strengths.json").write_text('{"version": 1, "entries": [}')
    before = snapshot(seeded)
    with pytest.raises(HarnessError) as caught:
        record_run(failing_run(), ledger_dir=seeded)
    assert caught.value.exit_code == EXIT_USAGE
    assert "strengths.json:1:" in str(caught.value)
    assert snapshot(seeded) == before


def test_fuzz_findings_merge_with_their_source(tmp_path: Path) -> None:
    finding = Finding(
        kind="bug", title="get() returns items out of order", severity="medium",
        component="ChunkQueue", target={"name": "mine", "version": "1"}, description="d",
        reproduction="snippet", expected="fifo", actual="lifo", impact="i", recommendation="r",
        evidence={"source": "fuzz", "defect_class": "order"}, check="fuzz/queue_model",
    )
    summary = merge_findings([finding], ledger_dir=tmp_path, run_id="fuzz-1",
                             target={"name": "mine", "version": "1"},
                             checks_run={"fuzz/queue_model"}, now="2026-11-23T00:00:00Z")
    assert summary.added == ["BUG-001"]
    entry = load_ledgers(tmp_path)["bug"].entries[0]
    assert (entry["source"], entry["check"], entry["evidence"]["run_id"]) == (
        "fuzz", "fuzz/queue_model", "fuzz-1")
