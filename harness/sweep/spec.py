"""What a sweep is: scenario parameters x targets x seeds, expanded into cells.

A sweep is read from a TOML file (:func:`load_sweep_file`, see ``examples/sweep.toml`` and
docs/sweeps.md) and/or the command line (:func:`parse_axis`), then checked and expanded
by :func:`plan_cells` into :class:`Cell` s, each one normal run of one scenario against one
target with one run seed and the swept parameters as overrides.

Contracts:

- **Grid** (default): every combination of every axis's values. **Random**: ``points``
  parameter points drawn with ``numpy.random.default_rng(seed)`` (a list draws one of its
  values, a range ``{min, max}`` a uniform value, log-uniform with ``log = true``; an
  integer parameter gets integers). Either way each point runs on every target and seed.
- An axis applies to every selected scenario that has that parameter; a scenario without
  it runs once per combination of the axes it does have (no duplicate cells).
- **Checked before anything runs** (:class:`~harness.errors.HarnessError`, exit 2, one line
  naming the file, key or value): an unknown key, an unknown parameter (no selected
  scenario has it), an empty axis or an empty list of scenarios, targets or seeds, a value
  listed twice, a range whose ``min`` exceeds its ``max``, and a value outside what the
  scenario accepts for that parameter (its type, sign, ``positive`` and ``choices``).
- **Seeds**: a cell's ``seed`` is a *run* seed; its attempt seed is
  ``derive_seed(seed, scenario, 0)``, exactly what ``stageflow-stress run`` derives, so
  :meth:`Cell.reproduction` replays the cell alone and every executor gives the same cell
  the same seed.
"""

from __future__ import annotations

import itertools
import math
import shlex
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from harness.errors import HarnessError

__all__ = [
    "Axis",
    "Cell",
    "Range",
    "SweepSpec",
    "load_sweep_file",
    "parse_axis",
    "parse_seeds",
    "plan_cells",
    "unique_names",
]

_TOP_KEYS = ("scenarios", "targets", "seeds", "quick", "timeout", "modules", "grid", "random")
_RANDOM_KEYS = ("points", "seed", "params")
_RANGE_KEYS = ("min", "max", "steps", "log")


@dataclass(frozen=True)
class Range:
    """A numeric range: ``steps`` values evenly spaced (geometrically with ``log``) for a
    grid; a uniform (log-uniform) draw for a random sample."""

    low: float
    high: float
    steps: int | None = None
    log: bool = False

    def grid(self, integer: bool) -> list[Any]:
        """The ``steps`` values from ``low`` to ``high`` (rounded and deduplicated when the
        parameter is an integer)."""
        assert self.steps is not None
        if self.steps == 1:
            raw = [self.low]
        elif self.log:
            raw = list(np.geomspace(self.low, self.high, self.steps))
        else:
            raw = list(np.linspace(self.low, self.high, self.steps))
        values = [round(float(v)) if integer else round(float(v), 9) for v in raw]
        return list(dict.fromkeys(values))

    def draw(self, rng: np.random.Generator, integer: bool) -> Any:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return round(float(value)) if integer else round(float(value), 9)

    def describe(self) -> str:
        text = f"{'log:' if self.log else ''}{_num(self.low)}..{_num(self.high)}"
        return text + (f"/{self.steps}" if self.steps is not None else "")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass(frozen=True)
class Axis:
    """One swept parameter: a list of values, or a :class:`Range`."""

    name: str
    values: tuple[Any, ...] | None = None
    range: Range | None = None
    source: str = "--grid"

    def describe(self) -> str:
        if self.range is not None:
            return self.range.describe()
        return ",".join(orjson.dumps(v).decode() for v in self.values or ())


