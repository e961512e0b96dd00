"""The runner: one scenario at a time, each on a fresh event loop, under a deadline.

Contracts:

- **Fresh loop.** Every scenario attempt runs on its own new event loop, closed
  afterwards, so one scenario's leftovers (tasks, timers, callbacks) cannot touch the next.
- **Deadline.** A scenario gets ``--timeout`` seconds, else its ``deadline_s`` parameter,
  else :data:`DEFAULT_DEADLINE_S`. Its tasks are cut ``grace`` seconds before the deadline
  (``grace = min(0.5 s, deadline / 10)``) so the attempt ends within the deadline: the run
  never takes longer than the sum of its deadlines plus the time to compute metrics.
  At the cut every watched task still running (``ctx.spawn``, and the scenario itself if it
  is the one blocked) is reported in a failed ``no_hang`` invariant with the stack of the
  await it is stuck in, then cancelled. A task that ignores cancellation for ``grace``
  seconds is abandoned (kept referenced, never resumed) and the scenario's status is
  ``timeout``. The run goes on.
- **Crash.** An exception from the scenario, or from a watched task not spawned with
  ``may_fail``, makes the status ``error`` (with the exception and its traceback); the run
  goes on.
- **Skip.** A scenario that ``requires`` a part (``part:buffer``...) or a capability
  the target lacks does not run, and one whose target raises ``CapabilityMissing`` stops
  there: either way the entry's ``skipped`` says what was missing (``part`` or
  ``capability``, with the reason) and, when nothing else went wrong, the status is
  ``skipped``. (``ctx.skip`` records a part skipped by a scenario that goes on; it does not
  change the status.) A missing part is no shortcoming of the target: findings file
  improvements only for missing capabilities.
- **No blame for the harness's noise.** The heap is collected and frozen before the
  scenario and every collection during it is recorded (:mod:`harness.pauses`, the entry's
  ``gc``); the checks take pauses off what they judge, and sends the generator itself sent
  late out of the latency bound. What was excused is listed in the entry's ``excused``.
- **Levels.** Each invariant says the contract level it judged at (``level``, and per
  defect key), from the target's declared ``semantics`` (:mod:`harness.contract`).
- **Judged by what the target declares.** A failed invariant whose every broken clause
  the target declares otherwise (:mod:`harness.declared`) stays in the entry with
  ``as_declared`` and is listed in ``excused`` with its declarations; it fails nothing.
- **Status**, most severe first: ``timeout`` (a task ignored cancellation or the isolated
  process wedged), ``error``, ``fail`` (an invariant broke, hangs included, and the
  target does not declare what it saw), ``invalid``
  (the load generator could not keep its schedule, or the scenario said so), ``skipped``
  (a capability was missing), ``pass``.
- **Seeds.** Each attempt's seed is derived from the run seed, the scenario name and the
  repeat index (:func:`derive_seed`), so ``stageflow-stress run NAME --seed N`` replays.
- **Isolation** (``isolate=True``): the attempt runs in a child interpreter
  (``python -m harness.runner``) that writes its result JSON to a file. The child arms
  ``faulthandler`` just after the deadline, so an event loop wedged by code that never
  yields is dumped (every thread's stack) and ended; the parent kills the child at a hard
  deadline as a last resort. Either way the status is ``timeout`` with the stack.
- **Saturation.** From the trace, the runner computes each send's *schedule lag*: put
  start - max(intended time, the same producer's previous put end), the delay the
  generator itself caused. When more than ``saturation_fraction`` (default 1 %) of sends
  lag by more than ``saturation_lag_ms`` (default 20 ms) the scenario is ``invalid``: the
  machine, not the target, set the pace. Both can be scenario parameters.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import faulthandler
import hashlib
import importlib
import linecache
import os
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from harness import metrics as m
from harness.contract import Level, Semantics
from harness.declared import excuse
from harness.defects import parse_keys
from harness.errors import HarnessError
from harness.hypotheses import evaluate_hypotheses
from harness.invariants import (
    INVARIANT_HYPOTHESES,
    Expectations,
    HungTask,
    Observations,
    Verdict,
    account_for,
    check_all,
    clause_level,
    delivered_times_ns,
    latencies_ns,
    observe,
    schedule_lag_ns,
)
from harness.jsonio import read_json, write_json_atomic
from harness.pauses import PauseRecorder, overlap_ns, pauses_report
from harness.results import SCHEMA_VERSION, environment, new_run_id
from harness.soak import SoakMonitor, apply_verdict
from harness.targets import (
    CapabilityMissing,
    Target,
    as_target,
    load_target,
    missing_requirements,
)
from harness.timeseries import build_timeseries
from mocks.consumers import take_nowait
from mocks.trace import Trace
from scenarios.context import PARTS, SLO_KEYS
from scenarios.registry import ScenarioSpec, get_scenario

__all__ = [
    "DEFAULT_DEADLINE_S",
    "SUMMARY_KEYS",
    "RunContext",
    "Runner",
    "await_stack",
    "blank_entry",
    "build_run_document",
    "configured_scenario_modules",
    "derive_seed",
    "import_scenario_modules",
    "run_scenario",
    "summarize",
    "waiting_on",
]

DEFAULT_DEADLINE_S = 30.0
SAMPLE_INTERVAL_S = 0.001
RSS_EVERY = 20  # RSS is sampled every RSS_EVERY loop-lag samples (~20 ms)
DEFAULT_SATURATION_LAG_MS = 20.0
DEFAULT_SATURATION_FRACTION = 0.01
_ASYNCIO_DIR = str(Path(asyncio.__file__).parent)
_ABANDONED: list[asyncio.Task[Any]] = []  # tasks that ignored cancellation: never resumed


def _semantics(target: Target) -> list[dict[str, Any]]:
    """The target's declarations as the results document carries them (judged by them)."""
    as_list = getattr(getattr(target, "semantics", None), "as_list", None)
    return as_list() if callable(as_list) else []


