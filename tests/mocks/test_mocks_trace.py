"""Trace: columns round-trip, sequence encoding, emitter safety, samples, deliveries join."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mocks.trace import SEQUENCE_BASE, Trace, make_sequence, split_sequence


def test_sends_come_back_as_columns_in_recording_order() -> None:
    trace = Trace()
    trace.sent(1, 0, 100, 110, 120, "queued")
    trace.sent(2, 5, 200, 250, 900, "timeout")
    sends = trace.sends
    assert sends["producer"].tolist() == [1, 2]
    assert sends["seq"].tolist() == [0, 5]
    assert sends["intended_ns"].tolist() == [100, 200]
    assert sends["start_ns"].tolist() == [110, 250]
    assert sends["end_ns"].tolist() == [120, 900]
    assert sends["outcome"].tolist() == ["queued", "timeout"]


def test_whether_a_put_started_on_a_full_queue_is_kept_unknown_by_default() -> None:
    trace = Trace()
    trace.sent(0, 0, 1, 2, 3, "queued", True)
    trace.sent(0, 1, 1, 2, 3, "queued", False)
    trace.sent(0, 2, 1, 2, 3, "queued")
    assert trace.sends["full"].tolist() == [1, 0, -1]


def test_an_unknown_outcome_is_refused_and_not_recorded() -> None:
    trace = Trace()
    with pytest.raises(ValueError, match="outcome"):
        trace.sent(0, 0, 1, 2, 3, "lost")
    assert trace.send_count == 0


def test_receipts_come_back_as_columns() -> None:
    trace = Trace()
    trace.received(3, 1, 7, 5000)
    trace.received(0, -1, -1, 6000)
    receipts = trace.receipts
    assert receipts.tolist() == [(3, 1, 7, 5000), (0, -1, -1, 6000)]


def test_recording_continues_after_the_columns_were_read() -> None:
    trace = Trace()
    trace.sent(0, 0, 1, 2, 3, "queued")
    first = trace.sends
    trace.sent(0, 1, 4, 5, 6, "dropped")  # reading must not pin the buffer
    assert len(first) == 1
    assert trace.sends["outcome"].tolist() == ["queued", "dropped"]


@settings(max_examples=100, deadline=None, derandomize=True)
@given(producer=st.integers(0, 2**30), seq=st.integers(0, SEQUENCE_BASE - 1))
def test_split_sequence_inverts_make_sequence(producer: int, seq: int) -> None:
    assert split_sequence(make_sequence(producer, seq)) == (producer, seq)


def test_make_sequence_refuses_a_seq_that_would_spill_into_the_producer() -> None:
    with pytest.raises(ValueError, match="seq"):
        make_sequence(1, SEQUENCE_BASE)


def test_emitter_records_name_payload_and_time_in_order() -> None:
    trace = Trace()
    trace.emitter("stream.chunk_dropped", {"reason": "drop_oldest"})
    trace.emitter("stream.queue_closed", {})
    (n1, p1, t1), (n2, _, t2) = trace.events
    assert (n1, p1, n2) == ("stream.chunk_dropped", {"reason": "drop_oldest"},
                            "stream.queue_closed")
    assert t1 <= t2


def test_emitter_keeps_the_payload_as_it_was_when_emitted() -> None:
    trace = Trace()
    payload = {"queue_size": 1}
    trace.emitter("e", payload)
    payload["queue_size"] = 99
    assert trace.events[0][1] == {"queue_size": 1}


def test_emitter_never_raises_on_a_payload_that_is_not_a_mapping() -> None:
    trace = Trace()
    trace.emitter("odd", 42)  # type: ignore[arg-type]
    assert trace.events_named("odd")[0][1] == 42


def test_samples_are_grouped_by_series_with_their_times() -> None:
    trace = Trace()
    trace.sample("queue_depth", 3, t_ns=10)
    trace.sample("buffer_ms", 40.0, t_ns=11)
    trace.sample("queue_depth", 5, t_ns=12)
    samples = trace.samples
    assert samples["queue_depth"].tolist() == [(10, 3.0), (12, 5.0)]
    assert samples["buffer_ms"].tolist() == [(11, 40.0)]


def test_deliveries_join_each_receipt_to_its_send() -> None:
    trace = Trace()
    trace.sent(0, 0, 100, 110, 120, "queued")
    trace.sent(1, 0, 200, 210, 220, "queued")
    trace.received(9, 1, 0, 1000)
    trace.received(9, 0, 0, 2000)
    trace.received(9, -1, -1, 3000)  # unidentified
    trace.received(9, 5, 5, 4000)  # never sent
    rows = trace.deliveries()
    assert rows["intended_ns"].tolist() == [200, 100, -1, -1]
    assert rows["start_ns"].tolist() == [210, 110, -1, -1]
    assert (rows["recv_ns"] - rows["intended_ns"]).tolist()[:2] == [800, 1900]
