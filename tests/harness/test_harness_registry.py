"""The scenario registry and the judging of hypotheses H1-H8."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.hypotheses import evaluate_hypotheses
from scenarios.registry import (
    UnknownScenario,
    UnknownSuite,
    get_scenario,
    scenario,
    suite_members,
    summarize_description,
    unregister,
)


@pytest.fixture
def throwaway() -> Iterator[str]:
    yield "reg_throwaway"
    unregister("reg_throwaway")


async def _noop(ctx: Any) -> None:
    return None


def test_decorator_registers_name_category_hypotheses_and_params(throwaway: str) -> None:
    scenario(name=throwaway, category="reliability", hypotheses=("H1", "H8"),
             quick={"rate": 1.0}, full={"rate": 5.0}, suites=("mine",))(_noop)
    spec = get_scenario(throwaway)
    assert (spec.category, spec.hypotheses) == ("reliability", ("H1", "H8"))
    assert spec.params(quick=True) == {"rate": 1.0}
    assert spec.params(quick=False, overrides={"rate": 2}) == {"rate": 2.0}
    assert [s.name for s in suite_members("mine")] == [throwaway]


def test_a_taken_name_is_refused(throwaway: str) -> None:
    scenario(name=throwaway, category="correctness")(_noop)

    async def other(ctx: Any) -> None:
        return None

    with pytest.raises(ValueError, match="already registered"):
        scenario(name=throwaway, category="correctness")(other)


@pytest.mark.parametrize("kwargs, message", [
    ({"category": "speed"}, "category must be one of"),
    ({"category": "correctness", "hypotheses": ("H9",)}, "unknown hypotheses"),
    ({"category": "correctness", "quick": {"a": 1}, "full": {"b": 1}}, "differ"),
])
def test_bad_declarations_are_refused(throwaway: str, kwargs: dict[str, Any],
                                      message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scenario(name=throwaway, **kwargs)(_noop)


def test_only_async_functions_are_scenarios(throwaway: str) -> None:
    with pytest.raises(TypeError, match="async def"):
        scenario(name=throwaway, category="correctness")(lambda ctx: None)  # type: ignore[arg-type]


@pytest.mark.parametrize("overrides, message", [
    ({"rate": -1.0}, "must be > 0"),
    ({"rate": "fast"}, "must be a number"),
    ({"count": 2.5}, "must be an integer"),
    ({"delay": -3}, "must be >= 0"),
    ({"nope": 1}, "has no parameter 'nope'"),
])
def test_bad_overrides_are_refused_naming_the_parameter(
        throwaway: str, overrides: dict[str, Any], message: str) -> None:
    scenario(name=throwaway, category="correctness",
             quick={"rate": 1.0, "count": 3, "delay": 0.0}, positive=("rate",))(_noop)
    with pytest.raises(ValueError, match=message):
        get_scenario(throwaway).params(quick=True, overrides=overrides)


def test_unknown_names_list_what_is_known() -> None:
    with pytest.raises(UnknownScenario, match=r"known: .*baseline"):
        get_scenario("nope")
    with pytest.raises(UnknownSuite, match=r"known: .*transform007"):
        suite_members("nope")


def _entry(name: str, status: str, hyps: tuple[str, ...], failed: dict[str, list[str]] = (),
           **extra: Any) -> dict[str, Any]:
    invariants = [{"name": n, "passed": False, "detail": "broken", "hypotheses": h}
                  for n, h in dict(failed).items()]
    return {"name": name, "status": status, "hypotheses": list(hyps), "invariants": invariants,
            **extra}


def test_hypotheses_refuted_only_by_invariants_bearing_on_them() -> None:
    entries = [_entry("q", "fail", ("H1", "H3"), {"no_hang": ["H1"]}, cut_at_deadline=False),
               _entry("b", "pass", ("H2",))]
    result = evaluate_hypotheses(entries)
    assert result["H1"]["status"] == "refuted"
    assert result["H1"]["evidence"] == "q fail: no_hang: broken"
    assert result["H3"]["status"] == "supported"
    assert result["H2"]["status"] == "supported"
    assert result["H6"]["status"] == "untested"


def test_hypotheses_inconclusive_when_cut_invalid_or_error() -> None:
    entries = [_entry("q", "fail", ("H1", "H3"), {"no_hang": ["H1"]}, cut_at_deadline=True),
               _entry("h", "invalid", ("H7",), invalid_reason="saturated"),
               _entry("e", "error", ("H6",), error="RuntimeError: boom")]
    result = evaluate_hypotheses(entries)
    assert result["H3"]["status"] == "inconclusive"
    assert result["H7"]["status"] == "inconclusive"
    assert result["H6"]["evidence"] == "e error: RuntimeError: boom"


def test_hypotheses_of_a_skipped_scenario_are_inconclusive_naming_the_capability() -> None:
    entries = [_entry("d", "skipped", ("H2",), skipped=[{"capability": "duplex", "reason": ""}]),
               _entry("b", "pass", ("H5",))]
    result = evaluate_hypotheses(entries)
    assert result["H2"]["status"] == "inconclusive"
    assert result["H2"]["evidence"] == "d skipped: the target lacks duplex"
    assert result["H5"]["status"] == "supported"


@pytest.mark.parametrize("description, summary", [
    ("Producer faster than consumer: with drop_oldest every chunk...", "Producer faster than "
                                                                       "consumer"),
    ("Load (full: 51,000 chunks/s) from many producers: nothing lost.",
     "Load (full: 51,000 chunks/s) from many producers"),
    ("Queues of 1 and 10,000 items. Then more.", "Queues of 1 and 10,000 items"),
    ("Note: a short lead is not a summary. More.", "Note: a short lead is not a summary"),
    ("Uses e.g. queue.put; checks more", "Uses e.g. queue.put"),
])
def test_summary_is_the_lead_of_the_description(description: str, summary: str) -> None:
    assert summarize_description(description) == summary