def derive_seed(run_seed: int, name: str, repeat_index: int = 0) -> int:
    """A scenario attempt's seed: stable for (run seed, scenario name, repeat index)."""
    digest = hashlib.blake2b(f"{run_seed}:{name}:{repeat_index}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") & 0x7FFF_FFFF


def configured_scenario_modules(start: Path | None = None) -> list[str]:
    """``scenario_modules`` of ``[tool.stageflow-stress]`` in the nearest pyproject.toml.

    Lets a project (or another part of this product, e.g. an adversarial suite) have its
    scenario modules imported by ``run`` and ``list`` without ``--scenarios`` each time.

    :raises HarnessError: the file is not valid TOML or the key is not a list of strings.
    """
    directory = Path(start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            break
    else:
        return []
    try:
        with open(candidate, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HarnessError(f"cannot read {candidate}: {exc}") from None
    modules = doc.get("tool", {}).get("stageflow-stress", {}).get("scenario_modules", [])
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise HarnessError(f"{candidate}: [tool.stageflow-stress] scenario_modules must be a "
                           "list of module names")
    return list(modules)


def import_scenario_modules(modules: Iterable[str]) -> None:
    """Import user modules that register scenarios with ``@scenario``.

    :raises HarnessError: a module cannot be imported or fails while importing.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            raise HarnessError(f"--scenarios {module}: cannot import: {exc}") from None
        except Exception as exc:
            raise HarnessError(
                f"--scenarios {module}: importing failed: {type(exc).__name__}: {exc}"
            ) from None


# --- where a task waits ---------------------------------------------------------------------

def _frame_line(frame: Any) -> str:
    code = frame.f_code
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f'File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}: {line}'


def _await_chain(task: asyncio.Task[Any]) -> Iterator[tuple[Any, Any]]:
    """``(awaitable, its frame or None)`` along the chain of awaits a suspended task is
    stuck in, outermost first, following ``cr_await`` (and ``gi_yieldfrom``/``ag_await``)
    and into awaited tasks (yielded with frame None)."""
    seen: set[int] = set()
    obj: Any = task.get_coro()
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        if isinstance(obj, asyncio.Task):
            yield obj, None
            obj = obj.get_coro()
            continue
        frame = (getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
                 or getattr(obj, "ag_frame", None))
        yield obj, frame
        obj = (getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
               or getattr(obj, "ag_await", None))


def await_stack(task: asyncio.Task[Any]) -> tuple[str, str]:
    """``(where, stack)`` of a suspended task: the chain of awaits it is stuck in.

    ``Task.get_stack()`` returns only the outermost frame of a suspended coroutine, so this
    follows the whole chain (:func:`_await_chain`) down to the innermost frame, and into
    awaited tasks. ``where`` is the innermost frame outside asyncio itself (the library
    call that waits), ``file:line in function: source``.
    """
    lines: list[str] = []
    innermost = ""
    innermost_user = ""
    for obj, frame in _await_chain(task):
        if isinstance(obj, asyncio.Task):
            lines.append(f"  awaiting task {obj.get_name()!r}")
            continue
        if frame is not None:
            lines.append("  " + _frame_line(frame))
            code = frame.f_code
            innermost = (f"{Path(code.co_filename).name}:{frame.f_lineno} in "
                         f"{code.co_qualname}: "
                         f"{linecache.getline(code.co_filename, frame.f_lineno).strip()}")
            if not code.co_filename.startswith(_ASYNCIO_DIR):
                innermost_user = innermost
        nxt = (getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
               or getattr(obj, "ag_await", None))
        if nxt is None and isinstance(obj, asyncio.Future) and not obj.done():
            lines.append(f"  waiting on {obj!r}"[:300])
    if not lines:
        for frame in task.get_stack():
            lines.append("  " + _frame_line(frame))
    return innermost_user or innermost or "unknown location", "\n".join(lines)


def waiting_on(task: asyncio.Task[Any], queues: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(queue name, method)`` when a suspended task waits in a method of one of
    ``queues`` (the outermost such frame: the call the task made, e.g. ``put``), else None.

    An adapter's queue names the library objects its methods forward to in ``natives``
    (pairs of object and ``{library method: harness method}``, docs/targets.md), so a task
    waiting inside the library (anyio's ``send``) is seen in the harness call (``put``)."""
    names: dict[int, tuple[str, Mapping[str, str]]] = {}
    for name, queue in queues.items():
        names[id(queue)] = (name, {})
        for native, calls in getattr(queue, "natives", ()):  # an adapter's library objects
            names.setdefault(id(native), (name, calls))
    for _obj, frame in _await_chain(task):
        if frame is None:
            continue
        owner = frame.f_locals.get("self")
        if owner is not None and id(owner) in names:
            name, calls = names[id(owner)]
            return name, calls.get(frame.f_code.co_name, frame.f_code.co_name)
    return None


# --- the context ----------------------------------------------------------------------------

class RunContext:
    """The runner's implementation of :class:`scenarios.context.ScenarioContext`."""

    def __init__(self, *, spec: ScenarioSpec, target: Target, params: Mapping[str, Any],
                 quick: bool, seed: int, deadline_ns: int) -> None:
        self.name = spec.name
        self.spec = spec
        self.target = target
        self.params = dict(params)
        self.quick = quick
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.trace = Trace()
        self.deadline_ns = deadline_ns
        self.expectations = Expectations(semantics=target_semantics(target))
        self.tasks: list[tuple[asyncio.Task[Any], bool]] = []
        self.notes: dict[str, Any] = {}
        self.verdicts: list[Verdict] = []
        self.skipped: list[dict[str, str]] = []
        self.invalid_reasons: list[str] = []
        self.slo_values: dict[str, Any] = {}
        self.measurements: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, Any] = {}
        self.buffers: dict[str, Any] = {}
        self.main_task: asyncio.Task[Any] | None = None
        self.memory_monitor: SoakMonitor | None = None

    # identity and randomness
    def seed_for(self, label: str) -> int:
        return derive_seed(self.seed, label)

    def remaining_s(self) -> float:
        return max(0.0, (self.deadline_ns - time.perf_counter_ns()) / 1e9)

    # tasks
    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str,
              may_fail: bool = False) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append((task, may_fail))
        return task

    # what the scenario tells the harness
    def note(self, key: str, value: Any) -> None:
        self.notes[str(key)] = value

    def expect(self, name: str, passed: bool, detail: str = "", *,
               hypotheses: tuple[str, ...] = (),
               defects: Iterable[tuple[str, str, str]] = (),
               level: str = Level.UNIVERSAL, clause: str | None = None) -> None:
        try:
            keys = parse_keys(defects)
            judged = Level(level) if clause is None else clause_level(self.semantics, clause)
        except ValueError as exc:
            raise ValueError(f"expect({name!r}): {exc}") from None
        self.verdicts.append(Verdict(str(name), bool(passed), " ".join(str(detail).split()),
                                     hypotheses=tuple(hypotheses), defects=keys,
                                     level=judged, clause=clause))

    @property
    def semantics(self) -> Semantics:
        return self.expectations.semantics

    def declares(self, clause: str, value: Any = True) -> bool:
        return self.semantics.value(clause) == value

    def closed(self, name: str = "queue") -> None:
        if name not in self.queues:
            raise ValueError(f"closed({name!r}): no watched queue of that name "
                             f"(watched: {', '.join(self.queues) or 'none'})")
        self.expectations.closed.setdefault(name, time.perf_counter_ns())

    def skip(self, capability: str, reason: str = "") -> None:
        # a part the target does not have (a queue-only library's buffer) is no shortcoming
        record = _skip_record(str(capability), str(reason))
        if record not in self.skipped:
            self.skipped.append(record)

    def invalid(self, reason: str) -> None:
        self.invalid_reasons.append(str(reason))

    def slo(self, **values: float | int | None) -> None:
        unknown = sorted(set(values) - set(SLO_KEYS))
        if unknown:
            raise ValueError(f"unknown SLO keys {unknown}; known: {list(SLO_KEYS)}")
        self.slo_values.update(values)

    def measure(self, group: str, values: Mapping[str, Any]) -> None:
        if group in _empty_metrics() or not str(group).isidentifier():
            raise ValueError(f"measure({group!r}): not a free metrics group name")
        self.measurements.setdefault(str(group), {}).update(values)

    def watch_queue(self, queue: Any, *, max_size: int | None, name: str = "queue") -> None:
        self.queues[name] = queue
        self.expectations.queues[name] = max_size

    def watch_buffer(self, buffer: Any, *, max_ms: float | None, name: str = "buffer") -> None:
        self.buffers[name] = buffer
        self.expectations.buffers[name] = max_ms

    def expect_frames(self, frame_bytes: int, *, series: str = "read_bytes") -> None:
        if frame_bytes < 1:
            raise ValueError(f"frame_bytes must be >= 1, got {frame_bytes}")
        self.expectations.frames[series] = int(frame_bytes)

    def sends_into_buffer(self) -> None:
        self.expectations.chunk_identity = False

    def bound_latency(self, p99_ms: float) -> None:
        if not p99_ms > 0:
            raise ValueError(f"p99_ms must be > 0, got {p99_ms}")
        self.expectations.latency_p99_ms = float(p99_ms)

    def bound_memory(self, max_growth_bytes: int) -> None:
        if max_growth_bytes < 0:
            raise ValueError(f"max_growth_bytes must be >= 0, got {max_growth_bytes}")
        self.expectations.memory_growth_limit = int(max_growth_bytes)

    def expect_flat_memory(self, duration_s: float) -> None:
        if self.memory_monitor is not None:
            raise RuntimeError("expect_flat_memory() called twice in one scenario")
        if not duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {duration_s}")
        if SoakMonitor.watching:  # a soak (run --duration) judges memory_trend already
            return
        self.memory_monitor = SoakMonitor(float(duration_s))
        self.memory_monitor.start()

    # harness side
    def sample_once(self, process: psutil.Process | None, now: int) -> None:
        trace = self.trace
        for name, queue in self.queues.items():
            with contextlib.suppress(Exception):
                trace.sample(f"queue_depth.{name}", len(queue), now)
        for name, buffer in self.buffers.items():
            level = buffer_level_ms(buffer)
            if level is not None:
                trace.sample(f"buffer_ms.{name}", level, now)
        if process is not None:
            with contextlib.suppress(psutil.Error):
                trace.sample("rss_bytes", process.memory_info().rss, now)

    async def sampler(self) -> None:
        """Loop lag (oversleep of a 1 ms sleep), queue depth and buffer level every ~1 ms,
        RSS every ~20 ms."""
        process = psutil.Process()
        self.sample_once(process, time.perf_counter_ns())
        tick = 0
        while True:
            before = time.perf_counter_ns()
            await asyncio.sleep(SAMPLE_INTERVAL_S)
            now = time.perf_counter_ns()
            lag_ms = (now - before) / 1e6 - 1e3 * SAMPLE_INTERVAL_S
            self.trace.sample("loop_lag_ms", max(0.0, lag_ms), now)
            tick += 1
            self.sample_once(process if tick % RSS_EVERY == 0 else None, now)


