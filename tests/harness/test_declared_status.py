"""A scenario's status follows the judgement by declared semantics (harness.declared).

A check broken the way the target declares (a block-only queue's put waiting behind a dead
consumer, no events from a library that has no event hook) fails no status, gate or
hypothesis, and the entry says which declaration excused it; a universal clause, a clause
declared as the check assumes, and our recommendations where the target is silent still
fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.contract import Declaration, Semantics
from harness.declared import excuse, fails_target
from harness.defects import DefectKey
from harness.findings import findings_from_run, judge_findings
from harness.hypotheses import evaluate_hypotheses
from harness.runner import run_scenario
from harness.targets import load_target
from harness.targets.asyncio_queue import AsyncioQueue, AsyncioTarget
from scenarios.registry import get_scenario

pytestmark = pytest.mark.timeout(60)

HANG = DefectKey("ChunkQueue", "put (full queue)", "no_hang")
LOSS = DefectKey("ChunkQueue", "put (queue with room)", "no_loss")
BLOCKS = Semantics([Declaration("queue.full_put", "block", "test docs")])


def _excuse(keys: tuple[DefectKey, ...] = (), *, clause: str | None = None,
            unattributed: bool = False, semantics: Semantics = BLOCKS,
            passed: bool = False) -> dict[str, Any] | None:
    return excuse(passed=passed, defects=keys, clause=clause, unattributed=unattributed,
                  semantics=semantics)


def test_a_clause_declared_otherwise_is_excused_by_its_declaration() -> None:
    why = _excuse((HANG,))
    assert why is not None
    assert why["declarations"] == [{"clause": "queue.full_put", "value": "block",
                                    "where": "test docs"}]
    assert "queue.full_put = 'block'" in why["reason"]


@pytest.mark.parametrize(("keys", "semantics", "case"), [
    ((LOSS,), BLOCKS, "a universal clause"),
    ((HANG, LOSS), BLOCKS, "a universal clause beside a declared one"),
    ((HANG,), Semantics(), "a clause the target is silent about (our recommendation)"),
    ((HANG,), Semantics([Declaration("queue.full_put", "block_with_timeout", "t")]),
     "a clause declared as the check assumes"),
])
def test_what_the_target_does_not_declare_still_fails(
        keys: tuple[DefectKey, ...], semantics: Semantics, case: str) -> None:
    assert _excuse(keys, semantics=semantics) is None, case


def test_a_scenario_check_of_a_clause_is_excused_only_when_declared_otherwise() -> None:
    off = Semantics([Declaration("queue.throttle_events", False, "t")])
    on = Semantics([Declaration("queue.throttle_events", True, "t")])
    assert _excuse(clause="queue.throttle_events", semantics=off) is not None
    assert _excuse(clause="queue.throttle_events", semantics=on) is None
    assert _excuse(clause="queue.throttle_events", semantics=Semantics()) is None
    assert _excuse(semantics=off) is None  # names neither key nor clause: its own level


def test_what_a_check_could_not_attribute_is_never_excused() -> None:
    assert _excuse((HANG,), unattributed=True) is None
    assert _excuse((HANG,), passed=True) is None


def test_fails_target_reads_old_and_new_documents() -> None:
    assert fails_target({"name": "fifo", "passed": False})
    assert not fails_target({"name": "fifo", "passed": True})
    assert not fails_target({"name": "no_hang", "passed": False,
                             "as_declared": {"reason": "r", "declarations": []}})


def _overflow(target: Any) -> dict[str, Any]:
    # a short deadline: the blocked producer is cut there, which is all the check needs
    return run_scenario(get_scenario("queue_overflow"), target, quick=True, seed=0,
                        overrides={"deadline_s": 1.0})


def _invariant(entry: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in entry["invariants"] if i["name"] == name)


@pytest.mark.parametrize("name", ["asyncio", "aiochannel"])
def test_a_block_only_library_passes_queue_overflow_as_declared(name: str) -> None:
    target = load_target(name)
    entry = _overflow(target)
    hang = _invariant(entry, "no_hang")
    assert not hang["passed"]  # seen as it was: the producer waited behind a dead consumer
    assert hang["as_declared"]["declarations"][0]["clause"] == "queue.full_put"
    assert entry["status"] == "pass", [i for i in entry["invariants"] if fails_target(i)]
    excused = {e["check"]: e for e in entry["excused"] if e.get("declarations")}
    assert excused["no_hang"]["declarations"][0]["value"] == "block"
    hypotheses = evaluate_hypotheses([entry])
    assert hypotheses["H1"]["status"] != "refuted"
    # findings still judge it, and withdraw it as declared behaviour: no bug filed
    run = {"run_id": "t", "target": {"name": name, "version": "t",
                                     "semantics": target.semantics.as_list()},
           "scenarios": [entry], "command": "t"}
    kept, withdrawn = judge_findings(findings_from_run(run), target.semantics)
    assert not [f for f in kept if f.kind == "bug"]
    assert any(f.defect_key == HANG for f, _j in withdrawn)


class _LossyQueue(AsyncioQueue):
    """asyncio.Queue whose put silently discards every tenth item (a seeded loss)."""

    __slots__ = ("puts",)

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size)
        self.puts = 0

    async def put(self, item: Any) -> Any:
        self.puts += 1
        if self.puts % 10 == 0:
            return None
        return await self.native.put(item)


class _LossyAsyncio(AsyncioTarget):
    name = "lossy_asyncio"

    def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                   event_emitter: Any = None) -> Any:
        self.check_overflow(overflow)
        return _LossyQueue(max_size)


def test_a_universal_clause_still_fails_a_target_that_declares_the_rest() -> None:
    entry = _overflow(_LossyAsyncio())
    assert entry["status"] == "fail"
    assert "as_declared" in _invariant(entry, "no_hang")  # the declared wait is still excused
    loss = _invariant(entry, "none_lost")
    assert fails_target(loss)
    assert evaluate_hypotheses([entry])["H5"]["status"] == "refuted"


def test_stageflow_is_excused_its_declared_wait_and_still_fails_our_recommendation() -> None:
    """Stageflow 0.5.1 declares that a put on a full queue blocks (its class docstring) and
    says nothing about events while blocked: the wait is excused, the missing
    stream.producer_blocked is our recommendation and still fails the scenario."""
    pytest.importorskip("stageflow")
    entry = _overflow(load_target("stageflow"))
    hang = _invariant(entry, "no_hang")
    assert hang["as_declared"]["declarations"][0]["where"].startswith(
        "stageflow/helpers/streaming.py")
    telemetry = _invariant(entry, "telemetry")
    assert fails_target(telemetry)
    assert entry["status"] == "fail"
