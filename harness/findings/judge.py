"""Judging findings by the target's declared semantics (three contract levels): bugs,
improvements worded as advice (one per recommendation), and one entry per root cause."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from harness import defects as vocabulary
from harness.contract import CLAUSES, Level, Semantics
from harness.defects import Judgement
from harness.findings.build import capability_text
from harness.findings.finding import Finding, _is_command, key_fingerprint

__all__ = [
    "judge_findings",
]


# A recommendation that a capability finding already makes: the improvement is that one.
_CLAUSE_CAPABILITY = {"queue.full_put": "put_timeout"}


# Our recommendation for a clause, as advice to the target's maintainer (the title of the
# improvement); a clause not listed is worded from its meaning.
_ADVICE = {
    "argument validation": "refuse invalid arguments with ValueError/TypeError naming the "
                           "argument (constructors and methods accept them today)",
    "events.emitter_failures": "count and log a failing event emitter instead of swallowing "
                               "its exception without a trace",
    "queue.blocked_events": "emit stream.producer_blocked when a put starts to wait, not only "
                            "once it has waited",
    "queue.event_payloads": "name the dropped chunk (its sequence) in stream.chunk_dropped",
    "buffer.event_payloads": "carry the documented keys in the buffer's events",
    "queue.closed_put": "say what put() does on a closed queue, and report it the same way",
    "queue.close_wakes_getters": "make close() wake every consumer waiting in get()",
    "queue.end_of_stream": "say what get() returns on a closed, drained queue",
    "buffer.underrun_events": "emit stream.buffer_underrun on a short read and "
                              "stream.buffer_recovered on the next full one",
    "buffer.overflow_trim": "trim only the audio the bound requires on overflow",
    "buffer.readiness": "turn is_ready()/is_full() on once the whole frames that fit are held",
}


def _clause_group(clause: str) -> str:
    """Improvements of one recommendation: every ``*.validates_*`` clause is one."""
    return "argument validation" if ".validates_" in clause else clause


def _group_fingerprint(target_name: str, group: str) -> str:
    parts = (target_name, "improvement", "contract", group)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _as_improvement(finding: Finding, judgement: Judgement) -> Finding:
    """A broken check judged at the recommended level: an improvement, worded as advice."""
    clause = judgement.clause or ""
    meaning = CLAUSES[clause].meaning if clause in CLAUSES else clause
    where = finding.evidence.get("operation") or finding.component
    evidence = {k: v for k, v in finding.evidence.items()
                if k not in ("property", "operation", "defect_class")}
    evidence["clause"] = clause
    evidence["symptoms"] = [_symptom(finding)]
    capability = _CLAUSE_CAPABILITY.get(clause)
    if capability is not None:
        named, title, recommendation = capability_text(capability, finding.target)
        # a library target's improvement names its own queue, as every capability one does
        library = finding.target.get("library")
        component = named if isinstance(library, dict) and library.get("queue") \
            else finding.component
        evidence.update(invariant=f"capability:{capability}", defect_class=capability)
        return dataclasses.replace(
            finding, kind="improvement", severity="P2", title=title, component=component,
            recommendation=recommendation, evidence=evidence,
            check=f"capability/{capability}", fingerprint="",
            expected=f"the target offers {capability!r}")
    group = _clause_group(clause)
    advice = _ADVICE.get(group) or f"consider: {meaning}"
    return dataclasses.replace(
        finding, kind="improvement", severity="P3", title=f"{advice[0].upper()}{advice[1:]}",
        description=(
            f"{finding.target['name']} {finding.target.get('version', '')} does not declare "
            f"{clause} ({meaning}), so this is our recommendation, not a defect. Seen at "
            f"{finding.component}.{where}: {finding.actual}"),
        recommendation=f"{advice[0].upper()}{advice[1:]}; document the behaviour either way.",
        impact="users must guess this behaviour or guard against it themselves",
        evidence={**evidence, "group": group}, check=f"contract/{group}",
        fingerprint=_group_fingerprint(finding.target["name"], group))


def _symptom(finding: Finding) -> dict[str, Any]:
    symptom = {"component": finding.component,
               "operation": str(finding.evidence.get("operation") or finding.check),
               "observed": str(finding.actual)[:300], "check": finding.check}
    if not _is_command(finding.reproduction):
        symptom["reproduction_lines"] = finding.reproduction.count("\n") + 1
    return symptom


def _members(finding: Finding) -> list[str]:
    """The finding's own fingerprint and those of the entries it already stands for."""
    return list(dict.fromkeys([finding.fingerprint,
                               *(finding.evidence.get("member_fingerprints") or [])]))