def buffer_level_ms(buffer: Any) -> float | None:
    """A buffer's level in ms: ``current_ms`` where the target has it, else ``duration_ms``."""
    for attr in ("current_ms", "duration_ms"):
        try:
            value = getattr(buffer, attr)
            value = value() if callable(value) else value
            return float(value)
        except Exception:
            continue
    return None


def _skip_record(capability: str, reason: str) -> dict[str, str]:
    """An entry of ``skipped``: what was missing and why. A missing *part* (a queue-only
    library's buffer, ``buffer`` or ``part:buffer``) also says ``part``: it is no shortcoming
    of the target, and findings file no improvement for it."""
    record = {"capability": capability, "reason": reason}
    part = capability.removeprefix("part:")
    if part in PARTS and part != "duplex":  # duplex stays a capability of ours to recommend
        record["part"] = part
    return record


def target_semantics(target: Any) -> Semantics:
    """What ``target`` declares (its ``semantics`` attribute), or nothing."""
    semantics = getattr(target, "semantics", None)
    return semantics if isinstance(semantics, Semantics) else Semantics()


def _reported_drops(queue: Any) -> int | None:
    """Items the queue's own counters say it dropped, when it has such a counter."""
    counts = []
    with contextlib.suppress(Exception):
        counts.append(int(queue.statistics().dropped))
    with contextlib.suppress(Exception):
        counts.append(int(queue.monitor.stats.dropped_items))
    return max(counts) if counts else None


