"""PlayoutLatency: per-chunk time to the read of its last byte, by byte offsets."""

from __future__ import annotations

from mocks.consumers import PlayoutLatency
from mocks.trace import Trace


def receipts(trace: Trace) -> list[tuple[int, int]]:
    return [(int(r["seq"]), int(r["recv_ns"])) for r in trace.receipts]


def test_a_chunk_is_played_when_its_last_byte_is_read() -> None:
    trace = Trace()
    latency = PlayoutLatency(trace)
    latency.wrote(0, 0, 640)
    latency.wrote(0, 1, 640)
    assert latency.read(320, t_ns=10) == 0
    assert latency.read(320, t_ns=20) == 1
    assert latency.read(640, t_ns=30) == 1
    assert receipts(trace) == [(0, 20), (1, 30)]
    assert (latency.played, latency.dropped, latency.pending_bytes) == (2, 0, 0)


def test_one_read_can_complete_several_chunks() -> None:
    trace = Trace()
    latency = PlayoutLatency(trace)
    for seq in range(3):
        latency.wrote(0, seq, 100)
    assert latency.read(300, t_ns=5) == 3
    assert receipts(trace) == [(0, 5), (1, 5), (2, 5)]


def test_a_trim_of_the_oldest_bytes_drops_the_chunks_it_ends() -> None:
    trace = Trace()
    latency = PlayoutLatency(trace)
    latency.wrote(0, 0, 100)
    latency.wrote(0, 1, 100)
    latency.wrote(0, 2, 100, trimmed=150)  # chunk 0 gone, chunk 1 half gone
    assert latency.dropped == 1
    latency.read(50, t_ns=7)  # the rest of chunk 1
    latency.read(100, t_ns=9)
    assert receipts(trace) == [(1, 7), (2, 9)]


def test_an_oversized_chunk_keeps_its_newest_part_and_is_played() -> None:
    trace = Trace()
    latency = PlayoutLatency(trace)
    latency.wrote(0, 0, 100)
    latency.wrote(0, 1, 1000, trimmed=300)  # capacity 800: old chunk + 200 B of the new
    assert latency.dropped == 1 and latency.pending_bytes == 800
    latency.read(800, t_ns=3)
    assert receipts(trace) == [(1, 3)]


def test_a_clear_drops_everything_pending() -> None:
    trace = Trace()
    latency = PlayoutLatency(trace)
    latency.wrote(0, 0, 100)
    latency.wrote(0, 1, 100)
    latency.read(50, t_ns=1)
    latency.discarded(150)
    assert (latency.played, latency.dropped, latency.pending_bytes) == (0, 2, 0)
    latency.wrote(0, 2, 100)
    latency.read(100, t_ns=2)
    assert receipts(trace) == [(2, 2)]
