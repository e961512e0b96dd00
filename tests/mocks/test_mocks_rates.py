"""Rate models: intended offsets (count, order, mean rate, shape) and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mocks.rates import BurstyRate, ConstantRate, JitteredRate, RampRate, RateModel, StallRate

MODELS: list[RateModel] = [
    ConstantRate(1000),
    JitteredRate(1000, jitter=0.5, seed=3),
    BurstyRate(1000, burst_size=8, seed=3),
    RampRate(200, 2000),
    RampRate(2000, 200),
    StallRate(1000, stall_at=100, stall_ms=250),
]


def _mean_rate(offsets: np.ndarray) -> float:
    return (offsets.size - 1) / (offsets[-1] / 1e9)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_offsets_have_the_count_asked_start_at_zero_and_never_decrease(model: RateModel) -> None:
    offsets = model.offsets_ns(1001)
    assert offsets.dtype == np.int64
    assert offsets.shape == (1001,)
    assert offsets[0] == 0
    assert np.all(np.diff(offsets) >= 0)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_zero_chunks_give_an_empty_schedule(model: RateModel) -> None:
    assert model.offsets_ns(0).shape == (0,)


def test_constant_rate_spaces_chunks_evenly() -> None:
    assert ConstantRate(400).offsets_ns(4).tolist() == [0, 2_500_000, 5_000_000, 7_500_000]


def test_jittered_rate_keeps_the_mean_rate_and_varies_the_gaps() -> None:
    offsets = JitteredRate(2000, jitter=0.3, seed=1).offsets_ns(5001)
    gaps = np.diff(offsets)
    assert _mean_rate(offsets) == pytest.approx(2000, rel=0.01)
    assert gaps.min() >= 0.7 * 500_000 - 1 and gaps.max() <= 1.3 * 500_000 + 1
    assert gaps.std() > 50_000


def test_jittered_rate_is_deterministic_per_seed() -> None:
    assert np.array_equal(JitteredRate(100, seed=4).offsets_ns(50),
                          JitteredRate(100, seed=4).offsets_ns(50))
    assert not np.array_equal(JitteredRate(100, seed=4).offsets_ns(50),
                              JitteredRate(100, seed=5).offsets_ns(50))


def test_bursty_rate_sends_whole_bursts_at_one_instant_at_the_mean_rate() -> None:
    offsets = BurstyRate(1000, burst_size=10, seed=2).offsets_ns(10_000)
    bursts = offsets.reshape(-1, 10)
    assert np.all(bursts == bursts[:, :1])  # every chunk of a burst is due together
    assert np.all(np.diff(bursts[:, 0]) > 0)
    assert (bursts[-1, 0] / 1e9) == pytest.approx(10.0 - 0.01, rel=0.05)


def test_ramp_rate_starts_and_ends_at_the_given_rates() -> None:
    offsets = RampRate(100, 1000).offsets_ns(2000)
    gaps = np.diff(offsets) / 1e9
    assert 1 / gaps[0] == pytest.approx(100, rel=0.05)
    assert 1 / gaps[-1] == pytest.approx(1000, rel=0.05)
    assert offsets[-1] / 1e9 == pytest.approx(2 * 2000 / 1100, rel=0.01)


def test_stall_rate_inserts_one_gap_of_stall_ms_at_stall_at() -> None:
    gaps = np.diff(StallRate(100, stall_at=5, stall_ms=300).offsets_ns(10))
    assert gaps.tolist() == [10_000_000] * 4 + [310_000_000] + [10_000_000] * 4


@settings(max_examples=50, deadline=None, derandomize=True)
@given(start=st.floats(0.01, 1e5), end=st.floats(0.01, 1e5), count=st.integers(0, 3000))
def test_any_ramp_is_ordered(start: float, end: float, count: int) -> None:
    offsets = RampRate(start, end).offsets_ns(count)
    assert offsets.shape == (count,)
    assert np.all(np.diff(offsets) >= 0)


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda r: ConstantRate(r), "rate_cps"),
        (lambda r: JitteredRate(r), "rate_cps"),
        (lambda r: BurstyRate(r, 4), "rate_cps"),
        (lambda r: RampRate(r, 10), "start_cps"),
        (lambda r: RampRate(10, r), "end_cps"),
        (lambda r: StallRate(r, 1, 1), "rate_cps"),
    ],
)
def test_bad_rates_are_refused_naming_the_argument(make, name: str, bad: float) -> None:
    with pytest.raises(ValueError, match=name):
        make(bad)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: JitteredRate(10, jitter=1.0), "jitter"),
        (lambda: BurstyRate(10, 0), "burst_size"),
        (lambda: StallRate(10, -1, 5), "stall_at"),
        (lambda: StallRate(10, 1, float("nan")), "stall_ms"),
    ],
)
def test_bad_shape_parameters_are_refused_naming_the_argument(make, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        make()


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        ConstantRate(10).offsets_ns(-1)
