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

The package follows an attempt's data flow: ``seeds`` (each attempt's seed), ``discovery``
(the scenario modules a run imports), ``waits`` (where a hung task waits), ``context`` (the
:class:`RunContext` a scenario runs with), ``supervise`` (the attempt's tasks on a fresh
loop, cut at the deadline), ``entry_metrics`` (the entry's ``metrics``), ``attempt`` (one
attempt's entry: verdicts, status), ``isolation`` (an attempt in a child interpreter;
``python -m harness.runner`` runs the child), ``run`` (:class:`Runner`, a whole run) and
``document`` (the results document). Every name is importable from ``harness.runner``.
"""

from __future__ import annotations

from harness.runner.attempt import DEFAULT_DEADLINE_S, blank_entry, run_scenario
from harness.runner.context import (
    RSS_EVERY,
    SAMPLE_INTERVAL_S,
    RunContext,
    buffer_level_ms,
    target_semantics,
)
from harness.runner.discovery import configured_scenario_modules, import_scenario_modules
from harness.runner.document import SUMMARY_KEYS, build_run_document, summarize
from harness.runner.entry_metrics import (
    DEFAULT_SATURATION_FRACTION,
    DEFAULT_SATURATION_LAG_MS,
    compute_metrics,
)
from harness.runner.run import Callback, DoneCallback, Runner
from harness.runner.seeds import derive_seed
from harness.runner.waits import await_stack, waiting_on

__all__ = [
    "DEFAULT_DEADLINE_S",
    "DEFAULT_SATURATION_FRACTION",
    "DEFAULT_SATURATION_LAG_MS",
    "RSS_EVERY",
    "SAMPLE_INTERVAL_S",
    "SUMMARY_KEYS",
    "Callback",
    "DoneCallback",
    "RunContext",
    "Runner",
    "await_stack",
    "blank_entry",
    "buffer_level_ms",
    "build_run_document",
    "compute_metrics",
    "configured_scenario_modules",
    "derive_seed",
    "import_scenario_modules",
    "run_scenario",
    "summarize",
    "target_semantics",
    "waiting_on",
]
