"""The threshold grammar: what parses, what is refused and how, and metric aliases."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import EXIT_USAGE
from harness.thresholds import OPERATORS, ThresholdError, parse_threshold, resolve_metric


@pytest.mark.parametrize(
    ("text", "scenario", "path", "op", "factor", "offset"),
    [
        ("latency.p99_ms < 50", None, ("metrics", "latency_ms", "p99"), "<", None, 50.0),
        ("lost == 0", None, ("metrics", "lost"), "==", None, 0.0),
        ("throughput_cps >= 0.9 * baseline", None, ("metrics", "throughput_cps"), ">=", 0.9, 0.0),
        ("throughput>=0.9*baseline", None, ("metrics", "throughput_cps"), ">=", 0.9, 0.0),
        ("high_load:latency.p999_ms <= baseline + 2.5", "high_load",
         ("metrics", "latency_ms", "p999"), "<=", 1.0, 2.5),
        ("service.p50_ms < baseline * 1.2 - 0.01", None, ("metrics", "service_ms", "p50"), "<",
         1.2, -0.01),
        ("slo.drop_ratio != 1e-3", None, ("metrics", "slo", "drop_ratio"), "!=", None, 0.001),
        ("memory.peak_bytes > -1", None, ("metrics", "memory", "peak_bytes"), ">", None, -1.0),
        ("duration_ms < 5000", None, ("duration_ms",), "<", None, 5000.0),
        ("latency_ms.p99 < 5", None, ("metrics", "latency_ms", "p99"), "<", None, 5.0),
    ],
)
def test_valid_threshold_parses(
    text: str, scenario: str | None, path: tuple[str, ...], op: str, factor: float | None,
    offset: float,
) -> None:
    threshold = parse_threshold(text)
    assert (threshold.scenario, threshold.metric.path, threshold.op) == (scenario, path, op)
    assert (threshold.limit.factor, threshold.limit.offset) == (factor, offset)


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("latency.p99_ms << 5", 17, "expected a number or 'baseline', found '<'"),
        ("lost = 0", 6, "unexpected character '='"),
        ("lost == 0 0", 11, "expected '* baseline' or the end"),
        ("lost <", 7, "found the end"),
        ("< 5", 1, "expected a metric name"),
        ("baseline > 5", 1, "'baseline' belongs on the right-hand side"),
        ("lost < 2 * bogus", 12, "expected 'baseline' after '*'"),
        ("lost < baseline *", 18, "expected a number after 'baseline *'"),
        ("lost < baseline + x", 19, "expected a number after '+'"),
        ("__import__('os').system('x') < 1", 11, "unexpected character '('"),
        ("lost < 1e999", 8, "number out of range"),
        ("latency. < 5", 10, "expected a name after '.'"),
    ],
)
def test_bad_threshold_is_refused_with_the_column(text: str, column: int, reason: str) -> None:
    with pytest.raises(ThresholdError) as caught:
        parse_threshold(text, source="gate.toml thresholds[0]")
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE
    assert message.startswith(f"gate.toml thresholds[0]: bad threshold {text!r}")
    assert reason in message
    assert message.endswith(f"at column {column}")


def test_empty_threshold_is_refused() -> None:
    with pytest.raises(ThresholdError, match="empty threshold"):
        parse_threshold("   ")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(codec="ascii"), max_size=40))
def test_any_text_parses_or_raises_threshold_error(text: str) -> None:
    with contextlib.suppress(ThresholdError):
        parse_threshold(text)


_names = st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z")
_numbers = st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    scenario=st.none() | _names,
    metric=st.lists(_names.filter(lambda n: n != "baseline"), min_size=1, max_size=3),
    op=st.sampled_from(sorted(OPERATORS)),
    factor=st.none() | _numbers,
    offset=_numbers,
)
def test_canonical_form_parses_back_to_the_same_threshold(
    scenario: str | None, metric: list[str], op: str, factor: float | None, offset: float
) -> None:
    if scenario == "baseline":
        scenario = None
    scope = f"{scenario}:" if scenario else ""
    limit = str(offset) if factor is None else f"{factor} * baseline + {offset}"
    first = parse_threshold(f"{scope}{'.'.join(metric)} {op} {limit}")
    again = parse_threshold(first.describe())
    assert (again.scenario, again.metric, again.op) == (first.scenario, first.metric, first.op)
    assert again.limit.factor == pytest.approx(first.limit.factor)
    assert again.limit.offset == pytest.approx(first.limit.offset)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("latency.p50_ms", ("metrics", "latency_ms", "p50")),
        ("latency.max_ms", ("metrics", "latency_ms", "max")),
        ("service.p99_ms", ("metrics", "service_ms", "p99")),
        ("throughput", ("metrics", "throughput_cps")),
        ("lost", ("metrics", "lost")),
        ("slo.loop_lag_ms_max", ("metrics", "slo", "loop_lag_ms_max")),
        ("metrics.sent", ("metrics", "sent")),
    ],
)
def test_metric_names_resolve_to_paths_in_a_scenario(name: str, path: tuple[str, ...]) -> None:
    assert resolve_metric(name).path == path


def test_only_throughput_is_normalisable() -> None:
    assert resolve_metric("throughput").throughput
    assert not resolve_metric("latency.p99_ms").throughput
