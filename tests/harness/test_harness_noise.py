"""The harness blames no target for its own noise: GC pauses, its generator's lag, the
order consumers record receipts; and every check says the contract level it judged at."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from harness.contract import Declaration, Level, Semantics
from harness.invariants import (
    Expectations,
    HungTask,
    Observations,
    account_for,
    check_fifo_per_producer,
    check_latency_bounded,
    check_no_hang,
    check_none_lost,
    check_telemetry,
)
from harness.pauses import PauseRecorder, as_intervals, overlap_ns

MS = 1_000_000


def test_the_recorder_sees_a_collection_and_unfreezes() -> None:
    with PauseRecorder() as recorder:
        assert gc.get_freeze_count() > 0
        gc.collect()
    assert gc.get_freeze_count() == 0
    assert recorder.pauses and recorder.pauses[-1].duration_ns >= 0
    assert recorder.intervals().shape == (len(recorder.pauses), 2)


def test_overlap_counts_only_the_covered_part() -> None:
    pauses = as_intervals(np.asarray([[10, 20], [30, 40]]))
    got = overlap_ns(pauses, np.asarray([0, 15, 25, 50]), np.asarray([100, 18, 35, 60]))
    assert got.tolist() == [20, 3, 5, 0]


def _one_put(duration_ms: float, *, full: int = 1) -> Observations:
    return Observations(send_producer=[0], send_seq=[0], send_intended=[0], send_start=[0],
                        send_end=[int(duration_ms * MS)], send_outcome=["queued"],
                        send_full=[full])


def test_a_put_slow_only_by_a_gc_pause_is_not_blamed() -> None:
    obs = _one_put(79)
    blamed = check_telemetry(obs, Expectations())
    assert blamed is not None and not blamed.passed
    pause = np.asarray([[5 * MS, 75 * MS]])
    excused = check_telemetry(obs, Expectations(pauses=pause))
    assert excused is not None and excused.passed
    assert excused.excused and "GC pause" in excused.excused


def test_latency_bound_takes_gc_pauses_off() -> None:
    obs = Observations(send_producer=[0], send_seq=[0], send_intended=[0], send_start=[0],
                       send_end=[MS], send_outcome=["queued"], recv_consumer=[0],
                       recv_producer=[0], recv_seq=[0], recv_t=[70 * MS])
    assert not check_latency_bounded(obs, Expectations(latency_p99_ms=50.0)).passed
    verdict = check_latency_bounded(obs, Expectations(latency_p99_ms=50.0,
                                                      pauses=np.asarray([[MS, 60 * MS]])))
    assert verdict.passed and verdict.level == Level.RECOMMENDED


def _receipts(rows: list[tuple[int, int, int]]) -> Observations:
    """Receipts ``(consumer, seq, recv_ms)`` of producer 0, which sent seqs 0..n-1."""
    n = len(rows)
    return Observations(
        send_producer=[0] * n, send_seq=list(range(n)), send_intended=[0] * n,
        send_start=[0] * n, send_end=[0] * n, send_outcome=["queued"] * n,
        recv_consumer=[r[0] for r in rows], recv_producer=[0] * n,
        recv_seq=[r[1] for r in rows], recv_t=[r[2] * MS for r in rows])


def test_fifo_is_not_judged_by_the_order_two_consumers_record() -> None:
    # a queue that hands 0 to consumer A and 1 to consumer B; B records first
    obs = _receipts([(1, 1, 10), (0, 0, 11), (1, 2, 20), (0, 3, 21)])
    verdict = check_fifo_per_producer(obs, Expectations(queues={"q": 4}))
    assert verdict is not None and verdict.passed


def test_fifo_breaks_when_one_consumer_sees_a_later_chunk_first() -> None:
    obs = _receipts([(0, 1, 10), (0, 0, 11)])
    verdict = check_fifo_per_producer(obs, Expectations(queues={"q": 4}))
    assert verdict is not None and not verdict.passed
    assert "p0#0 after p0#1" in verdict.detail


def test_fifo_breaks_when_a_later_chunk_left_before_an_earlier_get_was_called() -> None:
    # consumer 1 got seq 2 at 10 ms; consumer 0 called get after its receipt at 12 ms
    # and got seq 1: seq 2 had left the queue before seq 1's get was even called
    obs = _receipts([(0, 0, 12), (1, 2, 10), (0, 1, 30)])
    verdict = check_fifo_per_producer(obs, Expectations(queues={"q": 4}))
    assert verdict is not None and not verdict.passed


def test_a_put_that_returned_false_is_a_reported_drop() -> None:
    obs = Observations(send_producer=[0, 0], send_seq=[0, 1], send_intended=[0, 0],
                       send_start=[0, 0], send_end=[0, 0], send_outcome=["queued", "dropped"],
                       recv_consumer=[0], recv_producer=[0], recv_seq=[0], recv_t=[MS])
    verdict = check_none_lost(obs, Expectations())
    assert verdict is not None and verdict.passed
    assert account_for(obs, Expectations()).dropped == 1


def test_a_drop_the_target_counted_is_not_silent() -> None:
    obs = Observations(send_producer=[0, 0], send_seq=[0, 1], send_intended=[0, 0],
                       send_start=[0, 0], send_end=[0, 0], send_outcome=["queued", "queued"],
                       recv_consumer=[0], recv_producer=[0], recv_seq=[1], recv_t=[MS])
    assert not check_none_lost(obs, Expectations()).passed
    assert check_none_lost(obs, Expectations(queue_drops={"q": 1})).passed


def _hung_get() -> HungTask:
    return HungTask("consumer", "q.py:1 in get", "stack", queue="q", call="get")


@pytest.mark.parametrize(("declared", "level"), [(None, Level.RECOMMENDED),
                                                 (True, Level.DECLARED),
                                                 (False, Level.RECOMMENDED)])
def test_a_close_that_does_not_wake_getters_is_judged_at_the_declared_level(
        declared: bool | None, level: Level) -> None:
    decls = [] if declared is None else [Declaration("queue.close_wakes_getters", declared,
                                                     "test")]
    expect = Expectations(queues={"q": 4}, hung=[_hung_get()], closed={"q": 1},
                          semantics=Semantics(decls))
    verdict = check_no_hang(Observations(), expect)
    (key,) = verdict.defects
    assert verdict.level_of(key) == level
    assert verdict.as_dict()["defects"][0]["level"] == level