def _reported_peak(queue: Any) -> int | None:
    peaks = []
    with contextlib.suppress(Exception):
        peaks.append(int(queue.statistics().peak_size))
    with contextlib.suppress(Exception):
        peaks.append(int(queue.monitor.stats.max_queue_size))
    return max(peaks) if peaks else None


# --- one attempt ----------------------------------------------------------------------------

@dataclass
class _Supervised:
    hung: list[HungTask] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    error: BaseException | None = None
    error_task: str = ""
    stranded: list[tuple[int, int, int]] = field(default_factory=list)
    cut: bool = False
    loop_messages: list[str] = field(default_factory=list)


async def _supervise(ctx: RunContext, cut_ns: int, grace_s: float) -> _Supervised:
    out = _Supervised()
    loop = asyncio.get_running_loop()
    sampler = loop.create_task(ctx.sampler(), name="harness-sampler")
    main = loop.create_task(ctx.spec.fn(ctx), name=ctx.name)
    ctx.main_task = main

    def remaining() -> float:
        return max(0.0, (cut_ns - time.perf_counter_ns()) / 1e9)

    try:
        while True:  # until everything is done, something crashed, or the cut
            if main.done() and not main.cancelled() and main.exception() is not None:
                out.error, out.error_task = main.exception(), ctx.name
                break
            crashed = [t for t, may_fail in ctx.tasks
                       if t.done() and not may_fail and not t.cancelled()
                       and t.exception() is not None]
            if crashed:
                out.error, out.error_task = crashed[0].exception(), crashed[0].get_name()
                break
            pending = [t for t, _ in ctx.tasks if not t.done()]
            if not main.done():
                pending.append(main)
            if not pending or remaining() <= 0:
                break
            await asyncio.wait(pending, timeout=remaining(),
                               return_when=asyncio.FIRST_COMPLETED)
        still = [t for t, _ in ctx.tasks if not t.done()]
        if out.error is None and (still or not main.done()):
            out.cut = True
            for name, queue in ctx.queues.items():  # what each queue held while tasks waited
                with contextlib.suppress(Exception):
                    ctx.expectations.queue_held[name] = len(queue)
            blocked = still or [main]
            for task in blocked:
                where, stack = await_stack(task)
                queue, call = waiting_on(task, ctx.queues) or (None, None)
                out.hung.append(HungTask(task.get_name(), where, stack, queue=queue,
                                         call=call))
                ctx.trace.blocked[task.get_name()] = where
        leftovers = [*still, *([] if main.done() else [main])]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers, timeout=grace_s)
            for task in leftovers:
                if not task.done():
                    out.abandoned.append(task.get_name())
                    _ABANDONED.append(task)
        for name, queue in ctx.queues.items():
            peak = _reported_peak(queue)
            if peak is not None:
                ctx.expectations.queue_peaks[name] = peak
            drops = _reported_drops(queue)
            if drops is not None:
                ctx.expectations.queue_drops[name] = drops
            out.stranded.extend(t for t in take_nowait(queue) if t[0] >= 0)  # identified
        ctx.sample_once(psutil.Process(), time.perf_counter_ns())
    finally:
        sampler.cancel()
        await asyncio.wait({sampler}, timeout=1.0)
    for task, _may_fail in ctx.tasks:  # retrieve exceptions so none is logged as unretrieved
        if task.done() and not task.cancelled():
            task.exception()
    return out


def _run_on_fresh_loop(ctx: RunContext, cut_ns: int, grace_s: float) -> _Supervised:
    loop = asyncio.new_event_loop()
    messages: list[str] = []
    loop.set_exception_handler(lambda _loop, context: messages.append(str(context.get("message"))))
    result: _Supervised | None = None
    try:
        result = loop.run_until_complete(_supervise(ctx, cut_ns, grace_s))
        if not result.abandoned:
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), grace_s))
            with contextlib.suppress(Exception):
                loop.run_until_complete(
                    asyncio.wait_for(loop.shutdown_default_executor(), grace_s))
    finally:
        loop.close()
    result.loop_messages = messages
    return result


def _deadline_s(params: Mapping[str, Any], timeout_s: float | None) -> float:
    if timeout_s is not None:
        return float(timeout_s)
    value = params.get("deadline_s", DEFAULT_DEADLINE_S)
    return float(value)


