"""Reading and expanding a sweep: grid and random cells, and bad input refused before
anything runs (one line naming the file, key or value)."""

from __future__ import annotations

from pathlib import Path

import pytest

import scenarios  # noqa: F401  (registers the built-in scenarios)
from harness.errors import HarnessError
from harness.sweep.spec import (
    Cell,
    SweepSpec,
    load_sweep_file,
    parse_axis,
    parse_seeds,
    plan_cells,
)
from scenarios.registry import get_scenario

EXAMPLE = Path(__file__).parents[2] / "examples" / "sweep.toml"


def _spec(**kwargs: object) -> SweepSpec:
    spec = SweepSpec(scenarios=["baseline"], quick=True)
    for key, value in kwargs.items():
        setattr(spec, key, value)
    return spec


def _cells(spec: SweepSpec) -> list[Cell]:
    return plan_cells(spec, [get_scenario(name) for name in spec.scenarios])


def test_grid_is_every_combination_times_targets_and_seeds() -> None:
    spec = _spec(targets=["stageflow_core", "harness_toys:good_target"], seeds=[1, 2],
                 axes=[parse_axis("max_size=10,100"), parse_axis("rate_cps=1000,2000,4000")])
    cells = _cells(spec)
    assert len(cells) == 2 * 2 * 3 * 2
    assert [c.index for c in cells] == list(range(24))
    assert cells[0].params == {"max_size": 10, "rate_cps": 1000.0}
    assert {c.seed for c in cells} == {1, 2}
    assert len({(c.target, tuple(sorted(c.params.items())), c.seed) for c in cells}) == 24


def test_an_axis_only_multiplies_the_scenarios_that_have_it() -> None:
    spec = _spec(scenarios=["baseline", "buffer_underrun"],
                 axes=[parse_axis("jitter=0.0,0.2")])
    cells = _cells(spec)
    assert [(c.scenario, dict(c.params)) for c in cells] == [
        ("baseline", {"jitter": 0.0}), ("baseline", {"jitter": 0.2}), ("buffer_underrun", {})]


def test_values_take_the_parameters_type_and_ranges_expand() -> None:
    cells = _cells(_spec(axes=[parse_axis("max_size=log:10..1000/3"),
                               parse_axis("rate_cps=500..1500/3")]))
    assert sorted({c.params["max_size"] for c in cells}) == [10, 100, 1000]
    assert all(isinstance(c.params["max_size"], int) for c in cells)
    assert sorted({c.params["rate_cps"] for c in cells}) == [500.0, 1000.0, 1500.0]


def test_a_random_sample_is_seeded_and_inside_its_ranges() -> None:
    def draw(seed: int) -> list[dict[str, object]]:
        spec = _spec(random_points=6, random_seed=seed,
                     axes=[parse_axis("max_size=5..50"), parse_axis("rate_cps=[800.0, 1600.0]")])
        return [dict(c.params) for c in _cells(spec)]

    first = draw(3)
    assert first == draw(3)
    assert first != draw(4)
    assert all(5 <= p["max_size"] <= 50 and isinstance(p["max_size"], int) for p in first)
    assert all(p["rate_cps"] in (800.0, 1600.0) for p in first)


def test_a_cell_replays_with_the_run_command() -> None:
    cell = _cells(_spec(seeds=[7], axes=[parse_axis("max_size=10")]))[0]
    assert cell.reproduction() == ("stageflow-stress run baseline --target stageflow_core "
                                   "--seed 7 --quick --param max_size=10")


def test_seeds_lists_and_ranges() -> None:
    assert parse_seeds("1,2,5") == [1, 2, 5]
    assert parse_seeds("0..3") == [0, 1, 2, 3]


@pytest.mark.parametrize(("name", "count"), [("sweep.toml", 12), ("sweep-bench.toml", 32)])
def test_the_documented_example_files_expand(name: str, count: int) -> None:
    spec = load_sweep_file(EXAMPLE.parent / name)
    cells = plan_cells(spec, [get_scenario(n) for n in spec.scenarios])
    assert len(cells) == count
    assert {c.scenario for c in cells} == set(spec.scenarios)


@pytest.mark.parametrize(("text", "message"), [
    ("scenarios = ['baseline']\nsurprise = 1\n", "unknown key 'surprise'"),
    ("scenarios = ['baseline']\n[grid]\nmax_sise = [1, 2]\n",
     "unknown parameter 'max_sise': no selected scenario (baseline) has it"),
    ("scenarios = ['baseline']\n[grid]\nmax_size = []\n",
     "parameter 'max_size' has an empty list of values"),
    ("scenarios = ['baseline']\n[grid]\nmax_size = [10, -5]\n",
     "parameter 'max_size' must be > 0, got -5"),
    ("scenarios = ['baseline']\n[grid]\nmax_size = [10, 2.5]\n",
     "parameter 'max_size' must be an integer, got 2.5"),
    ("scenarios = ['baseline']\n[grid]\nmax_size = [10, 10]\n", "lists 10 twice"),
    ("scenarios = ['baseline']\n[grid]\nrate_cps = {min = 9, max = 3, steps = 2}\n",
     "range min 9 is above max 3"),
    ("scenarios = ['baseline']\n[grid]\nrate_cps = {min = 1, max = 3}\n",
     "a grid range needs steps"),
    ("scenarios = []\n", "no scenarios to sweep"),
    ("scenarios = ['baseline']\nseeds = []\n", "no seeds to sweep"),
    ("scenarios = ['baseline']\n[random]\npoints = 0\n", "points must be an integer >= 1"),
    ("scenarios = ['baseline']\n[grid]\nx = 1\n[random]\npoints = 2\n",
     "either [grid] or [random]"),
    ("scenarios = ['baseline'\n", "is not valid TOML"),
])
def test_bad_sweep_files_are_refused_with_one_line(tmp_path: Path, text: str,
                                                   message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(HarnessError) as info:
        spec = load_sweep_file(path)
        plan_cells(spec, [get_scenario(n) for n in spec.scenarios])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "message"), [
    ("max_size", "expected KEY=VALUES"),
    ("max_size=", "empty list of values"),
    ("rate_cps=9..x", "expected LO..HI[/STEPS]"),
    ("rate_cps=log:0..10/3", "a log range needs min > 0"),
])
def test_bad_axes_on_the_command_line(text: str, message: str) -> None:
    with pytest.raises(HarnessError, match=message.replace("[", r"\[").replace("]", r"\]")
                       .replace(".", r"\.")):
        parse_axis(text)