@dataclass
class SweepSpec:
    """A sweep as the user wrote it (not yet checked against the scenarios)."""

    scenarios: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=lambda: ["stageflow_core"])
    seeds: list[int] = field(default_factory=lambda: [0])
    quick: bool = False
    timeout_s: float | None = None
    modules: list[str] = field(default_factory=list)
    axes: list[Axis] = field(default_factory=list)
    random_points: int | None = None
    """None: a grid. Otherwise the number of parameter points to draw."""
    random_seed: int = 0
    source: str = "command line"

    def set_axis(self, axis: Axis) -> None:
        """Add ``axis``, replacing one of the same name (the command line wins over a file)."""
        self.axes = [a for a in self.axes if a.name != axis.name] + [axis]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenarios": list(self.scenarios), "targets": list(self.targets),
            "seeds": list(self.seeds), "quick": self.quick, "timeout_s": self.timeout_s,
            "modules": list(self.modules),
            "mode": "grid" if self.random_points is None else "random",
            "random": None if self.random_points is None else {
                "points": self.random_points, "seed": self.random_seed},
            "axes": [{"name": a.name, "spec": a.describe(),
                      "values": list(a.values) if a.values is not None else None}
                     for a in self.axes],
            "source": self.source,
        }


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: picklable, so any executor can carry it to a worker."""

    index: int
    target: str
    scenario: str
    params: Mapping[str, Any]
    seed: int
    quick: bool
    timeout_s: float | None = None
    modules: tuple[str, ...] = ()

    def reproduction(self) -> str:
        """The ``stageflow-stress run`` command that replays this cell alone."""
        parts = ["stageflow-stress", "run", self.scenario, "--target", self.target,
                 "--seed", str(self.seed)]
        if self.quick:
            parts.append("--quick")
        if self.timeout_s is not None:
            parts += ["--timeout", f"{self.timeout_s:g}"]
        for module in self.modules:
            parts += ["--scenarios", module]
        for key, value in self.params.items():
            parts += ["--param", f"{key}={orjson.dumps(value).decode()}"]
        return shlex.join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "target": self.target, "scenario": self.scenario,
                "params": dict(self.params), "seed": self.seed,
                "reproduction": self.reproduction()}


# --- reading ----------------------------------------------------------------------------------

def _parse_value(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _range_from_text(name: str, text: str, source: str) -> Range:
    log = text.startswith("log:")
    body = text[4:] if log else text
    bounds, _, steps_text = body.partition("/")
    low_text, _, high_text = bounds.partition("..")
    try:
        low, high = float(low_text), float(high_text)
        steps = int(steps_text) if steps_text else None
    except ValueError:
        raise HarnessError(f"{source} {name}={text}: expected LO..HI[/STEPS], e.g. "
                           "10..200/5 or log:10..1000/4") from None
    return _checked_range(name, low, high, steps, log, source)


def _checked_range(name: str, low: Any, high: Any, steps: Any, log: Any,
                   source: str) -> Range:
    where = f"{source}: parameter {name!r}"
    for label, value in (("min", low), ("max", high)):
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise HarnessError(f"{where}: range {label} must be a finite number, got {value!r}")
    if low > high:
        raise HarnessError(f"{where}: range min {_num(low)} is above max {_num(high)}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                              or steps < 1):
        raise HarnessError(f"{where}: range steps must be an integer >= 1, got {steps!r}")
    if not isinstance(log, bool):
        raise HarnessError(f"{where}: range log must be true or false, got {log!r}")
    if log and low <= 0:
        raise HarnessError(f"{where}: a log range needs min > 0, got {_num(low)}")
    return Range(float(low), float(high), steps, log)


def parse_axis(text: str, *, source: str = "--grid") -> Axis:
    """``KEY=V1,V2,...`` (each value JSON, else a string), ``KEY=[...]`` (a JSON list),
    ``KEY=LO..HI/STEPS`` or ``KEY=log:LO..HI/STEPS`` (a range).

    :raises HarnessError: no ``=``, an empty list, a repeated value or a bad range.
    """
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name:
        raise HarnessError(f"{source} {text!r}: expected KEY=VALUES")
    if ".." in raw and not raw.startswith(("[", '"')):
        return Axis(name, range=_range_from_text(name, raw, source), source=source)
    if raw.startswith("["):
        values = _parse_value(raw)
        if not isinstance(values, list):
            raise HarnessError(f"{source} {text!r}: not a JSON list")
    else:
        values = [_parse_value(part.strip()) for part in raw.split(",") if part.strip()]
    return _list_axis(name, values, source)


def _list_axis(name: str, values: list[Any], source: str) -> Axis:
    if not values:
        raise HarnessError(f"{source}: parameter {name!r} has an empty list of values")
    seen: set[bytes] = set()
    for value in values:
        key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        if key in seen:
            raise HarnessError(f"{source}: parameter {name!r} lists {key.decode()} twice")
        seen.add(key)
    return Axis(name, values=tuple(values), source=source)


def _axis_from_toml(name: str, value: Any, source: str) -> Axis:
    if isinstance(value, list):
        return _list_axis(name, value, source)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(_RANGE_KEYS))
        if unknown:
            raise HarnessError(f"{source}: parameter {name!r}: unknown range key {unknown[0]!r} "
                               f"(known: {', '.join(_RANGE_KEYS)})")
        if "min" not in value or "max" not in value:
            raise HarnessError(f"{source}: parameter {name!r}: a range needs min and max")
        rng = _checked_range(name, value["min"], value["max"], value.get("steps"),
                             value.get("log", False), source)
        return Axis(name, range=rng, source=source)
    raise HarnessError(f"{source}: parameter {name!r} must be a list of values or a range "
                       f"{{min, max, steps}}, got {value!r}")


def _string_list(doc: Mapping[str, Any], key: str, source: str) -> list[str]:
    value = doc[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise HarnessError(f"{source}: {key} must be a list of names, got {value!r}")
    return list(value)


def _seed_list(value: Any, source: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise HarnessError(f"{source}: seeds must be a list of integers, got {value!r}")
    if any(v < 0 for v in value):
        raise HarnessError(f"{source}: seeds must be >= 0, got {value!r}")
    if len(set(value)) != len(value):
        raise HarnessError(f"{source}: a seed is listed twice in {value!r}")
    return list(value)


def parse_seeds(text: str) -> list[int]:
    """``--seeds 1,2,3`` or ``--seeds 0..7`` (inclusive).

    :raises HarnessError: not integers, negative or repeated.
    """
    try:
        if ".." in text:
            low, _, high = text.partition("..")
            values = list(range(int(low), int(high) + 1))
        else:
            values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise HarnessError(f"--seeds {text!r}: expected N,N,... or LO..HI") from None
    if not values:
        raise HarnessError(f"--seeds {text!r}: no seeds")
    return _seed_list(values, "--seeds")


def load_sweep_file(path: Path) -> SweepSpec:
    """Read a sweep file (TOML; see docs/sweeps.md for the keys).

    :raises HarnessError: unreadable, not TOML, an unknown key or a badly typed value;
        the message names the file and the key.
    """
    source = str(path)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise HarnessError(f"sweep file {source} does not exist") from None
    except OSError as exc:
        raise HarnessError(f"cannot read sweep file {source}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise HarnessError(f"sweep file {source} is not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - set(_TOP_KEYS))
    if unknown:
        raise HarnessError(f"{source}: unknown key {unknown[0]!r} "
                           f"(known: {', '.join(_TOP_KEYS)})")
    spec = SweepSpec(source=source)
    if "scenarios" in doc:
        spec.scenarios = _string_list(doc, "scenarios", source)
    if "targets" in doc:
        spec.targets = _string_list(doc, "targets", source)
    if "modules" in doc:
        spec.modules = _string_list(doc, "modules", source)
    if "seeds" in doc:
        spec.seeds = _seed_list(doc["seeds"], source)
    if "quick" in doc:
        if not isinstance(doc["quick"], bool):
            raise HarnessError(f"{source}: quick must be true or false, got {doc['quick']!r}")
        spec.quick = doc["quick"]
    if "timeout" in doc:
        timeout = doc["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise HarnessError(f"{source}: timeout must be > 0 seconds, got {timeout!r}")
        spec.timeout_s = float(timeout)
    if "grid" in doc and "random" in doc:
        raise HarnessError(f"{source}: give either [grid] or [random], not both")
    if "grid" in doc:
        if not isinstance(doc["grid"], dict):
            raise HarnessError(f"{source}: [grid] must be a table of parameters")
        for name, value in doc["grid"].items():
            spec.set_axis(_axis_from_toml(name, value, f"{source} [grid]"))
    if "random" in doc:
        table = doc["random"]
        if not isinstance(table, dict):
            raise HarnessError(f"{source}: [random] must be a table")
        unknown = sorted(set(table) - set(_RANDOM_KEYS))
        if unknown:
            raise HarnessError(f"{source} [random]: unknown key {unknown[0]!r} "
                               f"(known: {', '.join(_RANDOM_KEYS)})")
        points = table.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or points < 1:
            raise HarnessError(f"{source} [random]: points must be an integer >= 1, "
                               f"got {points!r}")
        seed = table.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise HarnessError(f"{source} [random]: seed must be an integer >= 0, got {seed!r}")
        spec.random_points, spec.random_seed = points, seed
        params = table.get("params", {})
        if not isinstance(params, dict):
            raise HarnessError(f"{source}: [random.params] must be a table of parameters")
        for name, value in params.items():
            spec.set_axis(_axis_from_toml(name, value, f"{source} [random.params]"))
    return spec


# --- checking and expanding -------------------------------------------------------------------

def _axis_values(axis: Axis, default: Any, random: bool) -> list[Any] | None:
    """A grid axis's values; None for a range in a random sample (drawn per point)."""
    if axis.values is not None:
        return list(axis.values)
    assert axis.range is not None
    if random:
        return None
    if axis.range.steps is None:
        raise HarnessError(f"{axis.source}: parameter {axis.name!r}: a grid range needs steps "
                           f"(e.g. {{min = {_num(axis.range.low)}, max = "
                           f"{_num(axis.range.high)}, steps = 5}} or LO..HI/5)")
    return axis.range.grid(_is_int(default))


