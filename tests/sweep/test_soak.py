"""Soaks: ``run --duration`` on an open-ended scenario gives a memory trend with its
confidence and a leak verdict; a leaking target is caught with the site that grew, a clean
one is not blamed; bad input exits 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.results import load_results
from harness.soak import fit_trend, leak_verdict, parse_duration


def test_durations_in_the_units_people_write() -> None:
    assert parse_duration("90s") == 90.0
    assert parse_duration("10m") == 600.0
    assert parse_duration("1h30m") == 5400.0
    assert parse_duration("2.5") == 2.5
    assert parse_duration("500ms") == 0.5
    for bad in ("0", "-3s", "ten minutes", "5x", "10m junk"):
        with pytest.raises(HarnessError, match="--duration"):
            parse_duration(bad)


def test_the_trend_is_per_minute_with_an_interval_that_holds_the_true_slope() -> None:
    rng = np.random.default_rng(5)
    t = np.linspace(0, 120, 40)  # two minutes
    y = 50e6 + 1e6 * (t / 60) + rng.normal(0, 2e5, t.size)  # +1 MB/min with noise
    trend = fit_trend(t, y)
    assert trend is not None
    low, high = trend.ci95
    assert low < 1e6 < high
    assert high - low < 4e5
    assert leak_verdict(trend, tolerance=64 * 1024)[0] == "leak"


def test_a_flat_series_is_flat_and_a_short_noisy_one_inconclusive() -> None:
    rng = np.random.default_rng(6)
    t = np.linspace(0, 600, 30)
    flat = fit_trend(t, 30e6 + rng.normal(0, 1e4, t.size))
    assert leak_verdict(flat)[0] == "flat"
    noisy = fit_trend(t[:6] / 100, 30e6 + rng.normal(0, 5e6, 6))
    verdict, reason = leak_verdict(noisy)
    assert verdict == "inconclusive" and "soak longer" in reason
    assert leak_verdict(fit_trend(t[:3], [1.0, 2.0, 3.0]))[0] == "inconclusive"


def _soak(tmp_path: Path, *argv: str) -> tuple[int, dict]:
    code = main(["run", "steady_queue", "--quick", "--seed", "1", "--no-ledger",
                 "--results-dir", str(tmp_path), "--param", "rate_cps=800",
                 "--scenarios", "sweep_toys", *argv])
    return code, load_results(tmp_path / "latest.json")["scenarios"][0]


def test_a_leaking_target_is_caught_with_the_site_that_grew(tmp_path: Path) -> None:
    code, entry = _soak(tmp_path, "--target", "sweep_toys:leaky_target", "--duration", "3s")
    soak = entry["soak"]
    assert soak["verdict"] == "leak", soak["reason"]
    assert soak["trend"]["target"]["ci95"][0] > 64 * 1024
    assert soak["top_growth"][0]["site"].endswith("sweep_toys.py:" + str(_leak_line()))
    check = next(i for i in entry["invariants"] if i["name"] == "memory_trend")
    assert not check["passed"] and "sweep_toys.py" in check["detail"]
    assert entry["status"] == "fail" and code == 1
    assert entry["params"]["duration_s"] == 3.0


def test_a_clean_target_is_not_blamed(tmp_path: Path) -> None:
    _code, entry = _soak(tmp_path, "--duration", "3s")
    assert entry["soak"]["verdict"] in ("flat", "inconclusive"), entry["soak"]["reason"]
    check = next(i for i in entry["invariants"] if i["name"] == "memory_trend")
    assert check["passed"]
    assert entry["soak"]["samples"] >= 5


def _leak_line() -> int:
    source = (Path(__file__).parent / "sweep_toys.py").read_text().splitlines()
    return next(i for i, line in enumerate(source, 1) if "# the leak" in line)


@pytest.mark.parametrize(("argv", "message"), [
    (["baseline", "--duration", "10s"], "scenario 'baseline' cannot run open-ended"),
    (["steady_queue", "--duration", "soon"], "--duration 'soon': expected"),
    (["steady_queue", "--duration", "10s", "--isolate"], "--duration with --isolate"),
    (["steady_queue", "--duration", "10s", "--param", "duration_s=3"],
     "--duration and --param duration_s"),
])
def test_bad_soak_input_exits_2_and_runs_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        message: str) -> None:
    code = main(["run", *argv, "--quick", "--no-ledger", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "latest.json").exists()
