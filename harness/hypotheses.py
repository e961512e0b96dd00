"""The TRANSFORM-007 hypotheses H1-H8, judged from the scenario entries of one run.

A hypothesis is:

- ``refuted`` when a scenario testing it failed or timed out (evidence: scenario and the
  first broken invariant);
- otherwise ``inconclusive`` when a scenario testing it was ``invalid``, ``error``, or
  skipped part of its work for a missing capability;
- otherwise ``supported`` when every scenario testing it passed;
- ``untested`` when no scenario of the run tests it.

With ``--repeat`` every attempt counts: one failed repeat refutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scenarios.registry import HYPOTHESES

__all__ = ["HYPOTHESIS_STATUSES", "evaluate_hypotheses"]

HYPOTHESIS_STATUSES = ("supported", "refuted", "inconclusive", "untested")


def _first_failure(entry: Mapping[str, Any]) -> str:
    for inv in entry.get("invariants", ()):
        if not inv.get("passed", True):
            return f"{inv['name']}: {inv.get('detail', '')}"
    return entry.get("error") or entry["status"]


def _label(entry: Mapping[str, Any]) -> str:
    repeat = entry.get("repeat_index", 0)
    return f"{entry['name']}#{repeat}" if repeat else str(entry["name"])


def evaluate_hypotheses(entries: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{H1..H8: {"status", "evidence", "statement", "scenarios"}}`` for a run's entries."""
    out: dict[str, dict[str, Any]] = {}
    for key, statement in HYPOTHESES.items():
        testing = [e for e in entries if key in e.get("hypotheses", ())]
        names = sorted({str(e["name"]) for e in testing})
        refuting = [e for e in testing if e["status"] in ("fail", "timeout")]
        unclear = [e for e in testing
                   if e["status"] in ("invalid", "error") or e.get("skipped")]
        if not testing:
            status, evidence = "untested", "no scenario in this run tests it"
        elif refuting:
            status = "refuted"
            evidence = "; ".join(f"{_label(e)} {e['status']}: {_first_failure(e)}"
                                 for e in refuting[:3])
        elif unclear:
            status = "inconclusive"
            parts = []
            for e in unclear[:3]:
                if e["status"] == "error":
                    parts.append(f"{_label(e)} error: {e.get('error')}")
                elif e["status"] == "invalid":
                    parts.append(f"{_label(e)} invalid: {e.get('invalid_reason')}")
                else:
                    caps = ", ".join(s["capability"] for s in e.get("skipped", ()))
                    parts.append(f"{_label(e)} skipped parts needing {caps}")
            evidence = "; ".join(parts)
        else:
            status = "supported"
            checks = sorted({inv["name"] for e in testing for inv in e.get("invariants", ())})
            evidence = (f"{', '.join(names)} passed ({len(testing)} attempts; checked: "
                        f"{', '.join(checks)})")
        out[key] = {"status": status, "evidence": evidence, "statement": statement,
                    "scenarios": names}
    return out
