"""Parameter meaning read from names, callable discovery and drawn calls."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stageflow_core
from harness.fuzz import arguments, runtime
from harness.fuzz.objects_machine import STATEFUL, pcm_width

CORE_SPECS = arguments.discover(stageflow_core, stateful=STATEFUL)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("high_water_mark", "percent"), ("low_water_mark", "percent"),
        ("max_duration_ms", "duration"), ("blocked_ms", "duration"), ("timeout", "duration"),
        ("duration_hint_ms", "duration"), ("timestamp_ms", "timestamp"),
        ("max_size", "capacity"), ("sample_rate", "capacity"), ("channels", "capacity"),
        ("chunk_size", "capacity"), ("max_bytes", "capacity"), ("bytes_per_sample", "capacity"),
        ("inbound_max_chunks", "capacity"), ("queue_size", "level"), ("byte_count", "level"),
        ("overflow", "policy"), ("inbound_overflow", "policy"), ("format", "format"),
        ("sequence", None), ("event_emitter", None),
    ],
)
def test_a_parameter_means_what_its_name_says(name: str, kind: str | None) -> None:
    assert arguments.kind_of(name) == kind


def test_a_parameter_with_a_bool_default_is_a_flag_not_a_policy() -> None:
    assert arguments.kind_of("drop_on_overflow", False) is None


def test_discovery_covers_constructors_functions_and_methods() -> None:
    operations = {spec.operation for spec in CORE_SPECS}
    assert {"BackpressureMonitor()", "StreamConfig()", "ChunkQueue()", "StreamingBuffer()",
            "AudioChunk()", "encode_audio_for_logging", "calculate_audio_duration_ms",
            "record_put", "record_blocked"} <= operations


def test_discovery_leaves_out_snapshots_exceptions_enums_and_machine_driven_methods() -> None:
    components = {spec.component for spec in CORE_SPECS}
    assert not components & {"QueueStatistics", "BufferStatistics", "MonitorStatistics",
                              "BackpressureStats", "QueueFull", "QueueClosed", "AudioFormat",
                              "OverflowPolicy"}
    assert all(spec.operation.endswith("()") for spec in CORE_SPECS
               if spec.component in STATEFUL)


def _same(a: Any, b: Any) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a)
                      and math.isnan(b))


@settings(max_examples=200, derandomize=True, deadline=None)
@given(data=st.data())
def test_a_drawn_call_is_refused_by_stageflow_core_exactly_when_it_is_bad(
    data: st.DataObject,
) -> None:
    spec = data.draw(st.sampled_from(CORE_SPECS))
    values, valid, _ = arguments.draw_call(data, spec)
    got = runtime.construct(lambda: arguments.call(spec, values))
    assert got == ("made" if valid else "raised:refused"), (spec.operation, values)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(data=st.data())
def test_the_argument_code_of_a_drawn_call_evaluates_to_its_values(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(CORE_SPECS))
    values, _, code = arguments.draw_call(data, spec)
    evaluated = eval(f"dict({code})", {})  # the fuzzer's own code, as a snippet runs it
    assert evaluated.keys() == values.keys()
    assert all(_same(evaluated[k], values[k]) for k in values)


@pytest.mark.parametrize(("fmt", "width"), [("pcm_16", 2), ("pcm_24", 3), ("float_32", 4),
                                            ("mp3", None), ("ogg_opus", None), ("wav", None)])
def test_pcm_widths_come_from_the_format_name(fmt: str, width: int | None) -> None:
    assert pcm_width(fmt) == width
