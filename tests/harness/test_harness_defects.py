"""Checks name the contract clause they saw broken (harness.defects), not only themselves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from harness_toys import ToyTarget

from harness.defects import OPERATIONS, PROPERTIES, DefectKey, parse_keys, title
from harness.invariants import (
    Expectations,
    HungTask,
    Observations,
    Verdict,
    check_bounds_held,
    check_no_hang,
    check_none_lost,
    check_telemetry,
    check_whole_frames,
)
from harness.runner import RunContext, run_scenario
from scenarios.registry import get_scenario

PUT_HANG = DefectKey("ChunkQueue", "put (full queue)", "no_hang")
CLOSE_CONSUMER = DefectKey("ChunkQueue", "close (blocked consumer)", "no_hang")
CLOSE_PRODUCER = DefectKey("ChunkQueue", "close (blocked producer)", "no_hang")


def _keys(entry: dict[str, Any], name: str) -> list[DefectKey]:
    (inv,) = [i for i in entry["invariants"] if i["name"] == name]
    return list(parse_keys(inv.get("defects")))


# --- the vocabulary -------------------------------------------------------------------------

def test_title_names_component_operation_and_what_is_wrong() -> None:
    assert title(CLOSE_CONSUMER) == "ChunkQueue.close (blocked consumer): a blocked call never ends"


def test_title_does_not_repeat_a_constructor_component() -> None:
    key = DefectKey("ChunkQueue", "ChunkQueue()", "config_refused")
    assert title(key) == "ChunkQueue(): accepts an invalid configuration"


def test_key_refuses_an_unknown_property_naming_it() -> None:
    with pytest.raises(ValueError, match=r"property 'fast' is not one of no_hang"):
        DefectKey("ChunkQueue", "put (full queue)", "fast")


def test_keys_parse_from_results_json_and_from_scenario_tuples() -> None:
    parsed = parse_keys([PUT_HANG.as_dict(), ("ChunkQueue", "put (full queue)", "no_hang"),
                         CLOSE_CONSUMER])
    assert parsed == (PUT_HANG, CLOSE_CONSUMER)


@pytest.mark.parametrize("op", ["put (full queue)", "close (blocked consumer)",
                                "close (blocked producer)", "put (closed queue)",
                                "add_chunk (overflow)", "add_chunk (overflow trim)",
                                "add_chunk (mismatched stream)", "add_chunk (partial frame)",
                                "read", "read (negative or NaN duration)", "read (short)",
                                "cancel (blocked put)", "get"])
def test_operations_the_checks_use_are_in_the_vocabulary(op: str) -> None:
    assert op in OPERATIONS


def test_every_property_has_words_and_a_known_severity() -> None:
    for prop in PROPERTIES.values():
        assert prop.wrong and prop.expected
        assert prop.severity in ("critical", "high", "medium", "low")


# --- generic invariants name their defects --------------------------------------------------

def _hung(call: str | None, queue: str | None = "q") -> HungTask:
    return HungTask(f"task-{call}", f"q.py:3 in {call}: await w",
                    f'File "q.py", line 3, in {call}', queue=queue, call=call)


def test_producer_stuck_on_an_open_queue_is_the_full_queue_put_hang() -> None:
    verdict = check_no_hang(Observations(), Expectations(queues={"q": 4}, hung=[_hung("put")]))
    assert verdict.defects == (PUT_HANG,)


def test_producer_stuck_after_close_is_close_not_waking_producers() -> None:
    expect = Expectations(queues={"q": 4}, hung=[_hung("put")], closed={"q": 10})
    assert check_no_hang(Observations(), expect).defects == (CLOSE_PRODUCER,)


@pytest.mark.parametrize("call", ["get", "get_many", "__anext__"])
def test_consumer_stuck_after_close_is_close_not_waking_consumers(call: str) -> None:
    expect = Expectations(queues={"q": 4}, hung=[_hung(call)], closed={"q": 10})
    assert check_no_hang(Observations(), expect).defects == (CLOSE_CONSUMER,)


def test_consumer_waiting_on_an_open_queue_is_filed_under_the_check() -> None:
    verdict = check_no_hang(Observations(), Expectations(queues={"q": 4}, hung=[_hung("get")]))
    assert (verdict.passed, verdict.defects) == (False, ())


def test_a_hang_it_cannot_place_is_kept_beside_the_one_it_can() -> None:
    hung = [_hung("put"), _hung(None, queue=None)]
    verdict = check_no_hang(Observations(), Expectations(queues={"q": 4}, hung=hung))
    assert verdict.defects == (PUT_HANG,)
    assert verdict.unattributed_stack == 'task-None:\nFile "q.py", line 3, in None'


def _sends(starts: list[int], ends: list[int], outcomes: list[str],
           received: list[int] = ()) -> Observations:
    n = len(starts)
    recv = np.asarray(received, dtype=np.int64)
    return Observations(
        send_producer=np.zeros(n), send_seq=np.arange(n), send_intended=starts,
        send_start=starts, send_end=ends, send_outcome=outcomes,
        recv_consumer=np.zeros(recv.size), recv_producer=np.zeros(recv.size), recv_seq=recv,
        recv_t=recv + 10**9)


def test_chunks_put_while_the_queue_closed_and_never_read_are_close_losses() -> None:
    obs = _sends([0, 0, 0], [5, 500, 600], ["queued"] * 3, received=[0])
    verdict = check_none_lost(obs, Expectations(queues={"q": 4}, closed={"q": 100}))
    assert verdict is not None and not verdict.passed
    assert verdict.defects == (DefectKey("ChunkQueue", "close (blocked producer)", "no_loss"),)
    assert verdict.unattributed is None


def test_loss_without_a_close_is_filed_under_the_check() -> None:
    obs = _sends([0, 0], [5, 6], ["queued"] * 2, received=[0])
    verdict = check_none_lost(obs, Expectations(queues={"q": 4}))
    assert verdict is not None and (verdict.passed, verdict.defects) == (False, ())


def test_put_returning_false_on_a_closed_queue_without_event_is_a_silent_drop() -> None:
    obs = _sends([200], [201], ["dropped"])
    verdict = check_telemetry(obs, Expectations(queues={"q": 4}, closed={"q": 100}))
    assert verdict is not None
    assert verdict.defects == (DefectKey("ChunkQueue", "put (closed queue)", "no_silent_drop"),)


def test_blocked_put_without_event_is_invisible_backpressure() -> None:
    obs = Observations(send_producer=[0], send_seq=[0], send_intended=[0], send_start=[0],
                       send_end=[50_000_000], send_outcome=["queued"], send_full=[1])
    verdict = check_telemetry(obs, Expectations())
    assert verdict is not None
    assert verdict.defects == (DefectKey("ChunkQueue", "put (full queue)",
                                         "backpressure_visible"),)


def test_queue_and_buffer_over_their_bounds_are_two_defects() -> None:
    obs = Observations(samples={
        "queue_depth.q": (np.asarray([1]), np.asarray([9.0])),
        "buffer_ms.b": (np.asarray([1]), np.asarray([700.0]))})
    verdict = check_bounds_held(obs, Expectations(queues={"q": 8}, buffers={"b": 500.0}))
    assert verdict is not None
    assert verdict.defects == (DefectKey("ChunkQueue", "put (full queue)", "bounds"),
                               DefectKey("StreamingBuffer", "add_chunk (overflow)", "bounds"))


def test_partial_reads_and_partial_trims_are_two_defects() -> None:
    obs = Observations(samples={
        "read_bytes.b": (np.asarray([1]), np.asarray([882.0])),
        "dropped_bytes.b": (np.asarray([1]), np.asarray([6.0])),
        "other.b": (np.asarray([1]), np.asarray([3.0]))})
    expect = Expectations(frames={"read_bytes.b": 4, "dropped_bytes.b": 4, "other.b": 4})
    verdict = check_whole_frames(obs, expect)
    assert verdict is not None
    assert verdict.defects == (DefectKey("StreamingBuffer", "read", "whole_frames"),
                               DefectKey("StreamingBuffer", "add_chunk (overflow trim)",
                                         "whole_frames"))
    assert verdict.unattributed is not None and "other.b" in verdict.unattributed


def test_defects_are_written_only_for_a_failed_verdict() -> None:
    assert "defects" not in Verdict("x", True, defects=(PUT_HANG,)).as_dict()
    assert Verdict("x", False, defects=(PUT_HANG,)).as_dict()["defects"] == [
        {**PUT_HANG.as_dict(), "level": "universal"}]


# --- the runner tells where a hung task waits -------------------------------------------------

def test_consumer_not_woken_by_close_is_reported_as_that_defect() -> None:
    entry = run_scenario(get_scenario("toy_close"), ToyTarget("deaf_close"), quick=True, seed=1)
    assert entry["status"] == "fail"
    assert _keys(entry, "no_hang") == [CLOSE_CONSUMER]


def test_producer_hung_on_a_full_queue_is_reported_as_the_put_hang() -> None:
    entry = run_scenario(get_scenario("toy_stream"), ToyTarget("hang"), quick=True, seed=1,
                         overrides={"consumer_delay_ms": 5.0, "deadline_s": 1.0})
    assert _keys(entry, "no_hang") == [PUT_HANG]


def _context() -> RunContext:
    return RunContext(spec=get_scenario("toy_loop"), target=ToyTarget(), params={},
                      quick=True, seed=0, deadline_ns=0)


def test_closing_a_queue_that_is_not_watched_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"closed\('other'\): no watched queue"):
        _context().closed("other")


def test_a_scenario_check_with_a_bad_defect_is_refused_naming_the_check() -> None:
    with pytest.raises(ValueError, match=r"expect\('mine'\): DefectKey.property 'slow'"):
        _context().expect("mine", False, defects=[("ChunkQueue", "get", "slow")])


def test_a_scenario_check_carries_the_defects_it_names() -> None:
    ctx = _context()
    ctx.expect("mine", False, "d", defects=[("StreamingBuffer", "read", "integrity")])
    assert ctx.verdicts[0].defects == (DefectKey("StreamingBuffer", "read", "integrity"),)


def test_every_property_a_fuzz_machine_checks_is_in_the_vocabulary() -> None:
    from harness.fuzz import MACHINES

    checked = {prop for machine in MACHINES.values() for prop in machine.properties}
    assert checked - set(PROPERTIES) == set()
