"""The general properties of the contract: each finds its defect in the peer (or in a
deliberately broken copy of our library, where the peer does not have one) and nothing in
stageflow_core."""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from typing import Any

import pytest

import stageflow_core
from harness.fuzz import FuzzConfig, FuzzReport, render_snippet, run_snippet
from harness.fuzz.core import ViolationKey
from harness.fuzz.session import fuzz_machine
from harness.targets import ModuleTarget, Target

NEW_CHECKS = {"fuzz/throttle", "fuzz/minimal_trim", "fuzz/stats", "fuzz/event_payload",
              "fuzz/readiness", "fuzz/emitter_failure_visible", "fuzz/config_refused",
              "fuzz/bad_input_refused", "fuzz/duration"}


def _keys(violations: list[Any]) -> set[ViolationKey]:
    return {violation.key for violation in violations}


def _broken(name: str, **classes: type) -> Target:
    """stageflow_core with some classes replaced (a target with one known defect)."""
    module = types.ModuleType(name)
    module.__dict__.update({k: v for k, v in vars(stageflow_core).items()
                            if not k.startswith("__")})
    module.__dict__.update(classes)
    return ModuleTarget(module, name=name, version="0")


def _fuzz(machine: str, target: Target, examples: int = 60) -> set[ViolationKey]:
    found, complete, _, _ = fuzz_machine(
        machine, target, FuzzConfig(max_examples=examples, seed=0, shrink=False),
        time.perf_counter_ns() + int(60e9))
    assert complete
    return _keys([violation for violation, _ in found])


# -- stageflow_core -------------------------------------------------------------------------


def test_every_general_property_is_checked_in_a_clean_session_of_stageflow_core(
    core_report: FuzzReport,
) -> None:
    assert core_report.checks_run() >= NEW_CHECKS


# -- bad configuration and arguments ---------------------------------------------------------


@pytest.mark.needs_peer
def test_bad_configuration_of_every_public_constructor_is_found(peer_session: Callable) -> None:
    found = _keys(peer_session("objects"))
    assert {("BackpressureMonitor", "config_refused", "BackpressureMonitor()"),
            ("StreamConfig", "config_refused", "StreamConfig()")} <= found


@pytest.mark.needs_peer
def test_bad_arguments_of_public_functions_and_methods_are_found(
    peer_session: Callable,
) -> None:
    found = _keys(peer_session("objects"))
    assert {("encode_audio_for_logging", "bad_input_refused", "encode_audio_for_logging"),
            ("BackpressureMonitor", "bad_input_refused", "record_put"),
            ("BackpressureMonitor", "bad_input_refused", "record_blocked")} <= found


@pytest.mark.needs_peer
def test_one_finding_per_callable_whatever_argument_broke_it(peer_session: Callable) -> None:
    operations = [v.key[2] for v in peer_session("objects")
                  if v.key[1] in ("config_refused", "bad_input_refused")]
    assert len(operations) == len(set(operations))


@pytest.mark.needs_peer
def test_a_compressed_duration_computed_as_pcm_is_found(peer_session: Callable) -> None:
    assert ("AudioChunk", "duration", "duration_ms (compressed)") in _keys(
        peer_session("objects"))


# -- queue -----------------------------------------------------------------------------------


@pytest.mark.needs_peer
def test_throttling_that_outlives_a_drained_queue_is_found(peer_session: Callable) -> None:
    assert ("ChunkQueue", "throttle", "queue drained (throttling not ended)") in _keys(
        peer_session("queue"))


@pytest.mark.needs_peer
def test_throttle_reproduction_fails_on_peer_and_passes_on_stageflow_core(
    peer_session: Callable,
) -> None:
    violation = next(v for v in peer_session("queue") if v.key[1] == "throttle")
    code = render_snippet(title="throttle", preamble=violation.preamble, lines=violation.lines,
                          module="stageflow.helpers.streaming", target_name="stageflow",
                          target_version="0.5.1", command="test")
    assert run_snippet(code, "stageflow.helpers.streaming")["result"] == "fails"
    assert run_snippet(code, "stageflow_core")["detail"] == "contract holds"


@pytest.mark.needs_peer
def test_a_drop_event_that_does_not_name_the_chunk_is_found(peer_session: Callable) -> None:
    assert ("ChunkQueue", "event_payload", "stream.chunk_dropped") in _keys(
        peer_session("queue"))


