"""Judging: a check is read at the level of the clause it needs, by the target's declarations;
symptoms of one root cause are one entry whose ID survives re-runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from harness import defects
from harness.contract import Declaration, Level, Semantics
from harness.defects import DefectKey, headline, judge, root_cause
from harness.findings import Finding, merge_findings, record_run
from harness.ledgers import load_ledgers
from harness.reproduce import scenario_script

from .conftest import build_results, build_scenario

TARGET = {"name": "lib", "version": "1.0"}
CLOSED_FALSE = Semantics([Declaration("queue.closed_put", "return_false", "lib docs, put")])


def fuzz_finding(component: str, operation: str, prop: str, actual: str = "a",
                 target: dict[str, Any] = TARGET) -> Finding:
    return Finding(
        kind="bug", title=f"{operation} {prop}", severity="medium", component=component,
        target=target, description="d", reproduction="assert False\n", expected="e",
        actual=actual, impact="i", recommendation="r",
        evidence={"source": "fuzz", "run_id": "f-1", "property": prop, "operation": operation,
                  "verified": {"confirmed": True}},
        check=f"fuzz/{prop}")


def merge(ledgers: Path, *findings: Finding, semantics: Semantics | None = None,
          run_id: str = "f-1", checks: set[str] | None = None) -> Any:
    return merge_findings(list(findings), ledger_dir=ledgers, run_id=run_id, target=TARGET,
                          checks_run=checks or set(), now=f"at-{run_id}",
                          semantics=semantics or Semantics())


def entries(ledgers: Path, kind: str = "bug") -> list[dict[str, Any]]:
    return load_ledgers(ledgers)[kind].entries


# --- levels -----------------------------------------------------------------------------

def test_a_declared_behaviour_is_not_a_bug() -> None:
    """A put on a closed queue that returns False (as declared) without a drop event."""
    key = DefectKey("ChunkQueue", "put (closed queue)", "no_silent_drop")
    judgement = judge(key, CLOSED_FALSE)
    assert (judgement.verdict, judgement.level) == ("withdrawn", Level.DECLARED)
    assert "lib docs, put" in judgement.reason


def test_an_undeclared_recommendation_is_an_improvement() -> None:
    judgement = judge(DefectKey("StreamingBuffer", "StreamingBuffer()", "config_refused"),
                      Semantics(), detail="observed made; allowed ['raised:refused']")
    assert (judgement.verdict, judgement.level, judgement.clause) == (
        "improvement", Level.RECOMMENDED, "buffer.validates_config")


def test_a_declared_clause_broken_is_a_bug() -> None:
    """A target that declares close() wakes every blocked producer, and leaves one waiting."""
    key = DefectKey("ChunkQueue", "close (blocked producer)", "no_hang")
    wakes = Semantics([Declaration("queue.close_wakes_putters", True, "lib docs, close")])
    assert (judge(key, wakes).verdict, judge(key, wakes).clause) == (
        "bug", "queue.close_wakes_putters")
    assert judge(key, Semantics()).verdict == "improvement"
    # what put() does on an already closed queue says nothing about waking a waiting one
    assert judge(key, CLOSED_FALSE).verdict == "improvement"


def test_a_universal_clause_is_a_bug_whatever_the_target_declares() -> None:
    for key in (DefectKey("StreamingBuffer", "read", "whole_frames"),
                DefectKey("ChunkQueue", "close (blocked producer)", "no_loss")):
        assert judge(key, Semantics()).verdict == "bug"
        assert judge(key, CLOSED_FALSE).level is Level.UNIVERSAL


def test_a_valid_configuration_refused_is_a_bug() -> None:
    key = DefectKey("StreamingBuffer", "StreamingBuffer()", "config_refused")
    assert judge(key, detail="observed raised:refused; allowed ['made']").verdict == "bug"


# --- merging by verdict -------------------------------------------------------------------

def test_a_declared_behaviour_filed_before_is_withdrawn_with_its_reason(tmp_path: Path) -> None:
    finding = fuzz_finding("ChunkQueue", "put (closed queue)", "no_silent_drop")
    raises = Semantics([Declaration("queue.closed_put", "raise", "lib docs, put")])
    assert merge(tmp_path, finding, semantics=raises).added == ["BUG-001"]
    # the target turns out to declare False for a closed put: the entry is withdrawn, kept
    summary = merge(tmp_path, finding, semantics=CLOSED_FALSE, run_id="f-2")
    (entry,) = entries(tmp_path)
    assert summary.withdrawn == ["BUG-001"] and summary.added == []
    assert entry["status"] == "withdrawn" and entry["withdrawn_in_run"] == "f-2"
    assert "declares queue.closed_put = 'return_false'" in entry["withdrawn_reason"]
    assert entry["evidence"]["judged"]["verdict"] == "withdrawn"


def test_recommendations_of_one_kind_are_one_improvement(tmp_path: Path) -> None:
    summary = merge(tmp_path,
                    fuzz_finding("ChunkQueue", "ChunkQueue()", "config_refused"),
                    fuzz_finding("StreamingBuffer", "StreamingBuffer()", "config_refused"),
                    fuzz_finding("StreamingBuffer", "read (negative or NaN duration)",
                                 "bad_input_refused"))
    (improvement,) = entries(tmp_path, "improvement")
    assert summary.added == ["IMP-001"] and entries(tmp_path) == []
    assert improvement["title"].startswith("Refuse invalid arguments with ValueError")
    assert [s["operation"] for s in improvement["evidence"]["symptoms"]] == [
        "ChunkQueue()", "StreamingBuffer()", "read (negative or NaN duration)"]


# --- root causes ----------------------------------------------------------------------------

def test_symptoms_of_one_root_cause_are_one_entry_listing_where_it_shows(tmp_path: Path) -> None:
    read = fuzz_finding("StreamingBuffer", "read", "whole_frames", "observed 41 bytes")
    trim = fuzz_finding("StreamingBuffer", "add_chunk (overflow trim)", "whole_frames",
                        "observed partial frame trimmed")
    assert root_cause(read.defect_key) == root_cause(trim.defect_key)  # type: ignore[arg-type]
    merge(tmp_path, read, trim)
    (entry,) = entries(tmp_path)
    assert entry["root_cause"] == "ms-to-bytes rounding"
    assert [s["operation"] for s in entry["evidence"]["symptoms"]] == [
        "read", "add_chunk (overflow trim)"]
    # seen again, one symptom at a time: the same entry, no new ID
    summary = merge(tmp_path, trim, run_id="f-2")
    assert summary.updated == ["BUG-001"] and len(entries(tmp_path)) == 1


def test_entries_filed_per_symptom_fold_into_the_oldest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read = fuzz_finding("StreamingBuffer", "read", "whole_frames")
    trim = fuzz_finding("StreamingBuffer", "add_chunk (overflow trim)", "whole_frames")
    with monkeypatch.context() as patch:  # a ledger written before root causes were known
        patch.setattr(defects, "ROOT_CAUSES", ())
        assert merge(tmp_path, read, trim).added == ["BUG-001", "BUG-002"]
    summary = merge(tmp_path, trim, read, run_id="f-2")
    first, second = entries(tmp_path)
    assert summary.merged == ["BUG-002"] and summary.updated == ["BUG-001"]
    assert (first["status"], first["root_cause"]) == ("open", "ms-to-bytes rounding")
    assert (second["status"], second["merged_into"]) == ("merged", "BUG-001")
    # the merged entry stays merged; the root cause keeps its ID on the next run
    assert merge(tmp_path, read, run_id="f-3").updated == ["BUG-001"]
    assert [e["status"] for e in entries(tmp_path)] == ["open", "merged"]


CLOSED_RAISE = Semantics([Declaration("queue.closed_put", "raise", "lib docs, put")])


def test_a_blocking_call_and_its_nowait_twin_breaking_one_clause_are_one_entry(
        tmp_path: Path) -> None:
    """put() and put_nowait() on a closed queue both raise 'full' (one check written once,
    in the _nowait call): one entry, under put's key, listing both symptoms."""
    put = fuzz_finding("ChunkQueue", "put (closed queue)", "outcome", "observed raised:full")
    nowait = fuzz_finding("ChunkQueue", "put_nowait (closed queue)", "outcome",
                          "observed raised:full")
    assert defects.twin_of(nowait.defect_key) == put.defect_key  # type: ignore[arg-type]
    assert defects.twin_of(put.defect_key) is None  # type: ignore[arg-type]
    assert defects.twin_of(DefectKey("ChunkQueue", "cancel (blocked anext)", "no_loss")) == \
        DefectKey("ChunkQueue", "cancel (blocked get)", "no_loss")
    assert defects.twin_of(DefectKey("ChunkQueue", "__anext__", "fifo")) == \
        DefectKey("ChunkQueue", "get", "fifo")
    merge(tmp_path, nowait, semantics=CLOSED_RAISE)  # the twin alone first: put's key
    summary = merge(tmp_path, put, run_id="f-2", semantics=CLOSED_RAISE)
    (entry,) = entries(tmp_path)
    assert summary.updated == ["BUG-001"]
    assert entry["fingerprint"] == put.fingerprint
    assert [s["operation"] for s in entry["evidence"]["symptoms"]] == [
        "put (closed queue)", "put_nowait (closed queue)"]
    # in one batch too
    other = tmp_path / "batch"
    other.mkdir()
    merge(other, put, nowait, semantics=CLOSED_RAISE)
    (entry,) = entries(other)
    assert {s["operation"] for s in entry["evidence"]["symptoms"]} == {
        "put (closed queue)", "put_nowait (closed queue)"}


