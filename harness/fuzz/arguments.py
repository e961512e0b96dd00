"""The bad-configuration rule of DESIGN.md, applied to every public callable of a target.

A target's public constructors, functions and (synchronous) methods are discovered from its
module (``__all__``, else its public names) and their signatures; what each parameter means
is read from its name, never from a table of one library's callables:

========== ============================================== ===================================
kind       names                                          bad values
========== ============================================== ===================================
percent    ``*_water_mark``, ``*percent*``                outside 0..100, NaN, not a number;
                                                          ``low_*`` above ``high_*``
duration   ``*_ms``, ``*_s``, ``*_seconds``,              negative, NaN, not a number; 0 too
           ``duration*``, ``timeout``                     for a capacity (``max`` in the name)
timestamp  ``timestamp*`` (a time point: may be negative) NaN, not a number
capacity   ``max_*``/``*_max_*``, ``*_rate``,             < 1, not an int (a limit on bytes,
           ``*channels``, ``*_per_sample``, ``*_chunks``, ``*_bytes``, may be 0: "include
           ``chunk_size``                                 nothing" is meaningful, not drawn;
                                                          nor is a queue's size of 0 when the
                                                          target declares what it means,
                                                          ``queue.zero_size``)
level      ``*_count``, other ``*_size`` (a level, e.g.   negative, not an int
           ``queue_size``)
policy     ``overflow``, ``*_overflow``, ``*policy``      an unknown name
format     ``format``, ``*_format``                       an unknown name
========== ============================================== ===================================

Parameters with a ``bool`` default are flags and, like any other parameter, keep their
defaults. Exceptions, enums and snapshot records (``*Stats``, ``*Statistics``: outputs,
not configuration) are not configured. Methods of the classes a state machine drives
(``stateful``) are left to that machine.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "KINDS",
    "MISORDERED",
    "CallableSpec",
    "Param",
    "call",
    "discover",
    "draw_call",
    "kind_of",
    "value_code",
]

KINDS = ("percent", "duration", "timestamp", "capacity", "level", "policy", "format")
_NOT_CONFIGURED_SUFFIXES = ("Stats", "Statistics")


@dataclass(frozen=True)
class Param:
    """One parameter of a callable, as the fuzzer configures it."""

    name: str
    kind: str | None
    """One of :data:`KINDS`; None: not configured (default kept, or ``filler`` given)."""
    required: bool
    default: Any = None
    filler: tuple[Any, str] | None = None
    """(value, code) for a required parameter the fuzzer does not configure."""
    positional: bool = False
    zero_valid: bool = False
    """A capacity the target gives a meaning at 0 (it declares ``queue.zero_size``:
    unbounded, unbuffered): 0 is drawn as a valid value, never as an invalid one."""


@dataclass(frozen=True)
class CallableSpec:
    """A public callable: its identity as a finding, and how to call it."""

    component: str
    operation: str
    prop: str
    """``config_refused`` for constructors, ``bad_input_refused`` for functions and methods."""
    code: str
    """Snippet code that evaluates to the callable (``sf.StreamConfig``, ...)."""
    params: tuple[Param, ...]
    resolve: Callable[[], Callable[..., Any]]
    """Returns the callable (for a method: bound to a fresh instance)."""


def kind_of(name: str, default: Any = None) -> str | None:
    """What a parameter means, from its name (see the module docstring)."""
    if isinstance(default, bool):
        return None
    words = name.split("_")
    if name.endswith("_water_mark") or "percent" in name:
        return "percent"
    if name in ("overflow", "policy") or name.endswith(("_overflow", "_policy")):
        return "policy"
    if name == "format" or name.endswith("_format"):
        return "format"
    if name.startswith("timestamp"):
        return "timestamp"
    if name.endswith(("_ms", "_s", "_seconds")) or name.startswith("duration") or \
            name == "timeout":
        return "duration"
    if "max" in words or name.endswith(("_rate", "channels", "_per_sample", "_chunks")) or \
            name in ("chunk_size", "block_size", "frame_size"):
        return "capacity"
    if name.endswith(("_count", "_size")):
        return "level"
    return None


def _filler(param: inspect.Parameter) -> tuple[Any, str] | None:
    """A valid value for a required parameter the fuzzer does not configure: audio bytes."""
    annotation = param.annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if text.split("|")[0].strip() in ("bytes", "bytearray", "bytes | bytearray"):
        return bytes(4), "bytes(4)"
    return None


def _params(func: Any, *, skip_first: bool = False) -> tuple[Param, ...] | None:
    """The parameters of ``func``; None when a required one cannot be given a value."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    out: list[Param] = []
    items = list(signature.parameters.values())
    if skip_first:
        items = items[1:]
    for p in items:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        required = p.default is p.empty
        default = None if required else p.default
        kind = kind_of(p.name, default)
        filler = None
        if required and kind is None:
            filler = _filler(p)
            if filler is None:
                return None
        if required and kind in ("policy", "format"):
            return None  # no generally valid value to give
        out.append(Param(p.name, kind, required, default, filler,
                         positional=p.kind is p.POSITIONAL_ONLY))
    return tuple(out)


