"""Gate thresholds in k6 style, parsed by a small grammar of their own (never ``eval``).

Grammar::

    threshold := [scenario ":"] metric op limit
    metric    := name ("." name)*
    op        := "<" | "<=" | ">" | ">=" | "==" | "!="
    limit     := number
               | number "*" "baseline" [("+" | "-") number]
               | "baseline" ["*" number] [("+" | "-") number]

``baseline`` stands for the same metric of the same scenario in the baseline results. Metric
names are resolved by :func:`resolve_metric` (aliases in :data:`METRIC_ALIASES`).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import HarnessError

__all__ = [
    "LATENCY_STATS",
    "METRIC_ALIASES",
    "OPERATORS",
    "Limit",
    "MetricPath",
    "Threshold",
    "ThresholdError",
    "parse_threshold",
    "resolve_metric",
]

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
LATENCY_STATS = ("p50", "p90", "p95", "p99", "p999", "max", "mean", "min")

# Short names -> path inside a scenario object of the results document.
METRIC_ALIASES: dict[str, tuple[str, ...]] = {
    "throughput": ("metrics", "throughput_cps"),
    "throughput_cps": ("metrics", "throughput_cps"),
    "sent": ("metrics", "sent"),
    "delivered": ("metrics", "delivered"),
    "dropped": ("metrics", "dropped"),
    "lost": ("metrics", "lost"),
    "duplicated": ("metrics", "duplicated"),
    "duration_ms": ("duration_ms",),
    "latency.count": ("metrics", "latency_ms", "count"),
    "service.count": ("metrics", "service_ms", "count"),
}
for _family in ("latency", "service"):
    for _stat in LATENCY_STATS:
        METRIC_ALIASES[f"{_family}.{_stat}_ms"] = ("metrics", f"{_family}_ms", _stat)


class ThresholdError(HarnessError):
    """A threshold that cannot be parsed; the message shows where (exit code 2)."""


@dataclass(frozen=True)
class MetricPath:
    """Where a metric lives in a scenario object; ``throughput`` marks normalisable metrics."""

    name: str
    path: tuple[str, ...]

    @property
    def throughput(self) -> bool:
        return self.path == ("metrics", "throughput_cps")

    def describe(self) -> str:
        return ".".join(self.path)


def resolve_metric(name: str) -> MetricPath:
    """Map a metric name to its path: an alias, ``metrics.<path>``, or ``<path>`` under metrics.

    ``latency.p99_ms`` -> ``metrics.latency_ms.p99``; ``slo.drop_ratio`` ->
    ``metrics.slo.drop_ratio``; ``memory.peak_bytes`` -> ``metrics.memory.peak_bytes``.
    """
    if name in METRIC_ALIASES:
        return MetricPath(name, METRIC_ALIASES[name])
    parts = tuple(name.split("."))
    if parts[0] == "metrics":
        return MetricPath(name, parts)
    return MetricPath(name, ("metrics", *parts))


@dataclass(frozen=True)
class Limit:
    """``factor * baseline + offset`` when relative (``factor`` is set), else ``offset``."""

    factor: float | None
    offset: float

    @property
    def relative(self) -> bool:
        return self.factor is not None

    def value(self, baseline: float | None) -> float:
        if self.factor is None:
            return self.offset
        if baseline is None:
            raise ValueError("a relative limit needs a baseline value")
        return self.factor * baseline + self.offset

    def describe(self) -> str:
        if self.factor is None:
            return _num(self.offset)
        text = "baseline" if self.factor == 1 else f"{_num(self.factor)} * baseline"
        if self.offset:
            text += f" {'+' if self.offset > 0 else '-'} {_num(abs(self.offset))}"
        return text


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold. ``source`` says where it came from (for messages)."""

    text: str
    scenario: str | None
    metric: MetricPath
    op: str
    limit: Limit
    source: str = "--threshold"

    def holds(self, value: float, limit: float) -> bool:
        return OPERATORS[self.op](value, limit)

    def describe(self) -> str:
        """The canonical form: ``[scenario:]metric op limit``."""
        scope = f"{self.scenario}:" if self.scenario else ""
        return f"{scope}{self.metric.name} {self.op} {self.limit.describe()}"


