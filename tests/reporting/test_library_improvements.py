"""Improvements judged by what a library target has and says: no improvement for a part it
does not have, advice in its own words, and what the merge withdraws (with the reason) when
the harness stops filing an entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.findings import (
    CAPABILITY_TEXT,
    Finding,
    capability_text,
    findings_from_run,
    merge_findings,
    parts_lacking,
    record_run,
)
from harness.ledgers import load_ledgers
from harness.runner.context import _skip_record
from harness.targets.asyncio_queue import AsyncioTarget

from .conftest import build_results, build_scenario

ASYNCIO_WORDS = AsyncioTarget.library.words()


def skipped_run(run_id: str, skipped: list[dict[str, Any]], *, name: str = "adv_duplex_barge_in",
                library: dict[str, str] | None = None) -> dict[str, Any]:
    scenario = build_scenario(name, status="skipped", invariants=[])
    scenario["skipped"] = skipped
    run = build_results([build_scenario("baseline"), scenario], run_id=run_id,
                        created_at=f"at-{run_id}", target=("lib", "1.0"))
    if library is not None:
        run["target"]["library"] = library
    return run


def improvements(ledger_dir: Path) -> list[dict[str, Any]]:
    return [e for e in load_ledgers(ledger_dir)["improvement"].entries
            if e.get("source") != "manual"]


def test_every_part_a_scenario_is_skipped_for_is_marked_part_duplex_included() -> None:
    assert _skip_record("duplex", "")["part"] == "duplex"
    assert _skip_record("part:buffer", "")["part"] == "buffer"
    assert "part" not in _skip_record("put_timeout", "")


def test_a_part_the_target_lacks_files_no_improvement_and_withdraws_the_one_filed(
        seeded: Path) -> None:
    """What a queue-only library got before (No full-duplex audio session) is withdrawn by
    the next run, with the reason; a capability within its queue still files advice."""
    before = skipped_run("20261123T120000Z-aaaaaa", [{"capability": "duplex", "reason": ""}])
    (added,) = record_run(before, ledger_dir=seeded).added
    now = skipped_run("20261124T120000Z-bbbbbb",
                      [_skip_record("duplex", "needs a duplex session")])
    assert findings_from_run(now) == []
    assert "has no duplex part" in parts_lacking(now)["capability/duplex"]
    summary = record_run(now, ledger_dir=seeded)
    assert summary.withdrawn == [added] and summary.fixed == []
    (entry,) = improvements(seeded)
    assert entry["status"] == "withdrawn"
    assert entry["withdrawn_reason"].startswith("not filed again: lib has no duplex part")
    policy = skipped_run("20261125T120000Z-cccccc",
                         [_skip_record("overflow:drop_oldest", "")], name="adv_overflow")
    (finding,) = findings_from_run(policy)
    assert finding.check == "capability/overflow_policies"


def test_a_library_target_is_advised_in_its_own_words() -> None:
    target = {"name": "asyncio", "version": "python 3.11.7", "library": ASYNCIO_WORDS}
    component, title, recommendation = capability_text("put_timeout", target)
    assert component == "asyncio.Queue"
    assert title == ("await q.put(item) on a full asyncio.Queue waits without a bound of its "
                     "own: document asyncio.timeout()")
    assert "`async with asyncio.timeout(t): await q.put(item)`" in recommendation
    assert "timeout=" not in recommendation and "ChunkQueue" not in title + recommendation
    component, title, recommendation = capability_text("overflow_policies", target)
    assert (component, title) == (
        "asyncio.Queue",
        "asyncio.Queue offers no overflow policy: when it is full a producer can only wait or "
        "fail")
    assert "q.put_nowait(item) raises asyncio.QueueFull" in recommendation


def test_stageflow_and_other_targets_keep_the_words_of_record() -> None:
    for capability, (title, recommendation) in CAPABILITY_TEXT.items():
        _, got_title, got_recommendation = capability_text(capability, {"name": "stageflow"})
        assert (got_title, got_recommendation) == (title, recommendation)
    assert capability_text("put_timeout", {"name": "stageflow"})[0] == "ChunkQueue"


def test_an_entry_now_named_in_the_library_words_is_withdrawn_as_superseded(
        seeded: Path) -> None:
    policy = [_skip_record("overflow:drop_oldest", "")]
    (old,) = record_run(skipped_run("20261123T120000Z-aaaaaa", policy, name="adv_overflow"),
                        ledger_dir=seeded).added
    summary = record_run(skipped_run("20261124T120000Z-bbbbbb", policy, name="adv_overflow",
                                     library=ASYNCIO_WORDS), ledger_dir=seeded)
    (new,) = summary.added
    assert summary.withdrawn == [old]
    by_id = {e["id"]: e for e in improvements(seeded)}
    assert by_id[new]["component"] == "asyncio.Queue" and by_id[new]["status"] == "open"
    assert by_id[old]["status"] == "withdrawn"
    assert by_id[old]["withdrawn_reason"].startswith(f"superseded by {new}: ")
    assert "asyncio.Queue" in by_id[old]["withdrawn_reason"]


def _improvement(version: str) -> Finding:
    return Finding(
        kind="improvement", title="Refuse invalid arguments", severity="P2",
        component="ChunkQueue", target={"name": "lib", "version": version}, description="d",
        reproduction="stageflow-stress fuzz --target lib --seed 0", expected="e", actual="a",
        impact="i", recommendation="r",
        evidence={"source": "fuzz", "defect_class": "argument validation"},
        check="fuzz/config_refused")


def _merge(directory: Path, findings: list[Finding], version: str, **kwargs: Any) -> Any:
    return merge_findings(findings, ledger_dir=directory, run_id=f"fuzz-{version}",
                          target={"name": "lib", "version": version},
                          checks_run={"fuzz/config_refused"}, now="2026-11-29T00:00:00Z",
                          **kwargs)


def test_not_filed_at_the_same_version_is_withdrawn_with_the_reason(tmp_path: Path) -> None:
    (added,) = _merge(tmp_path, [_improvement("1.0")], "1.0").added
    why = "a size of 0 is valid input for lib, which declares queue.zero_size = 'unbounded'"
    summary = _merge(tmp_path, [], "1.0", not_filed={"fuzz/config_refused": why})
    assert summary.withdrawn == [added] and summary.fixed == []
    (entry,) = load_ledgers(tmp_path)["improvement"].entries
    assert entry["withdrawn_reason"] == f"not filed again: {why}"


def test_not_found_again_at_a_new_version_is_fixed_whatever_the_reason(tmp_path: Path) -> None:
    (added,) = _merge(tmp_path, [_improvement("1.0")], "1.0").added
    summary = _merge(tmp_path, [], "2.0", not_filed={"fuzz/config_refused": "why"})
    assert summary.fixed == [added] and summary.withdrawn == []
