"""``stageflow-stress run``: run scenarios or a suite against a target.

Everything the user typed is checked before the first scenario starts (names, suite,
modules, target, parameters, directories, ledgers), so bad input exits 2 with one line and
leaves no results file behind. Then the runner runs every attempt, the results document
is saved (``results/<run-id>.json`` and ``results/latest.json``), its findings are merged
into the ledgers, and a summary table is printed, then one line saying what the merge did
(new, seen again, fixed findings) and which ledgers it wrote (on stderr with ``--json``).

Exit codes: 0 every scenario passed or was ``skipped`` (the target lacks a capability it
needs); 1 one failed, crashed or timed out; 3 none failed but one was ``invalid`` (the load
generator could not keep its schedule: the numbers say nothing about the target); 2 bad
input.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from harness.commands import _options as opt
from harness.declared import fails_target
from harness.errors import EXIT_FAIL, EXIT_INVALID_RUN, EXIT_OK, HarnessError

# Heavy imports wait until the command runs: the CLI imports every command's module just
# to build its parser.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from harness.findings import MergeSummary
    from harness.targets import Target

__all__ = ["DEFAULT_SUITE", "RunPlan", "configure", "execute", "exit_code", "ledger_line",
           "plan_run"]

DEFAULT_SUITE = "transform007"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="SCENARIO",
                        help="scenarios to run (default: the transform007 suite)")
    parser.add_argument("--suite", metavar="NAME",
                        help="run every scenario of this suite (with SCENARIO names: both)")
    opt.add_target(parser)
    parser.add_argument("--scenarios", action="append", default=[], metavar="MODULE",
                        dest="modules", help="import MODULE to register more scenarios "
                                             "(repeatable)")
    opt.add_quick(parser)
    opt.add_seed(parser, default=None,
                 help="run seed (default: random, recorded); replays with the same N")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run every scenario N times (default 1)")
    opt.add_timeout(parser)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario parameter (JSON value) in every selected "
                             "scenario that has it; repeatable")
    parser.add_argument("--isolate", action="store_true",
                        help="run each scenario in a child process, killed if it wedges")
    parser.add_argument("--inject", metavar="EXPR",
                        help="inject a regression into the target's queue and buffer, e.g. "
                             "'put+20us' (work), 'get~0.3ms' (wait), 'read:copy', "
                             "'put*1.25'; see docs/gate.md")
    parser.add_argument("--duration", metavar="D",
                        help="soak: run each selected open-ended scenario for D (90s, 10m, "
                             "1h) with its memory trend and a leak verdict; see docs/sweeps.md")
    opt.add_results_dir(parser)
    opt.add_ledger_options(parser)
    opt.add_json(parser, help="print the results document on stdout (table goes to stderr)")
    parser.add_argument("--no-live", action="store_true",
                        help="no live view on a terminal: one line per finished scenario")


@dataclass
class RunPlan:
    """A checked request: what will run, against what, with which settings."""

    target: Target
    target_spec: str
    specs: list[Any]
    suite: str | None
    quick: bool
    seed: int
    repeat: int
    timeout_s: float | None
    overrides: dict[str, Any]
    modules: list[str]
    isolate: bool
    results_dir: Path
    ledger_dir: Path | None
    command: str
    extra_args: list[str] = field(default_factory=list)
    inject: str | None = None
    duration_s: float | None = None


def _parse_param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise HarnessError(f"--param {text!r}: expected KEY=VALUE")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    return key, value


def _select(names: Sequence[str], suite: str | None) -> tuple[list[Any], str | None]:
    from scenarios.registry import (
        UnknownScenario,
        UnknownSuite,
        get_scenario,
        suite_members,
    )

    chosen: list[Any] = []
    try:
        if suite is not None:
            chosen.extend(suite_members(suite))
        for name in names:
            chosen.append(get_scenario(name))
        if not names and suite is None:
            suite = DEFAULT_SUITE
            chosen.extend(suite_members(suite))
    except (UnknownScenario, UnknownSuite) as exc:
        raise HarnessError(str(exc)) from None
    unique = list({spec.name: spec for spec in chosen}.values())
    return unique, suite


def _check_parts(names: Sequence[str], specs: Sequence[Any], target: Any) -> None:
    """A scenario named on the command line that needs a part the target does not have
    (``run buffer_overflow`` against a queue-only library) is a mistake, not a skip: a suite
    runs what the target has and skips the rest with a reason, a name asks for that one."""
    from scenarios.context import has_part

    for spec in specs:
        if spec.name not in names:
            continue
        for need in spec.requires:
            part = need.removeprefix("part:")
            if need.startswith("part:") and not has_part(target, part):
                raise HarnessError(f"scenario {spec.name!r} needs a {part}; target "
                                   f"{target.name!r} has none")


def plan_run(args: argparse.Namespace, argv: Sequence[str] | None = None) -> RunPlan:
    """Check every input of ``run``; raises :class:`HarnessError` (exit 2) on the first bad one."""
    opt.check_seed(args.seed)
    if args.repeat < 1:
        raise HarnessError(f"--repeat must be >= 1, got {args.repeat}")
    opt.check_timeout(args.timeout)
    import scenarios  # noqa: F401  (registers the built-in scenarios)
    from harness.runner import configured_scenario_modules, import_scenario_modules
    from harness.targets import load_target

    modules = list(dict.fromkeys([*configured_scenario_modules(), *args.modules]))
    import_scenario_modules(modules)
    specs, suite = _select(args.names, args.suite)
    overrides = dict(_parse_param(text) for text in args.param)
    for key in overrides:
        if not any(key in spec.full for spec in specs):
            raise HarnessError(f"--param {key}: no selected scenario has a parameter {key!r}")
    for spec in specs:
        mine = {k: v for k, v in overrides.items() if k in spec.full}
        for quick in (True, False):
            try:
                spec.params(quick=quick, overrides=mine)
            except ValueError as exc:
                raise HarnessError(f"--param: {exc}") from None
    timeout_s, duration_s = args.timeout, None
    if getattr(args, "duration", None) is not None:
        from harness.soak import plan_soak

        duration_s, timeout_s = plan_soak(args.duration, specs, overrides,
                                          timeout_s=args.timeout, isolate=args.isolate)
    target = load_target(args.target)
    inject_text = getattr(args, "inject", None)
    if inject_text is not None:
        from harness.inject import inject

        target = inject(target, inject_text)
    _check_parts(args.names, specs, target)
    opt.check_writable(Path(args.results_dir), "results directory")
    ledger_dir = opt.check_ledger_dir(args)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    argv = list(sys.argv[1:] if argv is None else argv)
    return RunPlan(
        target=target, target_spec=args.target, specs=specs, suite=suite, quick=args.quick,
        seed=seed, repeat=args.repeat, timeout_s=timeout_s, overrides=overrides,
        modules=modules, isolate=args.isolate, results_dir=Path(args.results_dir),
        ledger_dir=ledger_dir, command=shlex.join(["stageflow-stress", *argv]),
        inject=inject_text, duration_s=duration_s,
    )


def reproduction(plan: RunPlan, name: str, repeat_index: int) -> str:
    """The command that replays one scenario attempt (same seed, target and parameters)."""
    parts = ["stageflow-stress", "run", name, "--target", plan.target_spec,
             "--seed", str(plan.seed)]
    if plan.quick:
        parts.append("--quick")
    if repeat_index:
        parts += ["--repeat", str(repeat_index + 1)]
    if plan.timeout_s is not None:
        parts += ["--timeout", f"{plan.timeout_s:g}"]
    for module in plan.modules:
        parts += ["--scenarios", module]
    for key, value in plan.overrides.items():
        parts += ["--param", f"{key}={orjson.dumps(value).decode()}"]
    if plan.isolate:
        parts.append("--isolate")
    if plan.inject is not None:
        parts += ["--inject", plan.inject]
    return shlex.join(parts)


def exit_code(doc: Mapping[str, Any]) -> int:
    """0 all passed or skipped; 1 any fail/error/timeout; 3 any invalid, none failed."""
    statuses = {s["status"] for s in doc["scenarios"]}
    if statuses & {"fail", "error", "timeout"}:
        return EXIT_FAIL
    if "invalid" in statuses:
        return EXIT_INVALID_RUN
    return EXIT_OK


# --- output -------------------------------------------------------------------------------

_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red", "timeout": "bold red",
          "invalid": "yellow", "skipped": "dim"}


def _ms(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def summary_table(doc: Mapping[str, Any]) -> Table:
    """Scenario, status, sent, delivered, dropped, lost, throughput, p50, p99 per attempt."""
    from rich.table import Table

    table = Table(title=f"stageflow-stress run {doc['run_id']} · target {doc['target']['name']} "
                        f"{doc['target']['version']} · seed {doc['seed']}")
    for column in ("scenario", "status"):
        table.add_column(column)
    for column in ("sent", "delivered", "dropped", "lost", "throughput/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for entry in doc["scenarios"]:
        metrics = entry.get("metrics") or {}
        latency = metrics.get("latency_ms") or {}
        name = entry["name"] + (f" #{entry['repeat_index']}" if doc.get("repeat", 1) > 1 else "")
        status = entry["status"]
        table.add_row(
            name, f"[{_STYLE.get(status, '')}]{status}[/]",
            str(metrics.get("sent", 0)), str(metrics.get("delivered", 0)),
            str(metrics.get("dropped", 0)), str(metrics.get("lost", 0)),
            f"{metrics.get('throughput_cps', 0.0):,.0f}",
            _ms(latency.get("p50")) if latency.get("count") else "-",
            _ms(latency.get("p99")) if latency.get("count") else "-",
        )
    return table


def _problems(doc: Mapping[str, Any]) -> list[str]:
    lines = []
    for entry in doc["scenarios"]:
        label = entry["name"] + (f"#{entry['repeat_index']}" if entry.get("repeat_index") else "")
        for excused in entry.get("excused") or ():
            if excused.get("declarations"):  # broken as the target declares: no failure
                said = ", ".join(f"{d['clause']} = {d['value']!r}"
                                 for d in excused["declarations"])
                lines.append(f"{label}: {excused['check']}: not a failure, the target "
                             f"declares {said}")
        if entry["status"] == "pass":
            continue
        if entry["status"] == "skipped":
            lacks = ", ".join(str(s.get("capability") or s.get("part"))
                              for s in entry.get("skipped") or ())
            lines.append(f"{label}: skipped: the target lacks {lacks}")
            continue
        for inv in entry.get("invariants", ()):
            if fails_target(inv):
                lines.append(f"{label}: {inv['name']}: {inv['detail']}")
        if entry.get("error"):
            lines.append(f"{label}: error: {entry['error']}")
        if entry.get("invalid_reason"):
            lines.append(f"{label}: {entry['status']}: {entry['invalid_reason']}")
        if entry.get("reproduction") and entry["status"] != "invalid":
            lines.append(f"{label}: replay: {entry['reproduction']}")
    return lines


def print_summary(doc: Mapping[str, Any], console: Console, path: Path | None) -> None:
    console.print(summary_table(doc))
    for line in _problems(doc):
        console.print(f"  {line}", markup=False, highlight=False)
    hyps = doc.get("hypotheses") or {}
    if hyps:
        console.print("hypotheses: " + ", ".join(f"{k} {v['status']}" for k, v in hyps.items()),
                      markup=False, highlight=False)
    counts = doc["summary"]
    console.print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['errors']} "
                  f"errors, {counts['timeouts']} timeouts, {counts['invalid']} invalid, "
                  f"{counts['skipped']} skipped"
                  + (f" · results: {path}" if path else ""), markup=False, highlight=False)


def ledger_line(summary: MergeSummary, ledger_dir: Path) -> str:
    """One line: what the merge did (new, seen again, fixed...) and the ledgers it wrote."""
    written = ", ".join(str(path) for path in summary.written)
    where = f"written: {written}" if written else f"ledgers in {ledger_dir} unchanged"
    return f"{summary.describe()} · {where}"


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console.width = max(console.width, 120)  # logs: room for the whole table
    return console


def _live_view(plan: RunPlan) -> Any:
    """The live view's rows: each attempt with the time it is expected to take."""
    from harness.jsonio import read_json
    from harness.live import LiveView, expected_durations
    from harness.runner import DEFAULT_DEADLINE_S

    previous = None
    with contextlib.suppress(HarnessError, OSError, ValueError):
        previous = read_json(plan.results_dir / "latest.json", what="previous results")
    params = {spec.name: spec.params(quick=plan.quick, overrides={
        k: v for k, v in plan.overrides.items() if k in spec.full}) for spec in plan.specs}
    expected = expected_durations(previous, params)
    rows = []
    for spec, repeat_index in [(s, r) for r in range(plan.repeat) for s in plan.specs]:
        label = f"{spec.name} #{repeat_index}" if plan.repeat > 1 else spec.name
        deadline = plan.timeout_s or float(params[spec.name].get("deadline_s",
                                                                 DEFAULT_DEADLINE_S))
        seconds = expected.get(spec.name)
        rows.append((label, seconds if seconds is not None else deadline, seconds is None))
    return LiveView(rows)