def _grace_s(deadline_s: float) -> float:
    return min(0.5, deadline_s / 10)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def run_scenario(
    spec: ScenarioSpec, target: Target, *, quick: bool, seed: int, repeat_index: int = 0,
    overrides: Mapping[str, Any] | None = None, timeout_s: float | None = None,
    reproduction: str | None = None, on_context: Callable[[RunContext], None] | None = None,
) -> dict[str, Any]:
    """Run one attempt of ``spec`` in this process on a fresh event loop.

    Returns the scenario entry of the results document (see docs/architecture.md).
    ``on_context`` is called with the attempt's context before it starts.
    """
    target = as_target(target)
    params = spec.params(quick=quick, overrides=overrides)
    deadline_s = _deadline_s(params, timeout_s)
    grace_s = _grace_s(deadline_s)
    entry = _entry_skeleton(spec, params, seed, repeat_index, reproduction)
    missing = missing_requirements(target, spec.requires)
    if missing:
        entry["status"] = "skipped"
        entry["skipped"] = [
            _skip_record(need, f"required by the scenario; target {target.name!r} " + (
                f"has no {need[5:]}" if need.startswith("part:") else "lacks it"))
            for need in missing]
        entry["duration_ms"] = 0.0
        entry["metrics"] = _empty_metrics()
        return entry
    with PauseRecorder() as gc_pauses:  # collects and freezes first: not on the clock
        started = time.perf_counter_ns()
        cut_ns = started + int((deadline_s - grace_s) * 1e9)
        ctx = RunContext(spec=spec, target=target, params=params, quick=quick, seed=seed,
                         deadline_ns=cut_ns)
        ctx.expectations.deadline_s = deadline_s
        if on_context is not None:
            on_context(ctx)
        try:
            supervised = _run_on_fresh_loop(ctx, cut_ns, grace_s)
        finally:
            if ctx.memory_monitor is not None:
                ctx.memory_monitor.stop()
    duration_ms = (time.perf_counter_ns() - started) / 1e6
    ctx.expectations.pauses = gc_pauses.intervals()
    entry["gc"] = pauses_report(gc_pauses.pauses, started)
    entry = _finish(entry, ctx, supervised, duration_ms, reproduction)
    if ctx.memory_monitor is not None:
        apply_verdict(entry, ctx.memory_monitor.report())
    return entry


def _entry_skeleton(spec: ScenarioSpec, params: Mapping[str, Any], seed: int,
                    repeat_index: int, reproduction: str | None) -> dict[str, Any]:
    return {
        "name": spec.name, "category": spec.category, "hypotheses": list(spec.hypotheses),
        "description": spec.description, "status": "pass", "duration_ms": 0.0,
        "repeat_index": repeat_index, "seed": seed, "params": dict(params),
        "metrics": {}, "invariants": [], "error": None, "skipped": [],
        "invalid_reason": None, "reproduction": reproduction,
    }


def blank_entry(spec: ScenarioSpec, params: Mapping[str, Any], *, seed: int,
                repeat_index: int = 0, reproduction: str | None = None) -> dict[str, Any]:
    """A scenario entry with empty metrics, for an attempt that never reported (a worker
    process that died or was killed): the caller sets its status and what went wrong."""
    entry = _entry_skeleton(spec, params, seed, repeat_index, reproduction)
    entry["metrics"] = _empty_metrics()
    return entry


def _finish(entry: dict[str, Any], ctx: RunContext, sup: _Supervised, duration_ms: float,
            reproduction: str | None) -> dict[str, Any]:
    expect = ctx.expectations
    expect.hung = sup.hung
    expect.abandoned = sup.abandoned
    # items still queued when the scenario was cut at its deadline, or stopped because the
    # target lacked something it needed (a close() to end the stream), were never lost
    expect.stranded_ok = sup.cut or isinstance(sup.error, CapabilityMissing)
    expect.lag_limit_ms = float(ctx.params.get("saturation_lag_ms", DEFAULT_SATURATION_LAG_MS))
    obs = observe(ctx.trace, stranded=sup.stranded)
    verdicts = [_judged(_attributed(v, ctx.spec, reproduction), expect.semantics)
                for v in check_all(obs, expect) + ctx.verdicts]
    entry["invariants"] = [v.as_dict() for v in verdicts]
    entry["metrics"] = compute_metrics(obs, ctx, expect, duration_ms)
    entry["duration_ms"] = round(duration_ms, 3)
    entry["skipped"] = list(ctx.skipped)
    saturation = entry["metrics"]["generator"]
    excused = [{"check": v.name, "detail": v.excused} for v in verdicts if v.excused]
    excused += [{"check": v.name, "detail": v.as_declared["reason"],
                 "declarations": v.as_declared["declarations"]}
                for v in verdicts if v.as_declared is not None]
    if saturation.get("late_by_gc"):
        excused.append({"check": "saturation",
                        "detail": f"{saturation['late_by_gc']} sends late only by a GC pause "
                                  "not counted as the generator falling behind"})
    entry["excused"] = excused
    reasons = list(ctx.invalid_reasons)
    if saturation["saturated"]:
        reasons.append(
            f"load generator fell behind its own schedule: {saturation['late_fraction']:.1%} "
            f"of sends started more than {saturation['lag_limit_ms']:g} ms late "
            f"(max {saturation['schedule_lag_ms_max']:.1f} ms)")
    error = sup.error
    lacked = False
    if isinstance(error, CapabilityMissing):  # the scenario stopped where the target lacked it
        lacked = True
        entry["skipped"].append({"capability": error.capability, "reason": str(error)})
        error = None
    if error is not None:
        where = f" in task {sup.error_task!r}" if sup.error_task != ctx.name else ""
        entry["error"] = _error_text(error) + where
        entry["traceback"] = "".join(traceback.format_exception(error)).rstrip()
    entry["invalid_reason"] = "; ".join(reasons) or None
    entry["cut_at_deadline"] = sup.cut
    if sup.loop_messages:
        entry["loop_messages"] = sup.loop_messages[:10]
    entry["status"] = _status(verdicts, sup, entry["error"], reasons, lacked=lacked)
    return entry