# --- tokenizer ------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|==|!=|<|>)
  | (?P<punct>[.:*+\-])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # name, number, op, punct, end
    text: str
    col: int  # 0-based


def _tokenize(text: str, source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            hint = " (comparisons are < <= > >= == !=)" if text[pos] in "=!" else ""
            raise _error(text, pos, f"unexpected character {text[pos]!r}{hint}", source)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _error(text: str, col: int, reason: str, source: str = "") -> ThresholdError:
    where = f"{source}: " if source else ""
    return ThresholdError(f"{where}bad threshold {text!r}: {reason} at column {col + 1}")


# --- parser (recursive descent) -------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.tokens = _tokenize(text, source)
        self.pos = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def fail(self, expected: str) -> ThresholdError:
        token = self.token
        found = "the end" if token.kind == "end" else repr(token.text)
        return _error(self.text, token.col, f"expected {expected}, found {found}", self.source)

    def take(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.token
        if token.kind == kind and (text is None or token.text == text):
            self.pos += 1
            return token
        return None

    def threshold(self) -> Threshold:
        scenario: str | None = None
        if self.token.kind == "name" and self.tokens[self.pos + 1].text == ":":
            scenario = self.token.text
            self.pos += 2
        metric = self.metric()
        op = self.take("op")
        if op is None:
            raise self.fail("a comparison (< <= > >= == !=)")
        limit = self.limit()
        if self.token.kind != "end":
            raise self.fail("the end of the threshold")
        return Threshold(self.text, scenario, resolve_metric(metric), op.text, limit, self.source)

    def metric(self) -> str:
        first = self.take("name")
        if first is None:
            raise self.fail("a metric name such as latency.p99_ms")
        if first.text == "baseline":
            raise _error(self.text, first.col, "'baseline' belongs on the right-hand side",
                         self.source)
        parts = [first.text]
        while self.take("punct", "."):
            part = self.take("name") or self.take("number")
            if part is None:
                raise self.fail("a name after '.'")
            parts.append(part.text)
        return ".".join(parts)

    def number(self) -> float | None:
        start = self.pos
        negative = self.take("punct", "-") is not None
        token = self.take("number")
        if token is None:
            self.pos = start
            return None
        value = float(token.text)
        if not math.isfinite(value):
            raise _error(self.text, token.col, "number out of range", self.source)
        return -value if negative else value

    def limit(self) -> Limit:
        factor: float | None = None
        number = self.number()
        if number is not None:
            if not self.take("punct", "*"):
                if self.token.kind != "end":
                    raise self.fail("'* baseline' or the end of the threshold")
                return Limit(None, number)
            if not self.take("name", "baseline"):
                raise self.fail("'baseline' after '*'")
            factor = number
        elif self.take("name", "baseline"):
            factor = 1.0
            if self.take("punct", "*"):
                number = self.number()
                if number is None:
                    raise self.fail("a number after 'baseline *'")
                factor = number
        else:
            raise self.fail("a number or 'baseline'")
        offset = 0.0
        sign = self.take("punct", "+") or self.take("punct", "-")
        if sign is not None:
            number = self.number()
            if number is None:
                raise self.fail(f"a number after {sign.text!r}")
            offset = number if sign.text == "+" else -number
        return Limit(factor, offset)


def parse_threshold(text: str, *, source: str = "") -> Threshold:
    """Parse one threshold such as ``"queue_overflow:latency.p99_ms < 50"``.

    :raises ThresholdError: the expression does not follow the grammar; the message quotes
        it, says what was expected and at which column.
    """
    if not isinstance(text, str):
        where = f"{source}: " if source else ""
        raise ThresholdError(f"{where}a threshold must be a string, got {type(text).__name__}")
    if not text.strip():
        where = f"{source}: " if source else ""
        raise ThresholdError(f"{where}empty threshold")
    return _Parser(text, source or "--threshold").threshold()