def test_twins_are_folded_only_when_they_break_the_same_clause(tmp_path: Path) -> None:
    """Other situations, other properties or other components stay apart."""
    merge(tmp_path, fuzz_finding("ChunkQueue", "put_nowait (full queue)", "outcome"),
          fuzz_finding("ChunkQueue", "put (closed queue)", "outcome"),
          fuzz_finding("ChunkQueue", "put_nowait (closed queue)", "bounds"),
          semantics=CLOSED_RAISE)
    assert len(entries(tmp_path)) == 3


# --- scenario-found defects get a short script too ----------------------------------------

@pytest.mark.skipif(importlib.util.find_spec("stageflow") is None,
                    reason="the real Stageflow (peer extra) is not installed")
def test_a_scenario_found_defect_gets_a_verified_short_script() -> None:
    key = DefectKey("ChunkQueue", "close (blocked producer)", "no_loss")
    made = scenario_script(key, module="stageflow.helpers.streaming", title="put lost",
                           command="stageflow-stress run adv_close_under_load",
                           target="stageflow 0.5.1")
    assert made is not None
    code, verified = made
    assert verified["confirmed"] and verified["reference"]["result"] == "passes"
    assert "'b' is lost" in verified["target"]["detail"]
    assert code.count("\n") <= 30 and "stageflow_stress" not in code and "harness" not in code
    # a key without a script keeps the finding's replay command
    assert scenario_script(DefectKey("ChunkQueue", "get", "fifo"), module="m", title="t",
                           command="c", target="t") is None