def _attributed(verdict: Verdict, spec: ScenarioSpec, reproduction: str | None) -> Verdict:
    """The verdict with its hypotheses resolved against the scenario's and, when it failed,
    the reproduction command."""
    wanted = verdict.hypotheses or INVARIANT_HYPOTHESES.get(verdict.name.split("[")[0], ())
    hyps = tuple(h for h in wanted if h in spec.hypotheses) or tuple(spec.hypotheses)
    return dataclasses.replace(
        verdict, hypotheses=hyps,
        reproduction=verdict.reproduction or (None if verdict.passed else reproduction))


def _judged(verdict: Verdict, semantics: Semantics) -> Verdict:
    """The verdict with ``as_declared`` set when the target declares what it saw broken
    (:func:`harness.declared.excuse`): it then fails no status."""
    why = excuse(passed=verdict.passed, defects=verdict.defects, clause=verdict.clause,
                 unattributed=bool(verdict.unattributed or verdict.unattributed_stack),
                 semantics=semantics, detail=verdict.detail)
    return verdict if why is None else dataclasses.replace(verdict, as_declared=why)


def _status(verdicts: Sequence[Verdict], sup: _Supervised, error: str | None,
            reasons: Sequence[str], *, lacked: bool) -> str:
    if sup.abandoned:
        return "timeout"
    if error is not None:
        return "error"
    if any(not v.passed and v.as_declared is None for v in verdicts):
        return "fail"
    if reasons:
        return "invalid"
    if lacked:
        return "skipped"
    return "pass"


# --- metrics of one attempt -----------------------------------------------------------------

def _empty_metrics() -> dict[str, Any]:
    empty = m.percentile_summary([])
    return {
        "sent": 0, "delivered": 0, "dropped": 0, "lost": 0, "duplicated": 0, "refused": 0,
        "stranded": 0, "throughput_cps": 0.0, "offered_cps": 0.0,
        "latency_ms": dict(empty), "service_ms": dict(empty),
        "latency_hdr": m.encode_histogram([]), "service_hdr": m.encode_histogram([]),
        "memory": {"peak_bytes": 0, "growth_bytes_per_s": 0.0, "growth_bytes": 0},
        "slo": {"underruns": 0, "underrun_ms": 0.0, "drop_ratio": 0.0, "recovery_ms": None,
                "loop_lag_ms_max": 0.0, "loop_lag_ms_p99": 0.0},
        "generator": {"schedule_lag_ms_max": 0.0, "schedule_lag_ms_p99": 0.0,
                      "late_fraction": 0.0, "lag_limit_ms": DEFAULT_SATURATION_LAG_MS,
                      "saturated": False},
        "series": {}, "events": {}, "notes": {}, "timeseries": None,
    }


def compute_metrics(obs: Observations, ctx: RunContext, expect: Expectations,
                    duration_ms: float) -> dict[str, Any]:
    """The ``metrics`` object of a scenario entry (see harness.metrics for definitions)."""
    out = _empty_metrics()
    acc = account_for(obs, expect)
    if expect.chunk_identity:
        out.update(sent=acc.sent, delivered=acc.delivered, dropped=acc.dropped, lost=acc.lost,
                   duplicated=acc.duplicated, refused=acc.refused, stranded=acc.stranded)
    else:  # writes into a buffer: an accepted write is delivered; bytes are checked apart
        accepted = int((obs.send_outcome == "queued").sum())
        out.update(sent=acc.sent, delivered=accepted, refused=acc.sent - accepted)
    latency = latencies_ns(obs)
    service = obs.send_end - obs.send_start
    out["latency_ms"] = m.percentile_summary(latency)
    out["service_ms"] = m.percentile_summary(service)
    out["latency_hdr"] = m.encode_histogram(latency)
    out["service_hdr"] = m.encode_histogram(service)
    delivered_t = obs.recv_t[~obs.recv_stranded]
    if not expect.chunk_identity:
        delivered_t = obs.send_end[obs.send_outcome == "queued"]
    if out["delivered"] and delivered_t.size and obs.send_intended.size:
        window = (int(delivered_t.max()) - int(obs.send_intended.min())) / 1e9
        out["throughput_cps"] = round(out["delivered"] / window, 1) if window > 0 else 0.0
    if obs.send_intended.size > 1:
        span = (int(obs.send_intended.max()) - int(obs.send_intended.min())) / 1e9
        out["offered_cps"] = round(obs.send_intended.size / span, 1) if span > 0 else 0.0

    origin = int(obs.send_intended.min()) if obs.send_intended.size else None
    series: dict[str, Any] = {}
    for name in sorted(obs.samples):
        t, values = obs.series(name)
        if name in expect.frames:  # per-read lengths: counted by whole_frames, not plotted
            continue
        series[name] = m.series_summary(t, values, origin_ns=origin)
    out["series"] = series

    t_rss, rss = obs.series("rss_bytes")
    if rss.size:
        out["memory"] = {"peak_bytes": int(rss.max()),
                         "growth_bytes": int(rss.max() - rss[0]),
                         "growth_bytes_per_s": round(m.slope_per_s(t_rss, rss), 1)}
    _t, lag = obs.series("loop_lag_ms")
    events: dict[str, int] = {}
    for name, _payload, _t_ev in obs.events:
        events[name] = events.get(name, 0) + 1
    out["events"] = events
    slo = out["slo"]
    slo["underruns"] = events.get("stream.buffer_underrun", 0)
    slo["drop_ratio"] = round(acc.dropped / acc.sent, 6) if acc.sent else 0.0
    if lag.size:
        slo["loop_lag_ms_max"] = round(float(lag.max()), 3)
        slo["loop_lag_ms_p99"] = round(float(m.nearest_rank(lag, [99.0])[0]), 3)
    for key in SLO_KEYS:
        if key in ctx.slo_values:
            slo[key] = ctx.slo_values[key]

    lag_limit_ms = float(ctx.params.get("saturation_lag_ms", DEFAULT_SATURATION_LAG_MS))
    fraction_limit = float(ctx.params.get("saturation_fraction", DEFAULT_SATURATION_FRACTION))
    sched = schedule_lag_ns(obs)
    gen = out["generator"]
    gen["lag_limit_ms"] = lag_limit_ms
    if sched.size:
        late = sched > lag_limit_ms * 1e6
        # a send late only because the collector stopped the loop is the harness's pause
        paused = overlap_ns(expect.pauses, obs.send_start - sched, obs.send_start)
        by_gc = late & (sched - paused <= lag_limit_ms * 1e6)
        late_fraction = float((late & ~by_gc).mean())
        gen.update(
            schedule_lag_ms_max=round(float(sched.max()) / 1e6, 3),
            schedule_lag_ms_p99=round(float(m.nearest_rank(sched, [99.0])[0]) / 1e6, 3),
            late_fraction=round(late_fraction, 6),
            saturated=late_fraction > fraction_limit,
        )
        if by_gc.any():
            gen["late_by_gc"] = int(by_gc.sum())
    out["notes"] = dict(ctx.notes)
    out["timeseries"] = _timeseries(obs, ctx, expect, delivered_t)
    out.update(ctx.measurements)
    return out


