"""The parts every fuzz state machine shares: the step log, violations, masking, the loop.

A machine applies each operation to the target and to a trivially correct model, and
records the step in a :class:`StepLog` as code plus the outcome labels the contract allows
(:mod:`harness.fuzz.runtime`). When a label is not allowed, the machine raises a
:class:`PropertyViolation` naming the component, the property and the operation, with the
log so far: after hypothesis has shrunk the example, the log of the final (shrunk) run is
the reproduction. Keys in ``masked`` (defects already found this session) do not raise:
they end the example quietly, so the session can go on looking for other defects.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis.stateful import RuleBasedStateMachine

from harness.fuzz import runtime

__all__ = [
    "FuzzMachine",
    "PropertyViolation",
    "StepLog",
    "ViolationKey",
]

ViolationKey = tuple[str, str, str]
"""(component, property, operation): what makes a defect distinct."""


@dataclass
class StepLog:
    """The operations of one example, as snippet code (the body of ``async def main()``)."""

    lines: list[str] = field(default_factory=list)
    steps: int = 0
    rule_start: int = 0
    """Index of the first line of the rule being run."""

    def code(self, line: str) -> None:
        self.lines.append(line)

    def check(self, expr: str, allowed: Iterable[str], seen: str) -> int:
        """Record ``check(step, <expr>, allowed, seen)``; returns the step number."""
        self.steps += 1
        self.lines.append(f"check({self.steps}, {expr}, {sorted(set(allowed))!r}, {seen!r})")
        return self.steps


class PropertyViolation(AssertionError):
    """A property of the contract failed in a fuzz step."""

    def __init__(
        self, key: ViolationKey, detail: str, *, expected: str, log: StepLog,
        preamble: list[str], independent: bool = False,
    ) -> None:
        super().__init__(f"{key[0]}.{key[2]}: {key[1]}: {detail}")
        self.key = key
        self.detail = detail
        self.expected = expected
        self.lines = list(log.lines[log.rule_start:] if independent else log.lines)
        self.rule_start = 0 if independent else log.rule_start
        """Index in ``lines`` of the first line of the rule that broke the property."""
        self.preamble = list(preamble)


class _Tainted(Exception):
    """Internal: a masked violation ended the example."""


class FuzzMachine(RuleBasedStateMachine):
    """Base class: owns an event loop, the step log and the masking rules.

    Subclasses are created per session by :func:`harness.fuzz.session.bind` with the class
    attributes below filled in.
    """

    component: ClassVar[str] = ""
    part: ClassVar[str | None] = None
    """The target part the machine drives (None: whatever parts the target has); a target
    without it is skipped before the session shares out its budget."""
    max_steps: ClassVar[int] = 0
    """Steps per example for this machine (0: the session's ``step_count``)."""
    independent_rules: ClassVar[bool] = False
    """True when no rule depends on an earlier one: a reproduction is the failing rule alone."""
    target: ClassVar[Any] = None
    masked: ClassVar[frozenset[ViolationKey]] = frozenset()
    deadline_ns: ClassVar[int] = 0
    hang_s: ClassVar[float] = 0.25
    seen: ClassVar[set[ViolationKey]]
    """Keys of masked violations met again (for the session's statistics)."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.log = StepLog()
        self.preamble: list[str] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.tainted = False
        self.tasks: list[asyncio.Task[Any]] = []
        self.logged: runtime.LogCount | None = None
        """Counts log records once an emitter that raises is in use."""
        self.failure_checked = False

    # -- emitters ------------------------------------------------------------------------

    def emitter_mode(self, drawn: str) -> str:
        """The emitter an example uses: never the raising one for a target that declares
        an emitter's exception reaches the caller (``events.emitter_isolated`` False) — a
        failing observer is outside what such a target promises to survive."""
        semantics = getattr(self.target, "semantics", None)
        if drawn == "raising" and semantics is not None and \
                semantics.value("events.emitter_isolated") is False:
            return "record"
        return drawn

    def emitter(self, mode: str) -> Callable[[str, dict[str, Any]], None]:
        """A recording emitter; ``mode == "raising"`` raises after recording (a faulty
        observer must never break the data path, and its failure must not go unseen)."""
        events = self.events
        if mode == "raising" and self.logged is None:
            self.logged = runtime.LogCount()
            logging.getLogger().addHandler(self.logged)

        def emit(name: str, payload: dict[str, Any]) -> None:
            events.append((name, dict(payload)))

        def emit_raising(name: str, payload: dict[str, Any]) -> None:
            events.append((name, dict(payload)))
            raise RuntimeError("emitter failure (injected)")

        return emit_raising if mode == "raising" else emit

    @staticmethod
    def emitter_code(mode: str) -> list[str]:
        if mode == "raising":
            return ["logged = LogCount()",
                    "logging.getLogger().addHandler(logged)",
                    "def emit(name, payload):",
                    "    events.append((name, dict(payload)))",
                    "    raise RuntimeError('emitter failure (injected)')"]
        return ["def emit(name, payload):", "    events.append((name, dict(payload)))"]

    # -- the loop --------------------------------------------------------------------------

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = self.loop.create_task(coro)
        self.tasks.append(task)
        return task

    def settle(self) -> None:
        self.run(runtime.settle())

    def _has_timers(self) -> bool:
        scheduled = getattr(self.loop, "_scheduled", None)
        if scheduled is None:
            return True  # unknown loop: assume the target may wake on a timer
        return any(not handle.cancelled() for handle in scheduled)

    def wait_tasks(self, tasks: list[asyncio.Task[Any]], extra_s: float = 0.0) -> None:
        """Give tasks that must end the time to end: at once if nothing can wake them
        (no ready callbacks, no timers), else up to ``hang_s + extra_s``."""
        pending = [t for t in tasks if not t.done()]
        if not pending:
            return
        if extra_s == 0.0 and not self._has_timers():
            self.settle()
            return
        self.run(asyncio.wait(pending, timeout=self.hang_s + extra_s))
        self.settle()

    def status(self, task: asyncio.Task[Any]) -> str:
        return self.run(runtime.status(task))

    # -- checking --------------------------------------------------------------------------

    def active(self) -> bool:
        """False once the example is tainted or the session's budget is spent."""
        if self.tainted:
            return False
        if self.deadline_ns and time.perf_counter_ns() > self.deadline_ns:
            self.tainted = True
            return False
        return True

    def fail(self, key: ViolationKey, detail: str, expected: str) -> None:
        """Report a violation (or end the example quietly if ``key`` is masked)."""
        if key in self.masked:
            self.seen.add(key)
            self.tainted = True
            raise _Tainted
        raise PropertyViolation(key, detail, expected=expected, log=self.log,
                                preamble=self.preamble, independent=self.independent_rules)

    def expect(
        self, key: ViolationKey, expr: str, got: str, allowed: Iterable[str], expected: str,
    ) -> None:
        """Log a check step and fail with ``key`` unless ``got`` is allowed."""
        allowed = set(allowed)
        self.log.check(expr, allowed, got)
        if got not in allowed:
            self.fail(key, f"observed {got}; allowed {sorted(allowed)}", expected)

    def soft_expect(
        self, key: ViolationKey, expr: str, got: str, allowed: Iterable[str], expected: str,
        *, path: bool = False,
    ) -> None:
        """Like :meth:`expect`, for checks after which the example can go on (telemetry,
        levels, or a model that follows the target): a masked one is skipped instead of
        ending the example. ``path``: the model follows what the target did here, so the
        rest of a reproduction applies only to a target that does the same (``same_path``);
        otherwise the masked step is a comment."""
        allowed = set(allowed)
        if key in self.masked and got not in allowed:
            self.seen.add(key)
            if path:
                self.log.code(f"same_path({expr}, {got!r})  # a defect reported separately")
            else:
                self.log.code(f"{expr}  # a defect reported separately; not checked here")
            return
        self.expect(key, expr, got, allowed, expected)

    def verify_emitter_failure(self, obj: Any, expr: str) -> None:
        """Once the raising emitter has raised, its failure is visible: logged, or counted
        in the object's statistics (checked once per example)."""
        if self.logged is None or self.failure_checked or not self.events:
            return
        self.failure_checked = True
        got = runtime.failure_visible(obj, self.logged)
        self.soft_expect((self.component, "emitter_failure_visible", "event emitter raised"),
                         f"failure_visible({expr}, logged)", got, {"visible"},
                         "an event emitter that raises is isolated (the data path goes on), "
                         "counted in the statistics and logged once: never silent")

    def teardown(self) -> None:
        if self.logged is not None:
            logging.getLogger().removeHandler(self.logged)
        for task in self.tasks:
            if not task.done():
                task.cancel()
        pending = [t for t in self.tasks if not t.done()]
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
        for task in self.tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved" noise
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


def guarded(rule: Callable[..., None]) -> Callable[..., None]:
    """Wrap a rule: skip it when the example is tainted, and swallow the masked end."""

    def wrapper(self: FuzzMachine, *args: Any, **kwargs: Any) -> None:
        if not self.active():
            return
        self.log.rule_start = len(self.log.lines)
        try:
            try:
                rule(self, *args, **kwargs)
            except (_Tainted, PropertyViolation):
                raise
            except Exception as exc:
                self.fail((self.component, "unexpected_error", rule.__name__),
                          f"{type(exc).__name__}: {exc}",
                          "every call either does its job or raises a documented error")
        except _Tainted:
            return

    wrapper.__name__ = rule.__name__
    wrapper.__qualname__ = rule.__qualname__
    wrapper.__doc__ = rule.__doc__
    wrapper.__signature__ = inspect.signature(rule)  # type: ignore[attr-defined]
    return wrapper