def _as_root_cause(finding: Finding, cause: vocabulary.RootCause) -> Finding:
    """A bug that is a symptom of a known root cause: filed under the cause's key."""
    evidence = {**finding.evidence, "root_cause": cause.name,
                "symptoms": [_symptom(finding)], "member_fingerprints": _members(finding)}
    fingerprint = key_fingerprint(finding.target["name"], finding.kind, cause.key)
    return dataclasses.replace(finding, evidence=evidence, fingerprint=fingerprint)


def _as_twin(finding: Finding, canonical: vocabulary.DefectKey, clause: str) -> Finding:
    """A bug shown by a ``_nowait``/``(timeout)`` twin of a blocking call: filed under the
    blocking call's key (:func:`harness.defects.twin_of`), listed as one of its symptoms."""
    evidence = {**finding.evidence,
                "root_cause": f"{canonical.operation.split(' ')[0]} and its twins break "
                              f"{clause} ({canonical.operation.partition(' ')[2].strip('()')})",
                "symptoms": [_symptom(finding)], "member_fingerprints": _members(finding)}
    fingerprint = key_fingerprint(finding.target["name"], finding.kind, canonical)
    return dataclasses.replace(finding, evidence=evidence, fingerprint=fingerprint)


def judge_findings(
    findings: list[Finding], semantics: Semantics,
) -> tuple[list[Finding], list[tuple[Finding, Judgement]]]:
    """Judge each bug finding by the target's ``semantics`` (:func:`harness.defects.judge`).

    :returns: the findings to file — bugs (universal or declared clauses broken), with
        ``evidence.judged``; improvements for what only our recommendation asks, worded as
        advice and one per recommendation; symptoms of one root cause under one key — and the
        ``(finding, judgement)`` pairs no longer filed as bugs (withdrawn, or reclassified as
        improvements), so that the merge can withdraw their old entries.
    """
    kept: list[Finding] = []
    withdrawn: list[tuple[Finding, Judgement]] = []
    for finding in findings:
        key = finding.defect_key
        if finding.kind == "bug" and key is None and \
                finding.evidence.get("level") == str(Level.RECOMMENDED):
            # a check that names no clause and judges only our goal (a latency limit on
            # this machine, say): the scenario's result says it; the ledger files no bug
            withdrawn.append((finding, Judgement(
                "withdrawn", Level.RECOMMENDED, None,
                f"check {finding.check} judges our recommendation, not a clause the target "
                "breaks")))
            continue
        if finding.kind != "bug" or key is None:
            kept.append(finding)
            continue
        judgement = vocabulary.judge(key, semantics, detail=str(finding.actual))
        judged = dataclasses.replace(
            finding, evidence={**finding.evidence, "judged": judgement.as_dict()},
            fingerprint=finding.fingerprint)
        if judgement.verdict == "bug":
            cause = vocabulary.root_cause(key)
            twin = vocabulary.twin_of(key) if cause is None else None
            if cause is not None:
                kept.append(_as_root_cause(judged, cause))
            elif twin is not None and vocabulary.judge(
                    twin, semantics, detail=str(finding.actual)).clause == judgement.clause:
                kept.append(_as_twin(judged, twin, judgement.clause or key.property))
            else:
                kept.append(judged)
            continue
        withdrawn.append((judged, judgement))
        if judgement.verdict == "improvement":
            kept.append(_as_improvement(judged, judgement))
    return kept, withdrawn