def _timeseries(obs: Observations, ctx: RunContext, expect: Expectations,
                delivered_t: np.ndarray) -> dict[str, Any] | None:
    """``metrics.timeseries``: the bounded per-window series the HTML report plots."""
    intended, received = delivered_times_ns(obs)
    samples = {name: obs.series(name) for name in obs.samples if name not in expect.frames}
    return build_timeseries(
        intended_ns=obs.send_intended, delivered_intended_ns=intended,
        delivered_recv_ns=received, delivery_ns=delivered_t, samples=samples,
        events=obs.events, closes_ns=expect.closed.values(), faults=ctx.trace.faults)


# --- isolation ------------------------------------------------------------------------------

_CHILD_STARTUP_S = 10.0  # interpreter start + imports, before the child's own deadline


def _run_isolated(spec: ScenarioSpec, target_spec: str, *, modules: Sequence[str],
                  quick: bool, seed: int, repeat_index: int, overrides: Mapping[str, Any],
                  timeout_s: float | None, reproduction: str | None,
                  inject: str | None = None) -> dict[str, Any]:
    params = spec.params(quick=quick, overrides=overrides)
    deadline_s = _deadline_s(params, timeout_s)
    with tempfile.TemporaryDirectory(prefix="stageflow-stress-") as tmp:
        result_path = Path(tmp) / "result.json"
        job = {
            "scenario": spec.name, "target": target_spec, "modules": list(modules),
            "quick": quick, "seed": seed, "repeat_index": repeat_index,
            "overrides": dict(overrides), "timeout_s": timeout_s,
            "reproduction": reproduction, "result_path": str(result_path),
            "inject": inject,
        }
        job_path = Path(tmp) / "job.json"
        write_json_atomic(job_path, job)
        hard_s = deadline_s + _CHILD_STARTUP_S + 30.0
        started = time.perf_counter_ns()
        env = dict(os.environ, PYTHONFAULTHANDLER="0")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "harness.runner", str(job_path)],
                capture_output=True, text=True, timeout=hard_s, env=env, check=False,
            )
            stderr, killed = proc.stderr, False
        except subprocess.TimeoutExpired as exc:
            raw = exc.stderr or ""
            stderr, killed = raw.decode(errors="replace") if isinstance(raw, bytes) else raw, True
        duration_ms = (time.perf_counter_ns() - started) / 1e6
        if result_path.exists():
            return dict(read_json(result_path, what="isolated result"))
    entry = _entry_skeleton(spec, params, seed, repeat_index, reproduction)
    entry["metrics"] = _empty_metrics()
    entry["duration_ms"] = round(duration_ms, 3)
    wedged = killed or "Timeout (" in stderr
    tail = stderr.strip()[-6000:]
    if wedged:
        how = "killed at the hard deadline" if killed else "dumped by faulthandler and ended"
        verdict = Verdict(
            "no_hang", False,
            f"event loop wedged past the {deadline_s:g} s deadline (isolated process {how})",
            stack=tail or None, reproduction=reproduction)
        entry["invariants"] = [verdict.as_dict()]
        entry["status"] = "timeout"
    else:
        last = tail.splitlines()[-1] if tail else "no output"
        entry["status"] = "error"
        entry["error"] = f"isolated process ended without a result: {last}"
        entry["traceback"] = tail
    return entry