def test_a_check_of_our_goal_that_names_no_clause_files_no_bug(tmp_path: Path) -> None:
    latency = {"name": "latency_bounded", "passed": False, "level": "recommended",
               "detail": "P99 109.979 ms > 50 ms over 254878 chunks"}
    run = build_results([build_scenario("high_load", status="fail", invariants=[latency])],
                        target=("lib", "1.0"))
    summary = record_run(run, ledger_dir=tmp_path)
    assert summary.added == [] and entries(tmp_path) == []
    # the same check at the universal level (a user's scenario saying so) is a bug
    run["scenarios"][0]["invariants"][0]["level"] = "universal"
    assert record_run(run, ledger_dir=tmp_path).added == ["BUG-001"]


def test_a_shorter_verified_script_replaces_a_longer_one(tmp_path: Path) -> None:
    long = fuzz_finding("ChunkQueue", "close", "level")
    long.reproduction = "import asyncio\n" + "# step\n" * 300 + "assert False\n"
    merge(tmp_path, long)
    short = fuzz_finding("ChunkQueue", "close", "level", actual="expected 0, observed 1")
    merge(tmp_path, short, run_id="f-2")
    (entry,) = entries(tmp_path)
    assert entry["reproduction"] == "assert False\n"
    assert entry["actual"] == "expected 0, observed 1"  # the words follow the script