@pytest.mark.needs_peer
def test_a_queue_that_swallows_emitter_failures_is_found(peer_session: Callable) -> None:
    assert ("ChunkQueue", "emitter_failure_visible", "event emitter raised") in _keys(
        peer_session("queue"))


class _EvictsTwo(stageflow_core.ChunkQueue):  # type: ignore[type-arg]
    """drop_oldest that evicts two items to make room for one (and no other drop policy)."""

    __slots__ = ()

    def __init__(self, max_size: int = 100, *, overflow: str | None = None,
                 **kwargs: Any) -> None:
        if overflow in ("drop_newest", "reject"):
            raise ValueError(f"overflow {overflow!r} not offered")
        super().__init__(max_size, overflow=overflow, **kwargs)

    def _make_room(self, item: Any) -> bool:
        if self.overflow == "drop_oldest" and len(self._items) > 1:
            self._dropped_oldest += 1
            self._report_drop(self._items.popleft(), "drop_oldest", len(self._items) + 1)
        return super()._make_room(item)


def test_a_drop_oldest_queue_that_evicts_more_than_one_item_is_found() -> None:
    found = _fuzz("queue", _broken("evicts_two", ChunkQueue=_EvictsTwo))
    assert found == {("ChunkQueue", "minimal_trim", "put (full drop_oldest queue)")}


class _UncountedDrops(stageflow_core.ChunkQueue):  # type: ignore[type-arg]
    """Reports drops in events but not in the monitor's counters."""

    __slots__ = ()

    def _report_drop(self, item: Any, reason: str, size: int) -> None:
        super()._report_drop(item, reason, size)
        self._monitor._dropped_items -= 1


def test_a_queue_whose_stats_miss_drops_is_found() -> None:
    found = _fuzz("queue", _broken("uncounted_drops", ChunkQueue=_UncountedDrops))
    assert found == {("ChunkQueue", "stats", "monitor.stats.dropped_items")}


# -- buffer ----------------------------------------------------------------------------------


@pytest.mark.needs_peer
def test_an_overflow_that_trims_more_than_it_must_is_found(peer_session: Callable) -> None:
    assert ("StreamingBuffer", "minimal_trim", "add_chunk (overflow)") in _keys(
        peer_session("buffer"))


class _LateReadiness(stageflow_core.StreamingBuffer):
    """is_ready()/is_full() turn true one byte late (strictly above the level)."""

    __slots__ = ()

    def is_ready(self) -> bool:
        return len(self) > self._target_bytes

    def is_full(self) -> bool:
        return len(self) > self._max_bytes


def test_is_ready_and_is_full_disagreeing_with_the_audio_held_are_found() -> None:
    found = _fuzz("buffer", _broken("late_readiness", StreamingBuffer=_LateReadiness), 120)
    assert {("StreamingBuffer", "readiness", "is_ready"),
            ("StreamingBuffer", "readiness", "is_full")} <= found


@pytest.mark.needs_peer
def test_a_buffer_that_swallows_emitter_failures_is_found(peer_session: Callable) -> None:
    assert ("StreamingBuffer", "emitter_failure_visible", "event emitter raised") in _keys(
        peer_session("buffer"))


class _UncountedReads(stageflow_core.StreamingBuffer):
    """``stats`` that never counts bytes read."""

    __slots__ = ()

    @property
    def stats(self) -> dict[str, Any]:
        return {**super().stats, "total_read": 0}


def test_a_buffer_whose_stats_miss_reads_is_found() -> None:
    found = _fuzz("buffer", _broken("uncounted_reads", StreamingBuffer=_UncountedReads))
    assert found == {("StreamingBuffer", "stats", "stats['total_read']")}


class _NeverRecovers(stageflow_core.StreamingBuffer):
    """Never emits stream.buffer_recovered: an underrun, once reported, never ends."""

    __slots__ = ()

    def __init__(self, *, event_emitter: Any = None, **kwargs: Any) -> None:
        def emit(name: str, payload: dict[str, Any]) -> None:
            if name != "stream.buffer_recovered" and event_emitter is not None:
                event_emitter(name, payload)

        super().__init__(event_emitter=emit, **kwargs)


def test_an_underrun_that_never_ends_is_found() -> None:
    found = _fuzz("buffer", _broken("never_recovers", StreamingBuffer=_NeverRecovers))
    assert found == {("StreamingBuffer", "underrun_visible", "read (full)")}