def _is_int(default: Any) -> bool:
    return isinstance(default, int) and not isinstance(default, bool)


def _check_value(scenario: Any, quick: bool, name: str, value: Any, source: str) -> Any:
    try:
        return scenario.params(quick=quick, overrides={name: value})[name]
    except ValueError as exc:
        raise HarnessError(f"{source}: {exc}") from None


def _combinations(spec: SweepSpec, scenario: Any) -> list[dict[str, Any]]:
    """Parameter points for one scenario (only the axes it has), in a stable order."""
    defaults = scenario.params(quick=spec.quick)
    axes = [axis for axis in spec.axes if axis.name in defaults]
    random = spec.random_points is not None
    if not random:
        columns = []
        for axis in axes:
            values = _axis_values(axis, defaults[axis.name], random=False) or []
            columns.append([_check_value(scenario, spec.quick, axis.name, v, axis.source)
                            for v in values])
        points = [dict(zip([a.name for a in axes], combo, strict=True))
                  for combo in itertools.product(*columns)]
    else:
        rng = np.random.default_rng(spec.random_seed)
        points = []
        for _ in range(spec.random_points or 0):
            point = {}
            for axis in spec.axes:  # every axis draws, so each scenario sees the same points
                if axis.range is not None:
                    value = axis.range.draw(rng, _is_int(defaults.get(axis.name, 0.0)))
                else:
                    value = axis.values[int(rng.integers(len(axis.values)))]  # type: ignore[index]
                if axis.name in defaults:
                    point[axis.name] = _check_value(scenario, spec.quick, axis.name, value,
                                                    axis.source)
            points.append(point)
    unique: dict[bytes, dict[str, Any]] = {}
    for point in points:
        unique.setdefault(orjson.dumps(point, option=orjson.OPT_SORT_KEYS), point)
    return list(unique.values())


