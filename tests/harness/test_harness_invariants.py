"""Each general invariant passes on a correct toy target and fails on one broken on purpose."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from harness_toys import ToyTarget

from harness.invariants import (
    Expectations,
    HungTask,
    Observations,
    account,
    check_all,
    check_no_hang,
    check_none_lost,
    check_telemetry,
)
from harness.runner import run_scenario
from scenarios.registry import get_scenario


def _run(name: str, mode: str, **overrides: Any) -> dict[str, Any]:
    return run_scenario(get_scenario(name), ToyTarget(mode), quick=True, seed=1,
                        overrides=overrides)


def _verdict(entry: dict[str, Any], name: str) -> dict[str, Any]:
    found = [inv for inv in entry["invariants"] if inv["name"] == name]
    assert found, f"{name} not checked: {[inv['name'] for inv in entry['invariants']]}"
    return found[0]


def test_correct_target_passes_every_general_invariant() -> None:
    entry = _run("toy_stream", "good")
    assert entry["status"] == "pass", entry["invariants"]
    assert {"none_lost", "none_duplicated", "fifo_per_producer", "bounds_held", "no_hang",
            "telemetry"} <= {inv["name"] for inv in entry["invariants"]}


def test_silent_loss_breaks_none_lost_naming_the_chunks() -> None:
    inv = _verdict(_run("toy_stream", "lossy"), "none_lost")
    assert not inv["passed"]
    assert inv["detail"].startswith("6 chunks lost")
    assert "p0#3" in inv["detail"]


def test_duplicates_break_none_duplicated() -> None:
    inv = _verdict(_run("toy_stream", "duplicate"), "none_duplicated")
    assert not inv["passed"]
    assert "6 duplicate receipts: p0#3" in inv["detail"]


def test_reordering_breaks_fifo_per_producer() -> None:
    inv = _verdict(_run("toy_stream", "reorder"), "fifo_per_producer")
    assert not inv["passed"]
    assert "p0#4 after p0#5" in inv["detail"]


def test_queue_beyond_its_bound_breaks_bounds_held() -> None:
    entry = _run("toy_stream", "unbounded", consumer_delay_ms=5.0, count=40)
    inv = _verdict(entry, "bounds_held")
    assert not inv["passed"]
    assert "> max_size 8" in inv["detail"]


def test_hang_breaks_no_hang_with_the_stack_of_the_await() -> None:
    entry = _run("toy_stream", "hang", consumer_delay_ms=5.0, deadline_s=1.0)
    inv = _verdict(entry, "no_hang")
    assert entry["status"] == "fail"
    assert not inv["passed"]
    assert "producer-0 in harness_toys.py" in inv["detail"]
    assert "in ToyQueue.put" in inv["detail"]
    assert 'harness_toys.py", line' in inv["stack"] and "in put" in inv["stack"]


def test_partial_frames_break_whole_frames() -> None:
    inv = _verdict(_run("toy_frames", "partial"), "whole_frames")
    assert not inv["passed"]
    assert "10 of 10 read_bytes not a multiple of 4 B: #0=882 B" in inv["detail"]


def test_whole_frames_pass_when_reads_are_frame_aligned() -> None:
    assert _verdict(_run("toy_frames", "good"), "whole_frames")["passed"]


def test_memory_growth_beyond_the_bound_breaks_memory_bounded() -> None:
    inv = _verdict(_run("toy_memory", "good"), "memory_bounded")
    assert not inv["passed"]
    assert "limit 1.0 MiB" in inv["detail"]


def test_a_heap_growing_under_expect_flat_memory_is_a_leak_that_fails_the_scenario() -> None:
    entry = _run("toy_heap_trend", "good")
    inv = _verdict(entry, "memory_trend")
    assert not inv["passed"]
    assert inv["detail"].startswith("leak:")
    assert entry["status"] == "fail"
    assert entry["soak"]["verdict"] == "leak"
    assert "harness_toys.py:" in entry["soak"]["top_growth"][0]["site"]


def test_a_heap_that_holds_still_is_never_called_a_leak() -> None:
    entry = _run("toy_heap_trend", "good", kib_per_s=0)
    inv = _verdict(entry, "memory_trend")
    assert inv["passed"], inv["detail"]
    assert entry["soak"]["verdict"] in ("flat", "inconclusive")


def test_under_a_soak_the_scenarios_own_memory_check_leaves_it_to_the_soak() -> None:
    from harness.soak import SoakMonitor

    soak = SoakMonitor(60.0)  # what run --duration starts around every attempt
    soak.start()
    try:
        entry = _run("toy_heap_trend", "good", kib_per_s=0, duration_s=0.3)
    finally:
        soak.stop()
    assert SoakMonitor.watching == 0
    assert "soak" not in entry
    assert "memory_trend" not in {inv["name"] for inv in entry["invariants"]}


def test_blocking_without_event_breaks_telemetry() -> None:
    entry = _run("toy_stream", "silent", consumer_delay_ms=30.0, max_size=2, count=10)
    inv = _verdict(entry, "telemetry")
    assert not inv["passed"]
    assert "without stream.producer_blocked while blocked" in inv["detail"]


def test_slow_delivery_breaks_latency_bounded() -> None:
    inv = _verdict(_run("toy_latency", "good"), "latency_bounded")
    assert not inv["passed"]
    assert "> 1 ms over 20 chunks" in inv["detail"]


# --- accounting on hand-made observations ---------------------------------------------------

def _obs(*, sent: int, received: list[int], events: list[tuple[str, dict[str, Any], int]],
         outcomes: list[str] | None = None, stranded: list[int] = ()) -> Observations:
    seqs = np.arange(sent)
    recv = np.asarray(list(received) + list(stranded), dtype=np.int64)
    return Observations(
        send_producer=np.zeros(sent), send_seq=seqs, send_intended=seqs * 1000,
        send_start=seqs * 1000, send_end=seqs * 1000 + 10,
        send_outcome=outcomes or ["queued"] * sent,
        recv_consumer=np.zeros(recv.size), recv_producer=np.zeros(recv.size), recv_seq=recv,
        recv_t=recv * 1000 + 500,
        recv_stranded=[False] * len(received) + [True] * len(stranded),
        events=events)


def test_drop_events_with_sequences_identify_the_lost_chunks_exactly() -> None:
    drop = ("stream.chunk_dropped", {"sequence": 2, "reason": "drop_oldest"}, 0)
    acc = account(_obs(sent=5, received=[0, 1, 4], events=[drop]))
    assert (acc.dropped, acc.lost, acc.exact) == (1, 1, True)
    assert acc.lost_keys == (3,)


def test_drop_events_without_sequences_are_counted() -> None:
    drop = ("stream.chunk_dropped", {"reason": "overflow"}, 0)
    acc = account(_obs(sent=5, received=[0, 1, 4], events=[drop, drop]))
    assert (acc.dropped, acc.lost, acc.exact) == (2, 0, False)


def test_refused_puts_are_not_lost() -> None:
    outcomes = ["queued", "timeout", "queued"]
    verdict = check_none_lost(_obs(sent=3, received=[0, 2], events=[], outcomes=outcomes),
                              Expectations())
    assert verdict is not None and verdict.passed


def test_chunks_left_queued_after_end_of_stream_count_as_lost() -> None:
    obs = _obs(sent=3, received=[0], events=[], stranded=[1, 2])
    assert account(obs).lost == 2
    assert account(obs, stranded_ok=True).lost == 0


def test_put_returning_false_without_event_breaks_telemetry() -> None:
    obs = _obs(sent=2, received=[0], events=[], outcomes=["queued", "dropped"])
    verdict = check_telemetry(obs, Expectations())
    assert verdict is not None and not verdict.passed
    assert "1 put returned False without stream.chunk_dropped" in verdict.detail


def _slow_put(full: int, *, blocked_event_at_ns: int | None = None) -> Observations:
    """One put taking 50 ms from t=0; ``full``: it started on a queue with no room (1), with
    room (0), or unknown (-1)."""
    events = ([] if blocked_event_at_ns is None else
              [("stream.producer_blocked", {"queue_size": 1, "max_size": 1},
                blocked_event_at_ns)])
    return Observations(
        send_producer=[0], send_seq=[0], send_intended=[0], send_start=[0],
        send_end=[50_000_000], send_outcome=["queued"], send_full=[full],
        recv_consumer=[0], recv_producer=[0], recv_seq=[0], recv_t=[60_000_000],
        events=events)


def test_slow_put_that_started_with_room_is_not_judged_blocked() -> None:
    verdict = check_telemetry(_slow_put(0), Expectations())
    assert verdict is not None and verdict.passed, verdict
    assert "1 slow put that started with room (not judged)" in verdict.detail


def test_put_that_started_full_and_waited_without_the_event_breaks_telemetry() -> None:
    verdict = check_telemetry(_slow_put(1), Expectations())
    assert verdict is not None and not verdict.passed
    assert "1 of 1 put blocked (up to 50 ms) without stream.producer_blocked" in verdict.detail


def test_put_that_started_full_and_announced_the_wait_passes_telemetry() -> None:
    verdict = check_telemetry(_slow_put(1, blocked_event_at_ns=1_000), Expectations())
    assert verdict is not None and verdict.passed, verdict


def test_without_a_probe_every_slow_put_is_judged() -> None:
    verdict = check_telemetry(_slow_put(-1), Expectations())
    assert verdict is not None and not verdict.passed


def test_no_hang_names_tasks_and_carries_their_stacks() -> None:
    hung = [HungTask("producer-0", "q.py:3 in put: await w", 'File "q.py", line 3, in put')]
    verdict = check_no_hang(Observations(), Expectations(hung=hung, deadline_s=2.0))
    assert not verdict.passed
    assert verdict.detail == ("1 task still blocked at the 2 s deadline: "
                              "producer-0 in q.py:3 in put: await w")
    assert verdict.stack == 'producer-0:\nFile "q.py", line 3, in put'


def test_checks_that_do_not_apply_are_left_out() -> None:
    names = [v.name for v in check_all(Observations(), Expectations())]
    assert names == ["no_hang"]


@pytest.mark.parametrize("identity", [True, False])
def test_buffer_scenarios_skip_per_chunk_checks(identity: bool) -> None:
    obs = _obs(sent=3, received=[], events=[])
    names = {v.name for v in check_all(obs, Expectations(chunk_identity=identity))}
    assert ("none_lost" in names) is identity


def test_blocking_announced_when_it_starts_passes_telemetry() -> None:
    entry = _run("toy_stream", "good", consumer_delay_ms=30.0, max_size=2, count=10)
    inv = _verdict(entry, "telemetry")
    assert inv["passed"], inv["detail"]
    assert "blocked puts" in inv["detail"]
