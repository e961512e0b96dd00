"""Regression injection: a target wrapper that makes chosen methods slower or faulty.

``stageflow-stress run --inject 'put+20us'`` answers "what if every put cost 20 µs more?"
for any target, and ``bench --gate-power`` uses it to measure what the gate catches.
Expressions are parsed by a small grammar of their own (never evaluated as code)::

    injection := rule ("," rule)*
    rule      := [part "."] method effect ["@" number "%"]
    part      := "queue" | "buffer"
    method    := a method name: put get put_nowait get_nowait put_many get_many close
                 add_chunk read clear
    effect    := "+" duration      work: the call first spins the CPU for that long
                                   (holds the event loop, as slower code does)
               | "~" duration      wait: the call first awaits asyncio.sleep(duration)
                                   (coroutine methods only; as a slower I/O dependency does)
               | "*" number        the call takes that many times its own running time
                                   (>= 1; the extra is spun after the call; for a coroutine
                                   method only the time it runs counts, not the time it waits)
               | ":copy"           the buffer first copies all the audio it holds (cost
                                   grows with depth, as a non-ring buffer's read does)
               | ":fail"           the call raises InjectedFault instead of running
    duration  := number ("ns" | "us" | "µs" | "ms" | "s")

Where the work or wait goes: a method that hands an item over (``get``, ``get_nowait``,
``get_many``: :data:`HANDS_OVER`) first takes the item and then works or waits before it
returns it, so every item it returns is late by that much, even one it had to wait for (a
consumer side that got slower delays delivery; work done before waiting on an empty queue
would delay nothing). Every other method works or waits first, then runs.

``@ 2%`` applies the rule to that share of calls, chosen by a generator seeded with the rule
text, so a run is reproducible. A bare method applies to the queue when the queue API has
that name, else to the buffer. Examples: ``put+20us``, ``get~0.3ms``, ``read:copy``,
``put*1.25,get*1.25``, ``get+0.4ms@2%``, ``queue.put:fail@1%``.

The wrapper changes nothing else: the objects keep their identity, class checks and every
other method (the injected methods live on a subclass swapped in with ``__class__``, or on
the instance when the class does not allow that).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import math
import random
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError

__all__ = [
    "BUFFER_METHODS",
    "HANDS_OVER",
    "QUEUE_METHODS",
    "InjectedFault",
    "InjectedTarget",
    "Injection",
    "InjectionError",
    "Rule",
    "inject",
    "parse_injection",
]

QUEUE_METHODS = ("put", "get", "put_nowait", "get_nowait", "put_many", "get_many", "close")
HANDS_OVER = frozenset({"get", "get_nowait", "get_many"})
"""Methods whose work or wait comes after the call: the item is handed over that late."""
BUFFER_METHODS = ("add_chunk", "read", "clear")
FAULTS = ("copy", "fail")
_UNITS_NS = {"ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}
_MAX_NS = 10 * 1e9  # ten seconds per call is a hang, not a regression


class InjectionError(HarnessError):
    """An ``--inject`` expression that does not parse or does not apply (exit code 2)."""


class InjectedFault(RuntimeError):
    """Raised by a method under a ``:fail`` rule."""


@dataclass(frozen=True)
class Rule:
    """One parsed rule: ``part.method`` gets ``kind`` (work, wait, scale, copy, fail)."""

    text: str
    part: str  # "queue" or "buffer"
    method: str
    kind: str
    amount: float = 0.0  # ns for work/wait, the factor for scale
    share: float = 1.0  # fraction of calls the rule applies to


@dataclass(frozen=True)
class Injection:
    """A parsed ``--inject`` expression."""

    text: str
    rules: tuple[Rule, ...]

    def for_part(self, part: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.part == part)


_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d*)?|\.\d+)(?P<unit>ns|us|µs|ms|s)?"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[.,+~*:@%]))")


def _error(text: str, col: int, reason: str) -> InjectionError:
    return InjectionError(f"--inject {text!r}: {reason} at column {col + 1}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, str | None, int]] = []  # kind, text, unit, col
        pos = 0
        while pos < len(text):
            if text[pos].isspace():
                pos += 1
                continue
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise _error(text, pos, f"unexpected character {text[pos]!r}")
            kind = "number" if match.group("number") else str(match.lastgroup)
            col = match.start(kind)
            self.tokens.append((kind, match.group(kind), match.group("unit"), col))
            pos = match.end()
        self.tokens.append(("end", "", None, len(text)))
        self.pos = 0

    def peek(self) -> tuple[str, str, str | None, int]:
        return self.tokens[self.pos]

    def fail(self, expected: str) -> InjectionError:
        kind, token, unit, col = self.peek()
        found = "the end" if kind == "end" else repr(token + (unit or ""))
        return _error(self.text, col, f"expected {expected}, found {found}")

    def take(self, kind: str, text: str | None = None) -> tuple[str, str, str | None, int] | None:
        token = self.peek()
        if token[0] == kind and (text is None or token[1] == text):
            self.pos += 1
            return token
        return None

    def injection(self) -> Injection:
        rules = [self.rule()]
        while self.take("punct", ","):
            rules.append(self.rule())
        if self.peek()[0] != "end":
            raise self.fail("',' and another rule, or the end")
        return Injection(self.text, tuple(rules))

    def rule(self) -> Rule:
        start = self.peek()[3]
        name = self.take("name")
        if name is None:
            raise self.fail("a method name such as put, get or read")
        part: str | None = None
        method = name[1]
        if method in ("queue", "buffer") and self.take("punct", "."):
            part = method
            token = self.take("name")
            if token is None:
                raise self.fail(f"a {part} method after '{part}.'")
            name, method = token, token[1]
        known = {"queue": QUEUE_METHODS, "buffer": BUFFER_METHODS}
        if part is None:
            if method not in QUEUE_METHODS + BUFFER_METHODS:
                raise _error(self.text, name[3], f"unknown method {method!r} (queue: "
                                                 f"{', '.join(QUEUE_METHODS)}; buffer: "
                                                 f"{', '.join(BUFFER_METHODS)})")
            part = "queue" if method in QUEUE_METHODS else "buffer"
        if method not in known[part]:
            raise _error(self.text, name[3], f"unknown {part} method {method!r} "
                                             f"(known: {', '.join(known[part])})")
        kind, amount = self.effect(part, method)
        share = 1.0
        if self.take("punct", "@"):
            number = self.take("number")
            if number is None or number[2] is not None:
                raise self.fail("a percentage such as 2% after '@'")
            share = float(number[1]) / 100.0
            if not 0 < share <= 1:
                raise _error(self.text, number[3], "the share must be > 0% and <= 100%")
            if not self.take("punct", "%"):
                raise self.fail("'%'")
        end = self.peek()[3]
        return Rule(self.text[start:end].strip(), part, method, kind, amount, share)

    def effect(self, part: str, method: str) -> tuple[str, float]:
        if self.take("punct", "+"):
            return "work", self.duration()
        if self.take("punct", "~"):
            return "wait", self.duration()
        if self.take("punct", "*"):
            number = self.take("number")
            if number is None or number[2] is not None:
                raise self.fail("a factor such as 1.25 after '*'")
            factor = float(number[1])
            if not 1.0 <= factor <= 1000.0:
                raise _error(self.text, number[3], "the factor must be between 1 and 1000")
            return "scale", factor
        if self.take("punct", ":"):
            if self.peek()[0] != "name" or self.peek()[1] not in FAULTS:
                raise self.fail(f"a fault ({', '.join(FAULTS)})")
            fault = self.tokens[self.pos]
            self.pos += 1
            if fault[1] == "copy" and part != "buffer":
                raise _error(self.text, fault[3], "':copy' applies to buffer methods only")
            return fault[1], 0.0
        raise self.fail("an effect: +duration, ~duration, *factor, :copy or :fail")

    def duration(self) -> float:
        number = self.take("number")
        if number is None:
            raise self.fail("a duration such as 20us or 0.3ms")
        if number[2] is None:
            raise _error(self.text, number[3] + len(number[1]),
                         "expected a unit (ns, us, ms, s) after the number")
        ns = float(number[1]) * _UNITS_NS[number[2]]
        if not 0 < ns <= _MAX_NS:
            raise _error(self.text, number[3], "the duration must be > 0 and <= 10 s")
        return ns


def parse_injection(text: str) -> Injection:
    """Parse an ``--inject`` expression (grammar in the module docstring).

    :raises InjectionError: the expression does not parse; the message quotes it, says what
        was expected and at which column.
    """
    if not isinstance(text, str) or not text.strip():
        raise InjectionError("--inject: empty expression (e.g. 'put+20us')")
    return _Parser(text).injection()


# --- applying rules -------------------------------------------------------------------------


_SHORT_NS = 5_000  # below this, work is a calibrated loop: reading the clock costs too much
_loop_ns: list[float] = []  # ns per loop iteration, measured on first use


def _iteration_ns() -> float:
    """Cost of one iteration of the busy loop: the best of several timings (time stolen by
    other processes only adds, so the least disturbed timing is the closest)."""
    if not _loop_ns:
        best = math.inf
        for _ in range(7):
            started = time.perf_counter_ns()
            for _ in itertools.repeat(None, 20_000):
                pass
            best = min(best, (time.perf_counter_ns() - started) / 20_000)
        _loop_ns.append(max(best, 0.1))
    return _loop_ns[0]


def _spin(ns: float) -> None:
    """Busy work for about ``ns`` nanoseconds, holding the thread (and the event loop)."""
    if ns < _SHORT_NS:
        for _ in itertools.repeat(None, int(ns / _iteration_ns())):
            pass
        return
    end = time.perf_counter_ns() + int(ns)
    while time.perf_counter_ns() < end:
        pass


class _Timed:
    """Awaits a coroutine and adds ``(factor - 1)`` x the time its steps ran, as work.

    Each step of the coroutine (from one resume to its next suspension) is timed; the time
    it spends suspended (waiting for an item, for space) is not counted.
    """

    __slots__ = ("_coro", "_factor")

    def __init__(self, coro: Any, factor: float) -> None:
        self._coro = coro
        self._factor = factor

    def __await__(self) -> Generator[Any, Any, Any]:
        inner = self._coro.__await__()
        ran = 0
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                started = time.perf_counter_ns()
                try:
                    yielded = inner.throw(error) if error is not None else inner.send(value)
                except StopIteration as stop:
                    ran += time.perf_counter_ns() - started
                    _spin((self._factor - 1.0) * ran)
                    return stop.value
                ran += time.perf_counter_ns() - started
                value, error = None, None
                try:
                    value = yield yielded
                except BaseException as exc:  # cancellation and the like: pass it on
                    error = exc
        finally:
            self._coro.close()


def _level_bytes(buffer: Any, fmt: tuple[int, int, int]) -> int:
    """Bytes the buffer holds: ``current_bytes`` where it has it, else from ``duration_ms``."""
    try:
        value = buffer.current_bytes
        return int(value() if callable(value) else value)
    except Exception:
        sample_rate, channels, width = fmt
        return round(float(buffer.duration_ms) * sample_rate / 1000) * channels * width


def _gate(rule: Rule) -> Callable[[], bool]:
    if rule.share >= 1.0:
        return lambda: True
    rng = random.Random(rule.text)
    return lambda: rng.random() < rule.share


def _before(rule: Rule, fmt: tuple[int, int, int] | None) -> Callable[[Any], None]:
    """The synchronous part of a rule, run before the call (work, copy, fail)."""
    applies = _gate(rule)
    if rule.kind == "work":
        amount = rule.amount
        return lambda _self: _spin(amount) if applies() else None
    if rule.kind == "copy":
        shape = fmt or (48_000, 2, 2)

        def copy(self: Any) -> None:
            if applies():
                bytes(bytearray(_level_bytes(self, shape)))
        return copy
    if rule.kind == "fail":
        def fail(_self: Any) -> None:
            if applies():
                raise InjectedFault(f"injected fault: {rule.text}")
        return fail
    return lambda _self: None


def _wrap(original: Callable[..., Any], rule: Rule, fmt: tuple[int, int, int] | None,
          is_async: bool) -> Callable[..., Any]:
    before = _before(rule, fmt)
    applies = _gate(rule)
    if rule.method in HANDS_OVER and rule.kind in ("work", "wait"):
        return _handed_over_late(original, rule, before, applies, is_async)
    if is_async and rule.kind == "wait":
        @functools.wraps(original)
        async def waited(self: Any, *args: Any, **kwargs: Any) -> Any:
            if applies():
                await asyncio.sleep(rule.amount / 1e9)
            return await original(self, *args, **kwargs)
        return waited
    if is_async and rule.kind == "scale":
        @functools.wraps(original)
        async def scaled(self: Any, *args: Any, **kwargs: Any) -> Any:
            if applies():
                return await _Timed(original(self, *args, **kwargs), rule.amount)
            return await original(self, *args, **kwargs)
        return scaled
    if is_async and rule.kind == "fail":
        @functools.wraps(original)
        async def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
            before(self)
            return await original(self, *args, **kwargs)
        return failing
    if rule.kind == "scale":
        @functools.wraps(original)
        def scaled_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not applies():
                return original(self, *args, **kwargs)
            started = time.perf_counter_ns()
            try:
                return original(self, *args, **kwargs)
            finally:
                _spin((rule.amount - 1.0) * (time.perf_counter_ns() - started))
        return scaled_sync

    # work and copy: done when the method is called, then the original runs (for a coroutine
    # method its coroutine is returned as is: no extra coroutine frame, so the wrapper
    # itself costs one function call, ~0.1 us, and fast queues are not slowed by it)
    if rule.kind == "work" and rule.share >= 1.0:
        amount = rule.amount
        if amount < _SHORT_NS:
            loops = int(amount / _iteration_ns())

            @functools.wraps(original)
            def looped(self: Any, *args: Any, **kwargs: Any) -> Any:
                for _ in itertools.repeat(None, loops):
                    pass
                return original(self, *args, **kwargs)
            return looped

    @functools.wraps(original)
    def worked(self: Any, *args: Any, **kwargs: Any) -> Any:
        before(self)
        return original(self, *args, **kwargs)
    return worked


def _handed_over_late(original: Callable[..., Any], rule: Rule,
                      work: Callable[[Any], None], applies: Callable[[], bool],
                      is_async: bool) -> Callable[..., Any]:
    """A method of :data:`HANDS_OVER` that works (``+``) or waits (``~``) after taking the
    item and before returning it."""
    if not is_async:
        @functools.wraps(original)
        def late_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            work(self)
            return result
        return late_sync
    if rule.kind == "wait":
        @functools.wraps(original)
        async def late_wait(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = await original(self, *args, **kwargs)
            if applies():
                await asyncio.sleep(rule.amount / 1e9)
            return result
        return late_wait

    @functools.wraps(original)
    async def late_work(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, *args, **kwargs)
        work(self)
        return result
    return late_work


def _apply(obj: Any, rules: tuple[Rule, ...], target_name: str,
           fmt: tuple[int, int, int] | None, cache: dict[type, type]) -> Any:
    if not rules:
        return obj
    cls = type(obj)
    sub = cache.get(cls)
    if sub is None:
        namespace: dict[str, Any] = {"__slots__": (), "__module__": cls.__module__,
                                     "__qualname__": cls.__qualname__}
        for rule in rules:
            original = namespace.get(rule.method) or getattr(cls, rule.method, None)
            if not callable(original):
                raise InjectionError(f"--inject {rule.text!r}: target {target_name!r}'s "
                                     f"{rule.part} ({cls.__qualname__}) has no method "
                                     f"{rule.method!r}")
            is_async = inspect.iscoroutinefunction(original)
            if rule.kind == "wait" and not is_async:
                raise InjectionError(
                    f"--inject {rule.text!r}: '~' waits with await, but {cls.__qualname__}."
                    f"{rule.method} is not a coroutine method; use '+' (work)")
            namespace[rule.method] = _wrap(original, rule, fmt, is_async)
        sub = cache[cls] = type(cls.__name__, (cls,), namespace)
    try:
        obj.__class__ = sub
    except TypeError:  # builtin or incompatible layout: patch the instance instead
        for name, func in vars(sub).items():
            if name in {r.method for r in rules}:
                setattr(obj, name, func.__get__(obj, cls))
    return obj


_FORMAT_WIDTH = {"pcm_16": 2, "pcm_24": 3, "pcm_32": 4, "float_32": 4}


class InjectedTarget:
    """``target`` with the injection's rules applied to every queue and buffer it makes.

    Every other attribute (name, version, capabilities, declarations...) is the wrapped
    target's own.
    """

    def __init__(self, target: Any, injection: Injection) -> None:
        self._target = target
        self.injection = injection
        self._queue_rules = injection.for_part("queue")
        self._buffer_rules = injection.for_part("buffer")
        self._queue_classes: dict[type, type] = {}
        self._buffer_classes: dict[tuple[int, int, int], dict[type, type]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def make_queue(self, *args: Any, **kwargs: Any) -> Any:
        queue = self._target.make_queue(*args, **kwargs)
        return _apply(queue, self._queue_rules, self._target.name, None, self._queue_classes)

    def make_buffer(self, **kwargs: Any) -> Any:
        buffer = self._target.make_buffer(**kwargs)
        fmt = (int(kwargs.get("sample_rate", 48_000)), int(kwargs.get("channels", 1)),
               _FORMAT_WIDTH.get(str(kwargs.get("fmt", "pcm_16")), 2))
        cache = self._buffer_classes.setdefault(fmt, {})
        return _apply(buffer, self._buffer_rules, self._target.name, fmt, cache)


def inject(target: Any, expression: str | Injection) -> InjectedTarget:
    """Wrap ``target`` so its queues and buffers follow ``expression``.

    The rules are checked against a queue and a buffer made once up front, so a method the
    target lacks is reported before anything runs.

    :raises InjectionError: the expression does not parse or names a method the target's
        queue or buffer does not have, or '~' on a method that is not a coroutine.
    """
    injection = expression if isinstance(expression, Injection) else parse_injection(expression)
    wrapped = InjectedTarget(target, injection)
    if injection.for_part("queue"):
        wrapped.make_queue(1)
    if injection.for_part("buffer"):
        wrapped.make_buffer(target_duration_ms=20.0, max_duration_ms=100.0,
                            sample_rate=16_000, channels=1, fmt="pcm_16")
    return wrapped