def plan_cells(spec: SweepSpec, scenarios: Sequence[Any]) -> list[Cell]:
    """Check ``spec`` against the selected ``scenarios`` (registry specs) and expand it.

    Order: target, then scenario, then parameter point, then seed.

    :raises HarnessError: see the module docstring (nothing has run yet).
    """
    if not scenarios:
        raise HarnessError(f"{spec.source}: no scenarios to sweep")
    if not spec.targets:
        raise HarnessError(f"{spec.source}: no targets to sweep")
    if not spec.seeds:
        raise HarnessError(f"{spec.source}: no seeds to sweep")
    for axis in spec.axes:
        if not any(axis.name in s.full for s in scenarios):
            names = ", ".join(s.name for s in scenarios)
            known = sorted({k for s in scenarios for k in s.full})
            raise HarnessError(f"{axis.source}: unknown parameter {axis.name!r}: no selected "
                               f"scenario ({names}) has it (parameters: {', '.join(known)})")
        if axis.range is not None and any(
                axis.name in s.full and not isinstance(s.full[axis.name], int | float)
                for s in scenarios):
            raise HarnessError(f"{axis.source}: parameter {axis.name!r} is not numeric: "
                               "list its values instead of a range")
    points = {s.name: _combinations(spec, s) for s in scenarios}
    cells: list[Cell] = []
    for target in spec.targets:
        for scenario in scenarios:
            for point in points[scenario.name]:
                for seed in spec.seeds:
                    cells.append(Cell(index=len(cells), target=target, scenario=scenario.name,
                                      params=point, seed=seed, quick=spec.quick,
                                      timeout_s=spec.timeout_s, modules=tuple(spec.modules)))
    if not cells:
        raise HarnessError(f"{spec.source}: the sweep is empty (no cells)")
    return cells


def unique_names(values: Iterable[str]) -> list[str]:
    """``values`` without repeats, first occurrence kept."""
    return list(dict.fromkeys(values))
