"""The scenario registry: ``@scenario`` registers an ``async def fn(ctx)`` under a name.

A scenario declares what it is (name, category, the TRANSFORM-007 hypotheses it tests),
its parameters for the quick and the full run, the target capabilities it cannot run
without, and the suites it belongs to. The harness looks scenarios up here and never
imports scenario modules by hand, so a user's module loaded with ``--scenarios MODULE``
(or another part of the product, e.g. the adversarial suite) registers more of them with
the same decorator.

Contracts:

- Names are unique. Registering a second, different function under a taken name raises
  :class:`ValueError`; re-registering the same function (a module imported twice) is a no-op.
- ``quick`` and ``full`` must have the same keys: an override or ``--param`` names one key
  for both. Values must be JSON-serialisable (they are recorded in the results).
- Lookups of unknown names raise :class:`UnknownScenario` / :class:`UnknownSuite`
  (``LookupError``), whose message lists what is known.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "CATEGORIES",
    "HYPOTHESES",
    "ScenarioFunction",
    "ScenarioSpec",
    "UnknownScenario",
    "UnknownSuite",
    "all_scenarios",
    "define_suite",
    "get_scenario",
    "scenario",
    "suite_members",
    "suites",
    "summarize_description",
    "unregister",
]

CATEGORIES = ("correctness", "reliability", "performance")

HYPOTHESES: Mapping[str, str] = MappingProxyType({
    "H1": "ChunkQueue handles overflow gracefully",
    "H2": "StreamingBuffer maintains smooth playback",
    "H3": "BackpressureMonitor triggers appropriately",
    "H4": "Streaming stages emit telemetry events",
    "H5": "No silent failures during streaming",
    "H6": "High-concurrency streaming supported",
    "H7": "Latency remains bounded under load",
    "H8": "Recovery after overflow/underrun correct",
})

ScenarioFunction = Callable[[Any], Awaitable[None]]


class UnknownScenario(LookupError):
    """No scenario is registered under that name."""


class UnknownSuite(LookupError):
    """No suite has that name."""


@dataclass(frozen=True)
class ScenarioSpec:
    """One registered scenario. ``fn(ctx)`` is awaited by the runner with a fresh context."""

    name: str
    category: str
    hypotheses: tuple[str, ...]
    quick: Mapping[str, Any]
    full: Mapping[str, Any]
    requires: tuple[str, ...]
    suites: tuple[str, ...]
    fn: ScenarioFunction
    description: str = ""
    module: str = ""
    tags: tuple[str, ...] = field(default=())

    positive: tuple[str, ...] = field(default=())
    choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Parameters whose value must be one of a fixed set (e.g. an overflow policy)."""
    duration: str | None = None
    """The parameter that sets how long the scenario runs, when it can run open-ended
    (``run --duration`` sets it for a soak); None for a scenario of fixed length."""

    @property
    def summary(self) -> str:
        """What the scenario does, in a few words: the description up to its first ``:``,
        ``;`` or end of sentence outside parentheses (what follows says what is checked)."""
        return summarize_description(self.description)

    def params(self, *, quick: bool, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The quick or full parameters with ``overrides`` applied.

        An override must have its default's type (an int is accepted for a float), be
        finite, not be negative where the default is not, and be > 0 for the parameters
        the scenario declared ``positive``, and be one of the declared ``choices``.

        :raises ValueError: unknown parameter or bad value; the message names both.
        """
        merged = dict(self.quick if quick else self.full)
        for key, value in (overrides or {}).items():
            if key not in merged:
                raise ValueError(
                    f"scenario {self.name!r} has no parameter {key!r} "
                    f"(parameters: {', '.join(sorted(merged)) or 'none'})"
                )
            merged[key] = self._checked(key, merged[key], value)
        return merged

    def _checked(self, key: str, default: Any, value: Any) -> Any:
        where = f"scenario {self.name!r} parameter {key!r}"
        if isinstance(default, bool) or isinstance(value, bool):
            if not isinstance(value, bool) or not isinstance(default, bool):
                raise ValueError(f"{where} must be {type(default).__name__}, got {value!r}")
            return value
        if isinstance(default, (int, float)):
            if not isinstance(value, (int, float)):
                raise ValueError(f"{where} must be a number, got {value!r}")
            if isinstance(default, int) and not isinstance(value, int):
                if not float(value).is_integer():
                    raise ValueError(f"{where} must be an integer, got {value!r}")
                value = int(value)
            if isinstance(default, float):
                value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{where} must be finite, got {value!r}")
            if key in self.positive and not value > 0:
                raise ValueError(f"{where} must be > 0, got {value!r}")
            if default >= 0 and value < 0:
                raise ValueError(f"{where} must be >= 0, got {value!r}")
            return value
        if default is not None and not isinstance(value, type(default)):
            raise ValueError(f"{where} must be {type(default).__name__}, got {value!r}")
        if key in self.choices and value not in self.choices[key]:
            raise ValueError(f"{where} must be one of {', '.join(map(str, self.choices[key]))}, "
                             f"got {value!r}")
        return value


_MIN_SUMMARY = 12  # a shorter lead-in ("Note:") is not a summary: take the first sentence


def summarize_description(text: str) -> str:
    """The lead of ``text``: up to the first ``:`` or ``;`` outside parentheses, or to the
    end of its first sentence (a stop followed by a capital), without the stop; the first
    sentence when that lead is very short."""
    text = " ".join(text.split())
    depth = 0
    first_sentence = text
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch in ".!?" and (i + 1 == len(text)
                              or (text[i + 1] == " " and text[i + 2:i + 3].isupper())):
            first_sentence = text[:i]
            break
        elif depth == 0 and ch in ":;" and i >= _MIN_SUMMARY:
            return text[:i]
    return first_sentence


_REGISTRY: dict[str, ScenarioSpec] = {}
_SUITE_DESCRIPTIONS: dict[str, str] = {}


def define_suite(name: str, description: str) -> None:
    """Give a suite a one-line description (shown by ``stageflow-stress list``)."""
    _check_name(name, "suite")
    _SUITE_DESCRIPTIONS[name] = description


def _check_name(name: str, what: str) -> None:
    plain = name.replace("_", "").replace("-", "") if isinstance(name, str) else ""
    if not plain.isalnum():
        raise ValueError(f"{what} name must be letters, digits, '_' or '-', got {name!r}")


def _check_params(name: str, quick: Mapping[str, Any], full: Mapping[str, Any]) -> None:
    if set(quick) != set(full):
        only_quick = sorted(set(quick) - set(full))
        only_full = sorted(set(full) - set(quick))
        raise ValueError(
            f"scenario {name!r}: quick and full parameters differ "
            f"(only quick: {only_quick}, only full: {only_full})"
        )
    for label, params in (("quick", quick), ("full", full)):
        for key, value in params.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"scenario {name!r}: {label} parameter {key!r} is {value}")


def scenario(
    *,
    name: str,
    category: str,
    hypotheses: Iterable[str] = (),
    quick: Mapping[str, Any] | None = None,
    full: Mapping[str, Any] | None = None,
    requires: Iterable[str] = (),
    suites: Iterable[str] = (),
    tags: Iterable[str] = (),
    positive: Iterable[str] = (),
    choices: Mapping[str, Iterable[Any]] | None = None,
    duration: str | None = None,
) -> Callable[[ScenarioFunction], ScenarioFunction]:
    """Register ``async def fn(ctx) -> None`` as a scenario; returns ``fn`` unchanged.

    ``quick`` defaults to ``full`` and ``full`` to ``quick``. ``positive`` names the
    numeric parameters that must be > 0 (rates, counts, durations); ``choices`` the
    parameters whose value must be one of a set. ``duration`` names the parameter (in
    seconds) that sets how long an open-ended scenario runs: ``run --duration`` (a soak)
    sets it. The first paragraph of the function's docstring is the description shown by
    ``list``.

    :raises ValueError: bad name, unknown category or hypothesis, quick/full keys differ,
        a default outside its choices, ``duration`` not a numeric parameter, the name is
        taken by another function.
    :raises TypeError: ``fn`` is not an ``async def`` function.
    """
    _check_name(name, "scenario")
    if category not in CATEGORIES:
        raise ValueError(
            f"scenario {name!r}: category must be one of {CATEGORIES}, got {category!r}"
        )
    hyps = tuple(hypotheses)
    unknown = [h for h in hyps if h not in HYPOTHESES]
    if unknown:
        raise ValueError(
            f"scenario {name!r}: unknown hypotheses {unknown}; known: {list(HYPOTHESES)}"
        )
    quick_params = dict(quick if quick is not None else (full or {}))
    full_params = dict(full if full is not None else quick_params)
    _check_params(name, quick_params, full_params)
    suite_names = tuple(suites)
    for suite_name in suite_names:
        _check_name(suite_name, "suite")
    positive_names = tuple(positive)
    unknown_positive = sorted(set(positive_names) - set(full_params))
    if unknown_positive:
        raise ValueError(f"scenario {name!r}: positive names unknown parameters "
                         f"{unknown_positive}")
    choice_sets = {key: tuple(values) for key, values in (choices or {}).items()}
    for key, values in choice_sets.items():
        if key not in full_params:
            raise ValueError(f"scenario {name!r}: choices name unknown parameter {key!r}")
        for label, params in (("quick", quick_params), ("full", full_params)):
            if params[key] not in values:
                raise ValueError(f"scenario {name!r}: {label} {key}={params[key]!r} is not "
                                 f"one of its choices {values}")
    if duration is not None and not isinstance(full_params.get(duration), int | float):
        raise ValueError(f"scenario {name!r}: duration names {duration!r}, which is not a "
                         "numeric parameter (seconds)")

    def register(fn: ScenarioFunction) -> ScenarioFunction:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"scenario {name!r}: {fn!r} must be an 'async def' function")
        existing = _REGISTRY.get(name)
        if existing is not None:
            if (existing.module, existing.fn.__qualname__) == (fn.__module__, fn.__qualname__):
                return fn  # same function imported again (reload, double import)
            raise ValueError(
                f"scenario {name!r} is already registered by "
                f"{existing.module}.{existing.fn.__qualname__}"
            )
        doc = inspect.getdoc(fn) or ""
        _REGISTRY[name] = ScenarioSpec(
            name=name,
            category=category,
            hypotheses=hyps,
            quick=MappingProxyType(quick_params),
            full=MappingProxyType(full_params),
            requires=tuple(requires),
            suites=suite_names,
            fn=fn,
            description=" ".join(doc.split("\n\n")[0].split()),
            module=fn.__module__,
            tags=tuple(tags),
            positive=positive_names,
            choices=MappingProxyType(choice_sets),
            duration=duration,
        )
        return fn

    return register


def unregister(name: str) -> None:
    """Remove a scenario (tests and tools that register throw-away scenarios use this)."""
    _REGISTRY.pop(name, None)


def all_scenarios() -> list[ScenarioSpec]:
    """Every registered scenario, in registration order."""
    return list(_REGISTRY.values())


def get_scenario(name: str) -> ScenarioSpec:
    """The scenario registered under ``name``.

    :raises UnknownScenario: no such scenario; the message lists the known ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownScenario(f"unknown scenario {name!r} (known: {known})") from None


def suites() -> dict[str, str]:
    """Suite name -> description, for every suite that has a member or a description."""
    names: dict[str, str] = {}
    for spec in _REGISTRY.values():
        for suite_name in spec.suites:
            names.setdefault(suite_name, _SUITE_DESCRIPTIONS.get(suite_name, ""))
    for suite_name, description in _SUITE_DESCRIPTIONS.items():
        names.setdefault(suite_name, description)
    return names


def suite_members(name: str) -> list[ScenarioSpec]:
    """The scenarios of suite ``name``, in registration order.

    :raises UnknownSuite: no scenario belongs to ``name``; the message lists the suites.
    """
    members = [spec for spec in _REGISTRY.values() if name in spec.suites]
    if not members:
        known = ", ".join(sorted(suites())) or "none"
        raise UnknownSuite(f"unknown suite {name!r} (known: {known})")
    return members
