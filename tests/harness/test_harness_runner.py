"""The runner: deadlines cut hangs, crashes are recorded, the run goes on, seeds replay."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from harness_toys import SEEN_LOOPS, ToyTarget

from harness.runner import Runner, derive_seed, run_scenario, summarize
from scenarios.registry import get_scenario

TOYS_DIR = str(Path(__file__).parent)


def _runner(mode: str = "good", **kwargs: Any) -> Runner:
    return Runner(target=ToyTarget(mode), target_spec=f"harness_toys:{mode}_target", quick=True,
                  **kwargs)


def _specs(*names: str) -> list[Any]:
    return [get_scenario(name) for name in names]


def test_hang_is_cut_at_the_deadline_and_the_run_goes_on() -> None:
    entries = _runner("hang", overrides={"consumer_delay_ms": 5.0}, timeout_s=1.0).run(
        _specs("toy_stream", "toy_loop"))
    hung, after = entries
    assert hung["status"] == "fail"
    assert hung["cut_at_deadline"] is True
    assert next(inv["name"] for inv in hung["invariants"] if not inv["passed"]) == "no_hang"
    assert after["status"] == "pass"


def test_crash_is_recorded_with_its_exception_and_the_run_goes_on() -> None:
    crashed, after = _runner().run(_specs("toy_crash", "toy_loop"))
    assert crashed["status"] == "error"
    assert crashed["error"] == "RuntimeError: boom"
    assert "raise RuntimeError" in crashed["traceback"]
    assert after["status"] == "pass"


def test_task_that_ignores_cancellation_is_abandoned_as_timeout() -> None:
    entry = _runner().run_one(get_scenario("toy_stubborn"), 0)
    assert entry["status"] == "timeout"
    no_hang = entry["invariants"][[i["name"] for i in entry["invariants"]].index("no_hang")]
    assert "ignored cancellation: stubborn" in no_hang["detail"]


def test_repeats_and_seeds_are_recorded_and_replay() -> None:
    entries = _runner(seed=5, repeat=2).run(_specs("toy_loop"))
    assert [e["repeat_index"] for e in entries] == [0, 1]
    assert [e["seed"] for e in entries] == [derive_seed(5, "toy_loop", 0),
                                            derive_seed(5, "toy_loop", 1)]
    assert entries[0]["seed"] != entries[1]["seed"]
    replay = _runner(seed=5).run(_specs("toy_loop"))[0]
    assert replay["metrics"]["notes"]["first_draw"] == entries[0]["metrics"]["notes"][
        "first_draw"]


def test_every_attempt_runs_on_a_fresh_event_loop_closed_afterwards() -> None:
    SEEN_LOOPS.clear()
    _runner(repeat=2).run(_specs("toy_loop"))
    first, second = SEEN_LOOPS
    assert first is not second
    assert first.is_closed() and second.is_closed()


def test_missing_required_capability_is_a_skip_not_a_crash() -> None:
    entry = run_scenario(get_scenario("toy_requires"), ToyTarget(), quick=True, seed=0)
    assert entry["status"] == "skipped"
    assert [s["capability"] for s in entry["skipped"]] == ["duplex"]
    assert entry["invalid_reason"] is None


def test_skipped_attempts_are_counted_apart_from_invalid_ones() -> None:
    entries = [run_scenario(get_scenario(name), ToyTarget(), quick=True, seed=0)
               for name in ("toy_requires", "toy_invalid")]
    counts = summarize(entries)
    assert (counts["skipped"], counts["invalid"], counts["passed"]) == (1, 1, 0)


def test_capability_missing_raised_by_the_target_is_a_skip() -> None:
    entry = run_scenario(get_scenario("toy_capability"), ToyTarget(), quick=True, seed=0)
    assert entry["status"] == "skipped"
    assert entry["skipped"][0]["capability"] == "overflow:drop_oldest"
    assert entry["error"] is None


def test_generator_that_cannot_keep_its_schedule_makes_the_run_invalid() -> None:
    entry = run_scenario(get_scenario("toy_saturated"), ToyTarget(), quick=True, seed=0)
    assert entry["status"] == "invalid"
    assert entry["metrics"]["generator"]["saturated"] is True
    assert "fell behind its own schedule" in entry["invalid_reason"]


def test_scenario_can_declare_its_run_invalid() -> None:
    entry = run_scenario(get_scenario("toy_invalid"), ToyTarget(), quick=True, seed=0)
    assert (entry["status"], entry["invalid_reason"]) == (
        "invalid", "the generator was told to give up")


def test_isolated_child_that_wedges_its_loop_is_ended_with_its_stack(
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = os.pathsep.join(p for p in (TOYS_DIR, os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    runner = _runner(isolate=True, modules=["harness_toys"], timeout_s=1.0)
    entry = runner.run_one(get_scenario("toy_wedge"), 0)
    assert entry["status"] == "timeout"
    assert "event loop wedged" in entry["invariants"][0]["detail"]
    assert "in toy_wedge" in entry["invariants"][0]["stack"]


def test_isolated_child_returns_the_same_entry_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    path = os.pathsep.join(p for p in (TOYS_DIR, os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    entry = _runner(isolate=True, modules=["harness_toys"]).run_one(get_scenario("toy_stream"), 0)
    assert entry["status"] == "pass"
    assert entry["isolated"] is True
    assert entry["metrics"]["delivered"] == 60


def test_crash_in_a_watched_task_ends_the_scenario_as_error_not_hang() -> None:
    entry = _runner().run_one(get_scenario("toy_task_crash"), 0)
    assert entry["status"] == "error"
    assert entry["error"] == "ValueError: worker broke in task 'worker'"
    assert entry["cut_at_deadline"] is False