def _configured(params: tuple[Param, ...] | None) -> bool:
    return params is not None and any(p.kind is not None for p in params)


def _call_code(params: tuple[Param, ...], values: dict[str, Any]) -> str:
    parts = []
    for p in params:
        if p.name not in values:
            continue
        code = p.filler[1] if p.filler is not None and values[p.name] is p.filler[0] \
            else value_code(values[p.name])
        parts.append(code if p.positional else f"{p.name}={code}")
    return ", ".join(parts)


def value_code(value: Any) -> str:
    """Python source for a drawn value (NaN has no literal)."""
    if isinstance(value, float) and math.isnan(value):
        return "float('nan')"
    return repr(value)


def _public_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return sorted(set(names))


def _is_configurable_class(name: str, obj: Any) -> bool:
    return not (issubclass(obj, BaseException) or issubclass(obj, Enum)
                or name.endswith(_NOT_CONFIGURED_SUFFIXES))


def discover(module: ModuleType, *, stateful: frozenset[str] = frozenset()) -> list[CallableSpec]:
    """Every public callable of ``module`` that takes a configured parameter."""
    specs: list[CallableSpec] = []
    for name in _public_names(module):
        obj = getattr(module, name, None)
        if inspect.isclass(obj):
            if not _is_configurable_class(name, obj):
                continue
            params = _params(obj)
            if _configured(params):
                assert params is not None
                specs.append(CallableSpec(name, f"{name}()", "config_refused", f"sf.{name}",
                                          params, lambda obj=obj: obj))
            if name not in stateful and params is not None:
                specs.extend(_methods(name, obj, params))
        elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
            if inspect.iscoroutinefunction(obj):
                continue
            params = _params(obj)
            if _configured(params):
                assert params is not None
                specs.append(CallableSpec(name, name, "bad_input_refused", f"sf.{name}",
                                          params, lambda obj=obj: obj))
    return specs


def _methods(name: str, cls: type, ctor: tuple[Param, ...]) -> list[CallableSpec]:
    """Synchronous public methods of ``cls`` that take a configured parameter, called on an
    instance built with the constructor's defaults (and fillers)."""
    if any(p.required and p.filler is None for p in ctor):
        return []
    fillers = {p.name: p.filler[0] for p in ctor if p.filler is not None}
    try:
        cls(**fillers)
    except Exception:
        return []
    instance_code = f"sf.{name}({_call_code(ctor, fillers)})"
    out: list[CallableSpec] = []
    for attr in sorted(vars(cls)):
        if attr.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, attr)
        if isinstance(raw, staticmethod | classmethod):
            continue  # alternative constructors and helpers: no instance state to protect
        if not inspect.isfunction(raw) or inspect.iscoroutinefunction(raw):
            continue
        params = _params(raw, skip_first=True)
        if not _configured(params):
            continue
        assert params is not None
        out.append(CallableSpec(
            name, attr, "bad_input_refused", f"{instance_code}.{attr}", params,
            lambda cls=cls, attr=attr, fillers=fillers: getattr(cls(**fillers), attr)))
    return out


# -- values --------------------------------------------------------------------------------

_NAN = st.just(math.nan)
_NOT_A_NUMBER = st.just("10")


def _valid(param: Param) -> st.SearchStrategy[Any]:
    kind, name = param.kind, param.name
    if kind == "percent":
        return st.one_of(st.integers(0, 100), st.floats(0.0, 100.0))
    if kind == "duration":
        if "max" in name.split("_"):
            return st.one_of(st.integers(1, 500), st.floats(1.0, 500.0))
        return st.one_of(st.just(0), st.integers(1, 500), st.floats(0.0, 500.0))
    if kind == "timestamp":
        return st.floats(-1e6, 1e6)
    if kind == "capacity":
        if name.endswith("_rate"):
            return st.integers(8000, 48000)
        if name.endswith("channels"):
            return st.integers(1, 2)
        if name.endswith("_per_sample"):
            return st.integers(1, 4)
        return st.integers(0 if param.zero_valid else 1, 64)
    if kind == "level":
        return st.integers(0, 10_000)
    raise ValueError(f"no valid values are drawn for kind {kind!r}")