def _child_main(job_path: str) -> int:
    job = read_json(Path(job_path), what="isolation job")
    import_scenario_modules(job["modules"])
    target = load_target(job["target"])
    if job.get("inject"):
        from harness.inject import inject

        target = inject(target, job["inject"])
    spec = get_scenario(job["scenario"])
    params = spec.params(quick=job["quick"], overrides=job["overrides"])
    deadline_s = _deadline_s(params, job["timeout_s"])
    faulthandler.dump_traceback_later(deadline_s + 1.0, exit=True, file=sys.stderr)
    entry = run_scenario(
        spec, target, quick=job["quick"], seed=job["seed"], repeat_index=job["repeat_index"],
        overrides=job["overrides"], timeout_s=job["timeout_s"],
        reproduction=job["reproduction"],
    )
    faulthandler.cancel_dump_traceback_later()
    entry["isolated"] = True
    write_json_atomic(Path(job["result_path"]), entry)
    return 0


# --- a whole run ----------------------------------------------------------------------------

Callback = Callable[[ScenarioSpec, int], None]
DoneCallback = Callable[[dict[str, Any]], None]


@dataclass
class Runner:
    """Runs scenarios against one target; see the module docstring for the contracts."""

    target: Target
    target_spec: str
    quick: bool = False
    seed: int = 0
    repeat: int = 1
    timeout_s: float | None = None
    isolate: bool = False
    overrides: Mapping[str, Any] = field(default_factory=dict)
    modules: Sequence[str] = ()
    inject: str | None = None
    """The ``--inject`` expression ``target`` was wrapped with (isolated children re-apply it)."""
    reproduce: Callable[[ScenarioSpec, int], str] | None = None
    on_start: Callback | None = None
    on_done: DoneCallback | None = None
    on_context: Callable[[RunContext], None] | None = None
    """Called with each attempt's context as it starts (not for isolated attempts): the
    live view reads its trace while it runs."""

    def attempts(self, specs: Sequence[ScenarioSpec]) -> list[tuple[ScenarioSpec, int]]:
        return [(spec, r) for r in range(self.repeat) for spec in specs]

    def run(self, specs: Sequence[ScenarioSpec]) -> list[dict[str, Any]]:
        """Every scenario ``repeat`` times (all scenarios, then again); entries in run order."""
        entries = []
        for spec, repeat_index in self.attempts(specs):
            if self.on_start:
                self.on_start(spec, repeat_index)
            entry = self.run_one(spec, repeat_index)
            entries.append(entry)
            if self.on_done:
                self.on_done(entry)
        return entries

    def run_one(self, spec: ScenarioSpec, repeat_index: int) -> dict[str, Any]:
        seed = derive_seed(self.seed, spec.name, repeat_index)
        overrides = {k: v for k, v in self.overrides.items() if k in spec.full}
        reproduction = self.reproduce(spec, repeat_index) if self.reproduce else None
        if self.isolate:
            return _run_isolated(spec, self.target_spec, modules=self.modules,
                                 quick=self.quick, seed=seed, repeat_index=repeat_index,
                                 overrides=overrides, timeout_s=self.timeout_s,
                                 reproduction=reproduction, inject=self.inject)
        return run_scenario(spec, self.target, quick=self.quick, seed=seed,
                            repeat_index=repeat_index, overrides=overrides,
                            timeout_s=self.timeout_s, reproduction=reproduction,
                            on_context=self.on_context)


SUMMARY_KEYS = {"pass": "passed", "fail": "failed", "error": "errors", "timeout": "timeouts",
                "invalid": "invalid", "skipped": "skipped"}
"""Scenario status -> its count's key in the results document's ``summary``."""


def summarize(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Counts by status: ``passed``, ``failed``, ``errors``, ``timeouts``, ``invalid``,
    ``skipped``; every key is present."""
    out = dict.fromkeys(SUMMARY_KEYS.values(), 0)
    for entry in entries:
        out[SUMMARY_KEYS[entry["status"]]] += 1
    return out


def _aggregates(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per scenario over its repeats: merged histograms and median throughput."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        by_name.setdefault(entry["name"], []).append(entry)
    out: dict[str, Any] = {}
    for name, group in by_name.items():
        latency_hdr = m.merge_histograms(*(e["metrics"].get("latency_hdr", "") for e in group))
        service_hdr = m.merge_histograms(*(e["metrics"].get("service_hdr", "") for e in group))
        throughput = [float(e["metrics"].get("throughput_cps", 0.0)) for e in group]
        out[name] = {
            "repeats": len(group),
            "statuses": [e["status"] for e in group],
            "throughput_cps_median": round(float(np.median(throughput)), 1),
            "throughput_cps_min": round(min(throughput), 1),
            "throughput_cps_max": round(max(throughput), 1),
            "latency_ms": m.histogram_summary(latency_hdr),
            "service_ms": m.histogram_summary(service_hdr),
            "latency_hdr": latency_hdr,
            "service_hdr": service_hdr,
        }
    return out


def build_run_document(
    *, run_id: str | None = None, command: str, target: Target, seed: int, suite: str | None,
    quick: bool, repeat: int, reference_cps: float, entries: Sequence[Mapping[str, Any]],
    created_at: str | None = None, extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The results document of a run (docs/architecture.md, "Results document")."""
    from datetime import UTC, datetime

    capabilities = getattr(target.capabilities, "as_dict", None)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id or new_run_id(),
        "created_at": created_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "target": {"name": target.name, "version": target.version,
                   "capabilities": capabilities() if callable(capabilities) else {},
                   "semantics": _semantics(target)},
        "environment": environment(),
        "seed": seed,
        "suite": suite,
        "quick": quick,
        "repeat": repeat,
        "reference": {"asyncio_queue_items_per_s": reference_cps},
        "scenarios": [dict(e) for e in entries],
        "hypotheses": evaluate_hypotheses(entries),
        "summary": summarize(entries),
        "aggregates": _aggregates(entries),
    }
    if extra:
        doc.update(extra)
    return doc


if __name__ == "__main__":  # the isolated child: python -m harness.runner JOB.json
    sys.exit(_child_main(sys.argv[1]))
