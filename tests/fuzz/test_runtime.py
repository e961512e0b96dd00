"""The outcome labels and the step check shared by the machines and the reproductions."""

from __future__ import annotations

import asyncio

import pytest

from harness.fuzz import runtime


@pytest.mark.parametrize(
    ("exc", "label"),
    [
        (asyncio.QueueFull(), "raised:full"),
        (asyncio.QueueEmpty(), "raised:empty"),
        (type("QueueClosed", (Exception,), {})(), "raised:closed"),
        (StopAsyncIteration(), "raised:stop"),
        (ValueError("bad"), "raised:refused"),
        (ZeroDivisionError(), "raised:ZeroDivisionError"),
    ],
)
def test_errors_are_labelled_by_kind(exc: BaseException, label: str) -> None:
    assert runtime.label_error(exc) == label


def test_bytes_are_labelled_by_length_and_content() -> None:
    assert runtime.label_value(b"ab") != runtime.label_value(b"ba")
    assert runtime.label_value(b"ab").startswith("bytes:2:")


def test_check_raises_on_a_label_the_contract_does_not_allow() -> None:
    with pytest.raises(AssertionError, match="step 3"):
        runtime.check(3, "pending", {"raised:closed"}, "pending")


def test_check_stops_when_the_target_takes_another_allowed_path() -> None:
    with pytest.raises(runtime.Diverged):
        runtime.check(1, "raised:refused", {"ok:True", "raised:refused"}, "ok:True")


def test_check_passes_the_violated_step_when_the_contract_holds() -> None:
    runtime.check(2, "raised:refused", {"raised:refused"}, "made")


def test_pattern_differs_per_tag_and_has_the_requested_size() -> None:
    assert len(runtime.pattern(1000, 1)) == 1000
    assert runtime.pattern(64, 1) != runtime.pattern(64, 2)


class _Monitor:
    def __init__(self, on: bool) -> None:
        self.on = on

    def should_throttle(self) -> bool:
        return self.on


class _Queue:
    def __init__(self, on: bool) -> None:
        self.monitor = _Monitor(on)


def test_throttle_state_reads_the_monitor_and_the_last_event() -> None:
    events = [("stream.throttle_started", {}), ("stream.throttle_ended", {})]
    assert runtime.throttle_state(_Queue(True), events) == "monitor:on events:off"


def test_throttle_events_that_do_not_alternate_are_marked() -> None:
    events = [("stream.throttle_started", {}), ("stream.throttle_started", {})]
    assert runtime.throttle_state(_Queue(True), events) == "monitor:on events:repeated"


def test_payload_gaps_names_the_event_and_the_missing_key() -> None:
    events = [("stream.chunk_dropped", {"reason": "drop_oldest", "queue_size": 1})]
    gaps = runtime.payload_gaps(events, {"stream.chunk_dropped": ("reason", "max_size")})
    assert gaps == "stream.chunk_dropped lacks max_size"


def test_a_masked_step_where_the_target_takes_another_path_ends_the_reproduction() -> None:
    with pytest.raises(runtime.Diverged):
        runtime.same_path("bounded", "level:20")


def test_a_duration_that_cannot_be_derived_must_raise() -> None:
    assert runtime.raises(lambda: 1.5) == "value:1.5"
    assert runtime.raises(lambda: 1 / 0) == "raised"


class _DurationOnly:
    """A buffer that reports only its duration: no level in bytes, no sample rate."""

    duration_ms = 12.5


def test_level_of_a_buffer_without_a_sample_rate_uses_the_configured_one() -> None:
    assert runtime.level_bytes(_DurationOnly(), 4, 16000) == 200 * 4