@contextlib.contextmanager
def _live(console: Console, plan: RunPlan, enabled: bool) -> Any:
    """The live view on a terminal (None elsewhere or when disabled)."""
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.live import Live

    from harness.live import REFRESH_PER_SECOND

    view = _live_view(plan)
    with Live(view, console=console, refresh_per_second=REFRESH_PER_SECOND,
              transient=False, redirect_stdout=False, redirect_stderr=False):
        yield view


def execute(args: argparse.Namespace) -> int:
    from harness.metrics import reference_queue_throughput
    from harness.runner import Runner, build_run_document

    plan = plan_run(args)
    err = _console(stderr=True)
    out = err if args.json else _console(stderr=False)
    with _live(err, plan, not args.no_live) as view:
        started = {"index": -1}

        def on_start(spec: Any, repeat_index: int) -> None:
            started["index"] += 1
            if view is not None:
                view.start(started["index"])

        def on_done(entry: Mapping[str, Any]) -> None:
            if view is not None:
                view.finish(started["index"], entry)
            else:
                err.print(f"{entry['name']}: {entry['status']} "
                          f"({entry['duration_ms'] / 1000:.1f} s)", markup=False,
                          highlight=False)

        reference = reference_queue_throughput()
        runner = Runner(
            target=plan.target, target_spec=plan.target_spec, quick=plan.quick, seed=plan.seed,
            repeat=plan.repeat, timeout_s=plan.timeout_s, isolate=plan.isolate,
            overrides=plan.overrides, modules=plan.modules, inject=plan.inject,
            reproduce=lambda spec, r: reproduction(plan, spec.name, r),
            on_start=on_start, on_done=on_done,
            on_context=view.attach if view is not None else None,
        )
        from harness.soak import heartbeat, soaking

        with soaking(runner, plan.duration_s, on_sample=heartbeat(err, plan.duration_s)):
            entries = runner.run(plan.specs)
    doc = build_run_document(
        command=plan.command, target=plan.target, seed=plan.seed, suite=plan.suite,
        quick=plan.quick, repeat=plan.repeat, reference_cps=reference, entries=entries,
        extra={"inject": plan.inject} if plan.inject is not None else None,
    )
    from harness.results import save_results

    path = save_results(doc, plan.results_dir)
    merged = None
    if plan.ledger_dir is not None:
        from harness.findings import record_run

        merged = record_run(doc, ledger_dir=plan.ledger_dir)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS
                                             | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        sys.stdout.flush()
    print_summary(doc, out, path)
    from harness.soak import soak_lines

    for line in soak_lines(doc):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    if merged is not None and plan.ledger_dir is not None:
        out.print(ledger_line(merged, plan.ledger_dir), markup=False, highlight=False,
                  soft_wrap=True)
    return exit_code(doc)
