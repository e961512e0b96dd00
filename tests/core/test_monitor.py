"""BackpressureMonitor used on its own (the queue's use is tested with the queue)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stageflow_core import BackpressureMonitor, BackpressureStats, ChunkQueue


def test_throttling_starts_at_the_high_water_mark() -> None:
    monitor = BackpressureMonitor(high_water_mark=80, low_water_mark=20)
    monitor.record_put(79, 100)
    assert not monitor.should_throttle()
    monitor.record_put(80, 100)
    assert monitor.should_throttle()


def test_throttling_holds_until_the_low_water_mark() -> None:
    monitor = BackpressureMonitor(high_water_mark=80, low_water_mark=20)
    monitor.record_put(90, 100)
    monitor.record_put(50, 100)
    assert monitor.should_throttle()
    monitor.record_put(20, 100)
    assert not monitor.should_throttle()


def test_counters_and_reference_stats_shape() -> None:
    monitor = BackpressureMonitor()
    monitor.record_put(5, 10)
    monitor.record_put(3, 10)
    monitor.record_drop()
    monitor.record_blocked(2.5)
    assert monitor.stats == BackpressureStats(
        total_items=2, dropped_items=1, blocked_puts=1, max_queue_size=5, total_blocked_ms=2.5
    )
    assert monitor.stats.to_dict()["drop_rate"] == 0.5
    assert monitor.fill_percentage == 30.0


def test_statistics_snapshot_is_frozen_and_counts_throttle_starts() -> None:
    monitor = BackpressureMonitor(high_water_mark=50, low_water_mark=10)
    for size in (6, 1, 6, 7):
        monitor.record_put(size, 10)
    stats = monitor.statistics()
    assert (stats.throttle_starts, stats.throttling, stats.max_queue_size) == (2, True, 7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.throttling = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"high_water_mark": 120}, "high_water_mark"),
        ({"low_water_mark": -1}, "low_water_mark"),
        ({"high_water_mark": 30, "low_water_mark": 60}, "low_water_mark"),
        ({"high_water_mark": math.nan}, "high_water_mark"),
    ],
)
def test_bad_water_marks_are_refused(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        BackpressureMonitor(**kwargs)


def test_record_put_with_zero_max_size_is_refused() -> None:
    with pytest.raises(ValueError, match="max_size"):
        BackpressureMonitor().record_put(1, 0)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    max_size=st.integers(1, 40),
    # Integer marks hit exact fill boundaries (80 % of 10 items) and coincide (low == high).
    marks=st.one_of(st.tuples(st.integers(0, 100), st.integers(0, 100)),
                    st.tuples(st.floats(0, 100), st.floats(0, 100))).map(sorted),
    runs=st.lists(st.integers(-40, 40), max_size=12),
)
@example(max_size=2, marks=[50, 50], runs=[2, -1])
def test_queue_throttling_follows_the_monitors_percentage_rule(
    max_size: int, marks: list[float], runs: list[int]
) -> None:
    """Runs of puts (positive) and gets (negative); after every single put or get the
    queue's throttle state equals the monitor's rule applied to the fill percentage."""
    low, high = marks
    queue: ChunkQueue[int] = ChunkQueue(max_size, high_water_mark=high, low_water_mark=low)
    throttling = False
    for run in runs:
        for _ in range(abs(run)):
            if run > 0 and len(queue) < max_size:
                queue.put_nowait(1)
            elif run < 0 and len(queue):
                queue.get_nowait()
            fill = len(queue) / max_size * 100
            if fill >= high:
                throttling = throttling or run > 0
            elif fill <= low:
                throttling = False
            assert queue.monitor.should_throttle() == throttling