@pytest.mark.parametrize(("key", "detail", "words"), [
    (DefectKey("StreamingBuffer", "add_chunk (overflow)", "bounds"),
     "observed level:18; allowed ['bounded']", "(18 bytes held)"),
    (DefectKey("AudioChunk", "duration_ms (pcm_24)", "duration"),
     "observed value:0.09375; allowed ['as expected']",
     "(0.09375 ms reported for a PCM_24 chunk)"),
    (DefectKey("ChunkQueue", "queue drained (throttling not ended)", "throttle"),
     "observed monitor:on events:on; allowed ['monitor:off events:off']",
     "no stream.throttle_ended"),
])
def test_headlines_say_the_observation_in_words_not_the_checks_tokens(
    key: DefectKey, detail: str, words: str,
) -> None:
    title = headline(key, detail)
    assert words in title
    assert not re.search(r"\b(level|value|monitor|events):", title), title


def _built_in_keys() -> set[DefectKey]:
    """Every key a built-in check can name: the invariants' keys, the keys with a verified
    script, and each fuzz machine's properties on every operation of the vocabulary."""
    from harness import reproduce
    from harness.fuzz import buffer_machine, queue_machine
    from harness.invariants import attribution

    keys = {v for v in vars(attribution).values() if isinstance(v, DefectKey)}
    keys |= set(reproduce.SCRIPTS)
    for machine in (queue_machine, buffer_machine):
        keys |= {DefectKey(machine.COMPONENT, op, prop)
                 for prop in machine.EXPECTED for op in defects.OPERATIONS}
    return keys


def test_every_built_in_key_maps_to_a_known_clause_and_level() -> None:
    from harness.contract import CLAUSES

    keys = _built_in_keys()
    assert len(keys) > 50
    for key in keys:
        level, clause, assumes = defects.clause_of(key)
        assert level in tuple(Level), key
        if clause is None:
            assert level == Level.UNIVERSAL, key
            continue
        assert clause in CLAUSES, (key, clause)
        assert level != Level.UNIVERSAL, key
        assert assumes is defects.ANY_VALUE or CLAUSES[clause].accepts(assumes), (key, assumes)


def test_the_invariants_judge_each_key_at_the_judges_level() -> None:
    from harness.invariants import attribution

    keys = [v for v in vars(attribution).values() if isinstance(v, DefectKey)]
    assert keys  # the checks name their clauses in attribution
    for key in keys:
        _level, clause, assumes = defects.clause_of(key)
        if clause is None:
            assert defects.level_of(key) == Level.UNIVERSAL
            continue
        declared = Semantics([Declaration(clause, assumes, "lib docs")])
        assert defects.level_of(key, declared) == Level.DECLARED == judge(key, declared).level
        assert defects.level_of(key) == Level.RECOMMENDED == judge(key).level


def test_a_cancellation_title_says_what_the_cancelled_call_did_in_the_library_words() -> None:
    put = DefectKey("ChunkQueue", "cancel (blocked put)", "outcome")
    get = DefectKey("ChunkQueue", "cancel (blocked anext)", "no_loss")
    calls = {"put": "await send.send(item)", "get": "await receive.receive()"}
    assert headline(put, "observed len:1; allowed ['len:0']", calls) == (
        "send.send(item) cancelled as room is made for it raises CancelledError, yet its "
        "item is queued: a producer that retries sends it twice")
    assert headline(get, "observed raised:empty; allowed ['ok:x']", calls).startswith(
        "receive.receive() cancelled as an item is handed to it loses the item")
    assert headline(put).startswith("q.put(item) cancelled as room is made")  # no library