def _invalid(param: Param) -> st.SearchStrategy[Any]:
    kind, name = param.kind, param.name
    negative = st.floats(-1000.0, -1e-3)
    if kind == "percent":
        return st.one_of(negative, st.floats(100.001, 1000.0), _NAN, _NOT_A_NUMBER)
    if kind == "duration":
        zero = [st.just(0)] if "max" in name.split("_") else []
        return st.one_of(negative, _NAN, _NOT_A_NUMBER, *zero)
    if kind == "timestamp":
        return st.one_of(_NAN, _NOT_A_NUMBER)
    if kind == "capacity":
        top = -1 if name.endswith("_bytes") or param.zero_valid else 0
        return st.one_of(st.integers(-1000, top), st.just(2.5), st.just("8"))
    if kind == "level":
        return st.one_of(st.integers(-1000, -1), st.just(2.5), st.just("8"))
    if kind == "policy":
        return st.just("no_such_policy")
    if kind == "format":
        return st.just("no_such_format")
    raise ValueError(f"unknown parameter kind {kind!r}")


def _pair(
    params: tuple[Param, ...], kind: str, first: str, second: str,
) -> tuple[Param, Param] | None:
    """The parameters of ``kind`` whose names hold ``first`` and ``second`` (low/high)."""
    a = [p for p in params if p.kind == kind and first in p.name.split("_")]
    b = [p for p in params if p.kind == kind and second in p.name.split("_")]
    return (a[0], b[0]) if len(a) == 1 and len(b) == 1 else None


MISORDERED = "<water marks misordered>"
"""The bad "argument" of a callable with a low/high pair of water marks: low above high."""


def draw_call(data: st.DataObject, spec: CallableSpec) -> tuple[dict[str, Any], bool, str]:
    """Arguments for one call of ``spec``: (values by name, valid, argument code).

    At most one thing is bad: one configured parameter gets a bad value, or the water
    marks of a low/high pair are misordered; every other configured parameter keeps its
    default or gets a valid value. The target/max durations of a pair are kept in order
    when both are valid (their order is not what this rule tests).
    """
    configured = [p for p in spec.params if p.kind is not None]
    marks = _pair(spec.params, "percent", "low", "high")
    candidates = [p.name for p in configured] + ([MISORDERED] if marks is not None else [])
    bad = data.draw(st.none() | st.sampled_from(candidates), label="bad argument")
    values: dict[str, Any] = {}
    for p in spec.params:
        if p.kind is None:
            if p.filler is not None:
                values[p.name] = p.filler[0]
            continue
        if p.name == bad:
            values[p.name] = data.draw(_invalid(p), label=p.name)
            continue
        if p.kind in ("policy", "format"):
            continue  # no generally valid value but the default
        if p.required or data.draw(st.booleans(), label=f"set {p.name}"):
            values[p.name] = data.draw(_valid(p), label=p.name)
    if marks is not None and bad not in (marks[0].name, marks[1].name):
        low, high = (values.get(m.name, m.default) for m in marks)
        if bad == MISORDERED:
            low, high = sorted(data.draw(st.lists(_valid(marks[0]), min_size=2, max_size=2,
                                                  unique=True), label="marks"))
            values[marks[0].name], values[marks[1].name] = high, low
        elif _number(low) and _number(high) and (marks[0].name in values
                                                 or marks[1].name in values):
            values[marks[0].name], values[marks[1].name] = min(low, high), max(low, high)
    window = _pair(spec.params, "duration", "target", "max")
    if window is not None and bad not in (window[0].name, window[1].name):
        target, top = (values.get(w.name, w.default) for w in window)
        if _number(target) and _number(top) and (window[0].name in values
                                                  or window[1].name in values):
            values[window[0].name], values[window[1].name] = min(target, top), max(target, top)
    ordered = {p.name: values[p.name] for p in spec.params if p.name in values}
    return ordered, bad is None, _call_code(spec.params, ordered)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def call(spec: CallableSpec, values: dict[str, Any]) -> Any:
    """Call ``spec`` with drawn ``values`` (positional-only ones by position)."""
    fn = spec.resolve()
    args = [values[p.name] for p in spec.params if p.positional and p.name in values]
    kwargs = {p.name: values[p.name] for p in spec.params
              if not p.positional and p.name in values}
    return fn(*args, **kwargs)
