"""The TRANSFORM-007 hypotheses H1-H8, judged from the scenario entries of one run.

Each failed invariant names the hypotheses it bears on (``hypotheses`` in the invariant;
general ones from ``harness.invariants.INVARIANT_HYPOTHESES``, scenario-specific ones from
``ctx.expect(..., hypotheses=...)``, by default all of the scenario's). A hypothesis is:

- ``refuted`` when an attempt of a scenario testing it broke an invariant bearing on it,
  or timed out (evidence: scenario, invariant and detail);
- otherwise ``inconclusive`` when an attempt testing it was ``invalid``, ``error`` or
  ``skipped`` (the target lacks a capability it needs), skipped part of its work for a
  missing capability, or was cut at its deadline before it could check everything;
- otherwise ``supported`` when every attempt testing it completed its checks;
- ``untested`` when no scenario of the run tests it.

With ``--repeat`` every attempt counts: one failed repeat refutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.declared import fails_target
from scenarios.registry import HYPOTHESES

__all__ = ["HYPOTHESIS_STATUSES", "evaluate_hypotheses"]

HYPOTHESIS_STATUSES = ("supported", "refuted", "inconclusive", "untested")


def _refutations(entry: Mapping[str, Any], key: str) -> list[str]:
    found = []
    for inv in entry.get("invariants", ()):
        if not fails_target(inv):  # passed, or broken as the target declares
            continue
        bears_on = inv.get("hypotheses") or entry.get("hypotheses", ())
        if key in bears_on:
            found.append(f"{inv['name']}: {inv.get('detail', '')}")
    if not found and entry["status"] == "timeout":
        found.append(entry.get("error") or "a task ignored cancellation after the deadline")
    return found


def _unclear(entry: Mapping[str, Any]) -> str | None:
    status = entry["status"]
    if status == "error":
        return f"error: {entry.get('error')}"
    if status == "invalid":
        return f"invalid: {entry.get('invalid_reason')}"
    if status == "skipped":
        caps = ", ".join(_missing(s) for s in entry.get("skipped") or ())
        return f"skipped: the target lacks {caps or 'a capability it needs'}"
    if entry.get("skipped"):
        caps = ", ".join(_missing(s) for s in entry["skipped"])
        return f"skipped parts needing {caps}"
    if entry.get("cut_at_deadline"):
        return "cut at its deadline before finishing its checks"
    return None


def _missing(skipped: Mapping[str, Any]) -> str:
    """What a ``skipped`` record names: a capability, or a part the target does not have."""
    return str(skipped.get("capability") or skipped.get("part"))


def _label(entry: Mapping[str, Any]) -> str:
    repeat = entry.get("repeat_index", 0)
    return f"{entry['name']}#{repeat}" if repeat else str(entry["name"])


def evaluate_hypotheses(entries: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{H1..H8: {"status", "evidence", "statement", "scenarios"}}`` for a run's entries."""
    out: dict[str, dict[str, Any]] = {}
    for key, statement in HYPOTHESES.items():
        testing = [e for e in entries if key in e.get("hypotheses", ())]
        names = sorted({str(e["name"]) for e in testing})
        refuting = [(e, r) for e in testing if (r := _refutations(e, key))]
        unclear = [(e, u) for e in testing if (u := _unclear(e))]
        if not testing:
            status, evidence = "untested", "no scenario in this run tests it"
        elif refuting:
            status = "refuted"
            evidence = "; ".join(f"{_label(e)} {e['status']}: {reasons[0]}"
                                 for e, reasons in refuting[:3])
        elif unclear:
            status = "inconclusive"
            evidence = "; ".join(f"{_label(e)} {reason}" for e, reason in unclear[:3])
        else:
            status = "supported"
            checks = sorted({inv["name"].split("[")[0] for e in testing
                             for inv in e.get("invariants", ())
                             if key in (inv.get("hypotheses") or e.get("hypotheses", ()))})
            attempts = "1 attempt" if len(testing) == 1 else f"{len(testing)} attempts"
            evidence = (f"{', '.join(names)} passed ({attempts}; checked: "
                        f"{', '.join(checks)})")
        out[key] = {"status": status, "evidence": evidence, "statement": statement,
                    "scenarios": names}
    return out
