"""The report's opening: the title line and run table, and the Executive Summary (verdict,
findings counted per ledger and target, key metrics).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from harness.ledgers import KINDS
from harness.report.findings import _KIND_TITLES
from harness.report.hypotheses import _HYPOTHESIS_STATUSES, _hypothesis_texts
from harness.report.markdown import _bytes, _count, _get, _ms, _num, _rate, _table, _target_text
from harness.report.scenarios import _max_by, _peak_rate, _total, verdict

__all__: list[str] = []

_STATUS_ORDER = ("pass", "fail", "timeout", "error", "invalid", "skipped")


def _header(results: Mapping[str, Any]) -> list[str]:
    target = results.get("target") or {}
    env = results.get("environment") or {}
    suite = results.get("suite") or "custom"
    title = f"# Stress Test Report: {target.get('name')} {target.get('version')} — {suite} suite"
    environment = ", ".join(
        part for part in (
            f"Python {env['python']}" if env.get("python") else "",
            str(env.get("platform") or ""),
            f"{env['cpu_count']} CPUs" if env.get("cpu_count") else "",
        ) if part
    )
    rows = [
        ("Run ID", f"`{results['run_id']}`"),
        ("Target", target.get("name")),
        ("Version", target.get("version")),
        ("Date", results.get("created_at")),
        ("Suite", f"{suite} ({'quick' if results.get('quick') else 'full'})"),
        ("Seed", results.get("seed")),
        ("Repeats", results.get("repeat", 1)),
        ("Command", f"`{results['command']}`" if results.get("command") else None),
        ("Environment", environment or None),
        ("Git commit", f"`{env['git_commit']}`" if env.get("git_commit") else None),
    ]
    return [title, "", *_table(("Field", "Value"), rows), ""]


def _findings_counts(ledgers: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    rows = []
    for kind in KINDS:
        by_target: dict[str, Counter[str]] = {}
        for entry in ledgers.get(kind, ()):
            counter = by_target.setdefault(_target_text(entry.get("target")), Counter())
            counter[str(entry.get("status"))] += 1
        for target in sorted(by_target):
            c = by_target[target]
            rows.append((_KIND_TITLES[kind], target, c["open"], c["fixed"], c["wontfix"],
                         c["withdrawn"], c["merged"], sum(c.values())))
    if not rows:
        return ["The ledgers hold no findings.", ""]
    header = ("Type", "Target", "Open", "Fixed", "Won't fix", "Withdrawn", "Merged", "Total")
    if not any(row[5] or row[6] for row in rows):  # the columns only when they say something
        rows = [(*row[:5], row[7]) for row in rows]
        header = (*header[:5], header[7])
    return [*_table(header, rows, "ll" + "r" * (len(header) - 2)), ""]


def _key_metrics(results: Mapping[str, Any]) -> list[str]:
    scenarios = results["scenarios"]
    statuses = Counter(s["status"] for s in scenarios)
    status_text = ", ".join(f"{statuses[s]} {s}" for s in _STATUS_ORDER if statuses[s])
    rows: list[tuple[str, str]] = [
        ("Scenario runs", f"{len(scenarios)} ({status_text or 'none'})"),
    ]
    for key, label in (("sent", "Chunks sent"), ("delivered", "Chunks delivered"),
                       ("dropped", "Chunks dropped (with event)"),
                       ("refused", "Chunks refused (the put raised)"),
                       ("stranded", "Chunks stranded (in a queue at the deadline)"),
                       ("lost", "Chunks lost"),
                       ("duplicated", "Chunks duplicated")):
        total = _total(scenarios, key)
        if total is not None:
            rows.append((label, _count(total)))
    peak = _peak_rate(scenarios)
    if peak:
        rows.append(("Highest delivered rate", peak))
    for stat, label in (("p50", "P50"), ("p95", "P95"), ("p99", "P99"), ("p999", "P99.9")):
        worst = _max_by(scenarios, "latency_ms", stat)
        if worst:
            rows.append((f"Worst {label} latency", f"{_ms(worst[0])} ms ({worst[1]})"))
    memory = _max_by(scenarios, "memory", "peak_bytes")
    if memory:
        rows.append(("Peak RSS (harness process)", f"{_bytes(memory[0])} ({memory[1]})"))
    reference = _num(_get(results, "reference", "asyncio_queue_items_per_s"))
    if reference is not None:
        rows.append(("Reference asyncio.Queue", f"{_rate(reference)} items/s (same run)"))
    hypotheses = Counter(
        str(_get(results, "hypotheses", h, "status") or "untested") for h in _hypothesis_texts()
    )
    rows.append(("Hypotheses", ", ".join(
        f"{hypotheses[s]} {s}" for s in _HYPOTHESIS_STATUSES if hypotheses[s]
    )))
    return [*_table(("Metric", "Value"), rows), ""]


def _executive_summary(
    results: Mapping[str, Any], ledgers: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[str]:
    word, sentence = verdict(results)
    return [
        "## Executive Summary",
        "",
        f"**Verdict: {word}.** {sentence}",
        "",
        "### Findings in the ledgers",
        "",
        *_findings_counts(ledgers),
        "### Key metrics",
        "",
        *_key_metrics(results),
    ]
