"""``stageflow-stress selftest``: measure the judge on the self-test corpus.

Runs the ``transform007`` and ``adversarial`` suites and a fuzz session on every corpus
member (``harness.selftest.corpus``), in worker processes, and prints per member the clause
it breaks, whether the judge found it as that clause (and as which key), and the bugs it
filed against the clean members; then recall and the false-finding count. Writes no
ledger and no results file. Exit codes: 0 recall >= ``--min-recall`` and false findings
<= ``--max-false`` (and no member crashed the harness), 1 otherwise, 2 bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from rich.console import Console
from rich.table import Table

from harness.commands import _options as opt
from harness.errors import EXIT_FAIL, EXIT_OK, HarnessError
from harness.jsonio import dumps

__all__ = ["configure", "execute"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("members", nargs="*", metavar="MEMBER",
                        help="corpus members to run (default: all; see --list)")
    parser.add_argument("--quick", action="store_true",
                        help="quick scenario parameters and a short fuzz session per member "
                             "(the CI budget)")
    parser.add_argument("--jobs", type=int, default=0, metavar="N",
                        help="members run at once in worker processes (default: 2 x CPUs: "
                             "scenarios mostly wait on real time)")
    parser.add_argument("--min-recall", type=float, default=0.95, metavar="R",
                        help="recall (0..1) below which the self-test fails (default 0.95)")
    parser.add_argument("--max-false", type=int, default=0, metavar="N",
                        help="false findings on clean members allowed (default 0)")
    parser.add_argument("--list", action="store_true",
                        help="list the corpus members and the clause each breaks, and exit")
    opt.add_seed(parser, default=0, help="seed of every run and fuzz session (default 0)")
    opt.add_json(parser, help="print the self-test report as JSON on stdout")


def _check(args: argparse.Namespace) -> list[tuple[str, str]]:
    from harness.selftest.corpus import MEMBERS

    opt.check_seed(args.seed)
    if not 0.0 <= args.min_recall <= 1.0:
        raise HarnessError(f"--min-recall must be between 0 and 1, got {args.min_recall}")
    if args.max_false < 0:
        raise HarnessError(f"--max-false must be >= 0, got {args.max_false}")
    if args.jobs < 0:
        raise HarnessError(f"--jobs must be >= 0, got {args.jobs}")
    unknown = [m for m in args.members if m not in MEMBERS]
    if unknown:
        raise HarnessError(f"unknown corpus member {unknown[0]!r} (see selftest --list)")
    names = args.members or list(MEMBERS)
    return [(name, MEMBERS[name]) for name in names]


def _list(console: Console) -> None:
    from harness.selftest.corpus import MEMBERS
    from harness.targets import load_target

    table = Table(title="self-test corpus")
    for column in ("member", "kind", "clause broken", "modelled on"):
        table.add_column(column)
    for name, spec in MEMBERS.items():
        breaks = getattr(load_target(spec), "breaks", None)
        if breaks is None:
            table.add_row(name, "clean", "-", "-")
        else:
            table.add_row(name, "seeded", f"{breaks.component}.{breaks.prop} "
                                          f"({breaks.clause})", breaks.modelled_on)
    console.print(table)


def _key_text(summary: dict[str, object]) -> str:
    key = summary.get("key")
    if isinstance(key, dict):
        return f"{key['component']}.{key['operation']}: {key['property']}"
    return str(summary.get("check"))


def _table(report: object) -> Table:
    from harness.selftest import SelftestReport

    assert isinstance(report, SelftestReport)
    table = Table(title=f"selftest: recall {report.recall:.0%} "
                        f"({sum(m.found for m in report.seeded)}/{len(report.seeded)}), "
                        f"{report.false_findings} false findings")
    for column in ("member", "expected clause", "found", "as", "false findings", "s"):
        table.add_column(column)
    for m in report.members:
        if m.error:
            found = "[red]harness error[/]"
        elif m.clean:
            found = "-"
        else:
            found = "[green]yes[/]" if m.found else "[red]no[/]"
        expected = "clean" if m.breaks is None else \
            f"{m.breaks['component']}.{m.breaks['property']}"
        shown = m.found_as[:1] if m.found else m.bugs[:2]
        as_text = "; ".join(_key_text(b) for b in shown) or "-"
        if not m.found and m.bugs and not m.clean:
            as_text = "other: " + as_text
        false = "; ".join(_key_text(b) for b in m.false_findings[:3])
        more = len(m.false_findings) - 3
        false_text = (f"[red]{len(m.false_findings)}[/] {false}"
                      + (f" (+{more})" if more > 0 else "")) if m.false_findings else ""
        table.add_row(m.name, expected, found, as_text, false_text, f"{m.duration_s:.0f}")
    return table


def execute(args: argparse.Namespace) -> int:
    from harness.selftest import FULL, QUICK, run_selftest

    if args.list:
        _list(Console())
        return EXIT_OK
    members = _check(args)
    budget = dataclasses.replace(QUICK if args.quick else FULL, seed=args.seed)
    err = Console(stderr=True)
    done: list[str] = []
    with err.status(f"selftest: {len(members)} members...") as status:
        def on_done(result: object) -> None:
            done.append(getattr(result, "name", "?"))
            status.update(f"selftest: {len(done)}/{len(members)} done ({done[-1]})")

        report = run_selftest(members, budget, jobs=args.jobs, on_done=on_done)
    passed = report.passed(min_recall=args.min_recall, max_false=args.max_false)
    if args.json:
        sys.stdout.buffer.write(dumps({"selftest": {**report.as_dict(), "passed": passed}}))
        sys.stdout.flush()
    else:
        out = Console()
        out.print(_table(report))
        for m in report.errors:
            out.print(f"[red]{m.name}: the harness crashed: {m.error.splitlines()[0]}[/]")
        out.print(f"recall {report.recall:.1%} (limit {args.min_recall:.0%}), "
                  f"{report.false_findings} false findings (limit {args.max_false}), "
                  f"{report.duration_s:.0f} s: {'PASS' if passed else 'FAIL'}")
    return EXIT_OK if passed else EXIT_FAIL
