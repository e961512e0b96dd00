"""Merging findings into the four ledgers: IDs, updates of known entries (a better
reproduction, the harness's current words), fixed and withdrawn entries, and recording a
run."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.contract import Semantics
from harness.errors import HarnessError
from harness.findings.build import _target, checks_run_for, findings_from_run, parts_lacking
from harness.findings.finding import (
    Finding,
    _found_by_checks,
    _is_command,
    _key_of,
    found_by_record,
    key_fingerprint,
    normalise_defect,
)
from harness.findings.judge import _symptom, judge_findings
from harness.ledgers import (
    is_generated,
    load_ledgers,
    save_ledger,
    validate_ledger,
)

__all__ = [
    "MergeSummary",
    "merge_findings",
    "record_run",
    "reproduction_rank",
]


@dataclass
class MergeSummary:
    """What a merge did, by entry ID. ``ids`` maps each merged fingerprint to its entry ID."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the CLI."""
        parts = []
        for label, ids in (("new", self.added), ("seen again", self.updated),
                           ("re-opened", self.reopened), ("fixed", self.fixed),
                           ("withdrawn", self.withdrawn), ("merged", self.merged),
                           ("known from hand-written entries", self.manual)):
            if ids or label in ("new", "fixed"):
                shown = f" ({', '.join(ids)})" if ids and len(ids) <= 8 else ""
                parts.append(f"{len(ids)} {label}{shown}")
        return "findings: " + ", ".join(parts)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reproduction_rank(text: str, evidence: dict[str, Any]) -> int:
    """How good a reproduction is: 3 a fuzz script verified to fail on the target (and pass
    on the reference), 2 a CLI command (replays the scenario or the session with its seed),
    1 any other script."""
    if _is_command(text):
        return 2
    verified = evidence.get("verified")
    return 3 if isinstance(verified, dict) and verified.get("confirmed") else 1


def _stamped(records: list[dict[str, Any]], run_id: str, now: str) -> list[dict[str, Any]]:
    return [{**record, "run_id": run_id, "last_seen": now} for record in records]


def _merge_records(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``old`` with each record of ``new`` in place of the one of the same check, or
    appended: one record per check, in the order the checks first saw the defect."""
    merged = {r["check"]: r for r in old if isinstance(r, dict) and "check" in r}
    for record in new:
        merged[record["check"]] = record
    return list(merged.values())


def _records_of(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """An entry's ``found_by``; for an entry written before there was one, a record made
    from its ``check`` and ``evidence``."""
    evidence = entry.get("evidence") if isinstance(entry.get("evidence"), dict) else {}
    records = evidence.get("found_by")
    if isinstance(records, list):
        return [r for r in records if isinstance(r, dict) and isinstance(r.get("check"), str)]
    if not entry.get("check"):
        return []
    command = evidence.get("reproduction") if _is_command(str(evidence.get("reproduction"))) \
        else ""
    return [{**found_by_record(entry["check"], evidence, reproduction=str(command or "")),
             "last_seen": entry.get("last_seen")}]


def _is_legacy(entry: dict[str, Any]) -> bool:
    """A generated entry written before findings had ``found_by`` (identified by check)."""
    evidence = entry.get("evidence")
    return not (isinstance(evidence, dict) and isinstance(evidence.get("found_by"), list))


def _new_entry(finding: Finding, entry_id: str, run_id: str, now: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": entry_id,
        "type": finding.kind,
        "title": finding.title,
        "component": finding.component,
        "target": {
            "name": finding.target["name"],
            "version": str(finding.target.get("version", "")),
        },
        "description": finding.description,
        "reproduction": finding.reproduction,
        "expected": finding.expected,
        "actual": finding.actual,
        "impact": finding.impact,
        "recommendation": finding.recommendation,
        "evidence": {
            **finding.evidence, "run_id": run_id,
            "found_by": _stamped(finding.evidence["found_by"], run_id, now),
            "reproduction_from": {
                "check": finding.check, "sha256": _digest(finding.reproduction),
                "rank": reproduction_rank(finding.reproduction, finding.evidence)},
        },
        "status": "open",
        "first_seen": now,
        "last_seen": now,
        "first_seen_run": run_id,
        "last_seen_run": run_id,
        "seen_count": 1,
        "fingerprint": finding.fingerprint,
        "check": finding.check,
        "source": finding.evidence.get("source", "run"),
    }
    entry["evidence"]["text_sha256"] = _text_digest(entry)
    if finding.evidence.get("root_cause"):
        entry["root_cause"] = str(finding.evidence["root_cause"])
    if finding.kind == "improvement":
        entry["priority"] = finding.severity
    elif finding.severity:
        entry["severity"] = finding.severity
    category = finding.evidence.get("category")
    if isinstance(category, str) and category:
        entry["category"] = category.capitalize()
    return entry


def _offer_reproduction(entry: dict[str, Any], finding: Finding, old: dict[str, Any]) -> bool:
    """Give the entry the finding's reproduction when it is better than the one the harness
    wrote there (never over a hand-edited one); a worse script is kept in its check's
    ``found_by`` record (a CLI command is there already). True when it was replaced."""
    current = str(entry.get("reproduction") or "")
    origin = old.get("reproduction_from")
    if isinstance(origin, dict):
        owned = origin.get("sha256") == _digest(current)
        rank = int(origin.get("rank") or 0)
    else:  # written before reproductions were ranked: the harness's if evidence has it
        owned = current == old.get("reproduction") or not current
        rank = reproduction_rank(current, old)
    offered = reproduction_rank(finding.reproduction, finding.evidence)
    evidence = entry["evidence"]
    shorter = offered == rank == 3 and \
        finding.reproduction.count("\n") < current.count("\n")  # verified both: the shorter
    # the same steps under the harness's current words: its docstring and its assertion
    # (what the target was expected to do, as the judge now reads its declarations)
    reworded = offered == rank and finding.reproduction != current and \
        _steps(finding.reproduction) == _steps(current)
    if owned and (offered > rank or shorter or reworded):
        entry["reproduction"] = finding.reproduction
        evidence["reproduction_from"] = {"check": finding.check, "rank": offered,
                                         "sha256": _digest(finding.reproduction)}
        return True
    if isinstance(origin, dict):
        evidence["reproduction_from"] = origin
    if offered < rank and not _is_command(finding.reproduction):
        for record in evidence["found_by"]:
            if record["check"] == finding.check:
                record["snippet"] = finding.reproduction
    return False


def _code(script: str) -> str:
    """A reproduction script without its leading docstring (which carries the title)."""
    text = script.lstrip()
    for quote in ('"""', "'''"):
        if text.startswith(quote):
            end = text.find(quote, len(quote))
            return text[end + len(quote):] if end >= 0 else text
    return text


def _steps(script: str) -> str:
    """A reproduction's code without its docstring and its one-line ``assert`` statements:
    the calls it makes."""
    return "\n".join(line for line in _code(script).splitlines()
                     if not line.lstrip().startswith("assert "))


_TEXT_FIELDS = ("title", "description", "expected", "actual", "impact", "recommendation")


def _text_digest(entry: dict[str, Any] | Finding) -> str:
    get = entry.get if isinstance(entry, dict) else lambda k: getattr(entry, k)
    return _digest("\x1f".join(str(get(k) or "") for k in _TEXT_FIELDS))


def _seen_again(entry: dict[str, Any], finding: Finding, run_id: str, now: str) -> bool:
    """Update the fields the harness owns; returns True when the entry was re-opened."""
    if entry.get("last_seen_run") != run_id:
        entry["seen_count"] = int(entry.get("seen_count", 1)) + 1
    entry["last_seen"] = now
    entry["last_seen_run"] = run_id
    old = entry.get("evidence") if isinstance(entry.get("evidence"), dict) else {}
    records = _merge_records(_records_of(entry),
                             _stamped(finding.evidence["found_by"], run_id, now))
    entry["evidence"] = {**finding.evidence, "run_id": run_id, "found_by": records}
    for name in ("symptoms", "member_fingerprints"):  # a root cause keeps every symptom seen
        merged = [*_listed(finding, name, old), *(old.get(name) or [])]
        if merged:
            entry["evidence"][name] = _distinct(merged)
    replaced = _offer_reproduction(entry, finding, old)
    # The words follow the reproduction they describe, unless a person edited them since
    # the harness wrote them; words written before they were tracked (judged by the old
    # rules) are rewritten. The same script seen again is described in the harness's
    # current words (a better headline reaches the ledger without a new reproduction).
    legacy = "text_sha256" not in old
    same_script = (isinstance(old.get("reproduction_from"), dict)
                   and old["reproduction_from"].get("sha256") == _digest(finding.reproduction))
    if legacy or ((replaced or same_script) and old["text_sha256"] == _text_digest(entry)):
        for key in _TEXT_FIELDS:
            entry[key] = getattr(finding, key)
        if finding.severity and finding.kind in ("bug", "dx"):
            entry["severity"] = finding.severity
        entry["evidence"]["text_sha256"] = _text_digest(entry)
    elif "text_sha256" in old:
        entry["evidence"]["text_sha256"] = old["text_sha256"]
    if finding.evidence.get("root_cause"):
        entry["root_cause"] = str(finding.evidence["root_cause"])
    if entry["status"] == "fixed":
        entry["status"] = "open"
        entry["reopened_in_run"] = run_id
        for key in ("fixed_in_run", "fixed_at", "fixed_in_version"):
            entry.pop(key, None)
        return True
    return False


def _fold(first: Finding, other: Finding) -> Finding:
    """Two findings of one defect in one batch: one, with the checks of both and the better
    reproduction."""
    records = _merge_records(first.evidence["found_by"], other.evidence["found_by"])
    best = max((first, other), key=lambda f: (reproduction_rank(f.reproduction, f.evidence),
                                              -f.reproduction.count("\n")))
    evidence = {**best.evidence, "found_by": records}
    for name in ("symptoms", "member_fingerprints"):
        merged = [*_listed(first, name, other), *_listed(other, name, first)]
        if merged:
            evidence[name] = _distinct(merged)
    return dataclasses.replace(first, reproduction=best.reproduction, evidence=evidence,
                               check=first.check, fingerprint=first.fingerprint)


def _listed(finding: Finding, name: str, beside: Finding | dict[str, Any]) -> list[Any]:
    """A finding's ``symptoms`` (or ``member_fingerprints``); a finding filed under its own
    key lists itself once it meets symptoms of the same root cause (a blocking call beside
    its ``_nowait`` twin)."""
    listed = finding.evidence.get(name)
    if listed:
        return list(listed)
    other = beside.evidence if isinstance(beside, Finding) else beside
    if not other.get("symptoms"):
        return []
    return [_symptom(finding)] if name == "symptoms" else [finding.fingerprint]


def _distinct(items: list[Any]) -> list[Any]:
    """Items without repeats (by their JSON text), in order; symptoms by operation."""
    seen: dict[str, Any] = {}
    for item in items:
        ident = f"{item.get('component')}.{item.get('operation')}" if isinstance(item, dict) \
            else str(item)
        seen.setdefault(ident, item)
    return list(seen.values())


def _entry_number(entry: dict[str, Any]) -> int:
    match = re.search(r"(\d+)$", str(entry.get("id", "")))
    return int(match.group(1)) if match else 1 << 30


def _adopt(ledgers: dict[str, Any], batch: dict[str, Finding], run_id: str,
           summary: MergeSummary) -> None:
    """Give a root cause the ID of the oldest entry filed for one of its symptoms (no ID
    churn), and mark the other open entries of its symptoms ``merged`` into it."""
    entries = [(ledger.kind, e) for ledger in ledgers.values() for e in ledger.entries]
    by_print = {e["fingerprint"]: e for _, e in entries if e.get("fingerprint")}
    for fingerprint, finding in batch.items():
        members = set(finding.evidence.get("member_fingerprints") or ())
        if not members:
            continue
        candidates = sorted((e for kind, e in entries if kind == finding.kind
                             and is_generated(e) and e["fingerprint"] in members
                             and e["fingerprint"] != fingerprint), key=_entry_number)
        owner = by_print.get(fingerprint)
        if owner is None and candidates:
            owner = candidates.pop(0)
            owner["fingerprint"] = fingerprint
            by_print[fingerprint] = owner
        if owner is None:
            continue
        for entry in candidates:
            if entry["status"] in ("open", "fixed"):
                entry["status"] = "merged"
                entry["merged_into"] = owner["id"]
                entry["withdrawn_in_run"] = run_id
                summary.merged.append(entry["id"])


def _supersede(ledgers: dict[str, Any], batch: dict[str, Finding], summary: MergeSummary,
               run_id: str) -> None:
    """Withdraw the open generated improvements that a finding of ``batch`` now files under
    another component: identified by their check (no defect key), with the same target,
    check and defect class — what was named ``ChunkQueue`` for a library whose queue is
    ``asyncio.Queue``. The reason names the entry that carries it on. (Bugs keep the
    vocabulary's components: their identity is the clause broken.)"""
    for fingerprint, finding in batch.items():
        new_id = summary.ids.get(fingerprint)
        if finding.kind != "improvement" or finding.defect_key is not None or new_id is None:
            continue
        for entry in ledgers[finding.kind].entries:
            if not (is_generated(entry) and entry["status"] == "open"
                    and entry["fingerprint"] not in batch
                    and entry["target"].get("name") == finding.target["name"]
                    and entry.get("check") == finding.check
                    and _key_of(entry.get("component"), entry.get("evidence")) is None
                    and str(entry.get("component", "")).strip().lower()
                    != finding.component.strip().lower()):
                continue
            evidence = entry.get("evidence") if isinstance(entry.get("evidence"), dict) else {}
            raw = evidence.get("defect_class") or evidence.get("invariant") or entry["title"]
            if normalise_defect(str(raw)) != finding.defect_class:
                continue
            _withdraw(entry, f"superseded by {new_id}: {finding.check} is filed under "
                             f"{finding.component}, the target's own name for what this entry "
                             f"called {entry.get('component')}", run_id)
            summary.withdrawn.append(entry["id"])


def _withdraw(entry: dict[str, Any], reason: str, run_id: str,
              judged: dict[str, Any] | None = None) -> None:
    entry["status"] = "withdrawn"
    entry["withdrawn_reason"] = reason
    entry["withdrawn_in_run"] = run_id
    if judged:
        entry.setdefault("evidence", {})["judged"] = judged
    for key in ("fixed_in_run", "fixed_at", "fixed_in_version"):
        entry.pop(key, None)


def _migrate(ledgers: dict[str, Any], batch: dict[str, Finding]) -> None:
    """Give generated entries written before defect keys existed their new identity.

    An entry whose evidence names its key (fuzz findings) gets the key's fingerprint. An
    entry identified by its check (run findings) is adopted by the first finding of this
    batch with a key that the same check saw (same target, kind and component), so its ID
    and history go on instead of a twin being added.
    """
    taken = {e["fingerprint"] for ledger in ledgers.values() for e in ledger.entries
             if e.get("fingerprint")}
    for ledger in ledgers.values():
        for entry in ledger.entries:
            if not is_generated(entry) or not _is_legacy(entry):
                continue
            key = _key_of(entry.get("component"), entry.get("evidence"))
            if key is None:
                continue
            fingerprint = key_fingerprint(entry["target"]["name"], ledger.kind, key)
            if fingerprint not in taken:
                taken.discard(entry["fingerprint"])
                entry["fingerprint"] = fingerprint
                taken.add(fingerprint)
    for fingerprint, finding in batch.items():
        if fingerprint in taken or finding.defect_key is None:
            continue
        for entry in ledgers[finding.kind].entries:
            if (is_generated(entry) and _is_legacy(entry) and entry["fingerprint"] not in batch
                    and _key_of(entry.get("component"), entry.get("evidence")) is None
                    and entry["target"].get("name") == finding.target["name"]
                    and entry.get("component") == finding.component
                    and entry.get("check") in finding.checks):
                taken.discard(entry["fingerprint"])
                entry["fingerprint"] = fingerprint
                taken.add(fingerprint)
                break


def merge_findings(
    findings: list[Finding],
    *,
    ledger_dir: Path,
    run_id: str,
    target: dict[str, Any],
    checks_run: set[str],
    now: str,
    semantics: Semantics | None = None,
    not_filed: Mapping[str, str] | None = None,
) -> MergeSummary:
    """Fold ``findings`` into the ledgers of ``ledger_dir`` (see the module docstring).

    Bug findings are judged first (:func:`judge_findings`) by ``semantics`` (by default the
    declarations ``target["semantics"]`` lists; none: only universal clauses make bugs).

    ``target`` is what the run tested; only its open generated entries can be marked fixed,
    and only when a check of their ``found_by`` is in ``checks_run``. Merging the same run
    twice changes nothing.

    ``not_filed`` maps checks to why the producer files nothing for them at this target (a
    part it does not have; a declaration that makes what the check saw valid). An open
    generated entry of the target not found again, each of whose checks has a reason, is
    ``withdrawn`` with the reasons rather than marked fixed — when none of its checks ran
    (they do not apply), or it was filed at this same version (the code did not change: the
    judge did). An improvement identified by its check that a finding of this batch files
    under another component (same target, check and defect class) is withdrawn as
    superseded by the new entry.

    :raises HarnessError: a ledger is corrupt or mis-typed (exit 2); nothing is written.
    """
    ledgers = load_ledgers(Path(ledger_dir))
    summary = MergeSummary()
    if semantics is None:
        semantics = Semantics.from_list(target.get("semantics"))
    originals = {f.fingerprint for f in findings}
    findings, judged_out = judge_findings(findings, semantics)

    batch: dict[str, Finding] = {}
    for finding in findings:
        known = batch.get(finding.fingerprint)
        batch[finding.fingerprint] = finding if known is None else _fold(known, finding)
    _migrate(ledgers, batch)
    _adopt(ledgers, batch, run_id, summary)
    by_print: dict[str, dict[str, Any]] = {}
    for ledger in ledgers.values():
        for entry in ledger.entries:
            if entry.get("fingerprint"):
                by_print[entry["fingerprint"]] = entry

    for fingerprint, finding in batch.items():
        entry = by_print.get(fingerprint)
        if entry is None:
            ledger = ledgers[finding.kind]
            entry = _new_entry(finding, ledger.next_id(), run_id, now)
            ledger.entries.append(entry)
            by_print[fingerprint] = entry
            summary.added.append(entry["id"])
        elif not is_generated(entry):
            summary.manual.append(entry["id"])
        elif _seen_again(entry, finding, run_id, now):
            summary.reopened.append(entry["id"])
        else:
            summary.updated.append(entry["id"])
        summary.ids[fingerprint] = entry["id"]
        for member in finding.evidence.get("member_fingerprints") or ():
            summary.ids.setdefault(member, entry["id"])

    _supersede(ledgers, batch, summary, run_id)

    # what was filed as a bug and is no longer judged one: withdrawn, with the reason
    for finding, judgement in judged_out:
        entry = by_print.get(finding.fingerprint)
        if judgement.verdict == "improvement":
            improvement = next((f for f in batch.values() if f.kind == "improvement"
                                and finding.check in f.checks and
                                finding.evidence.get("operation") in
                                [s.get("operation") for s in f.evidence.get("symptoms") or []]),
                               None)
            filed = summary.ids.get(improvement.fingerprint, "") if improvement else ""
            reason = (f"not a defect: {judgement.reason}; filed as improvement {filed}"
                      if filed else f"not a defect: {judgement.reason}")
            summary.ids.setdefault(finding.fingerprint, filed or "improvement")
        else:
            reason = f"not a defect: {judgement.reason}"
            summary.ids.setdefault(finding.fingerprint, "withdrawn")
        if entry is None or entry.get("status") not in ("open", "fixed"):
            continue
        if not is_generated(entry):
            summary.manual.append(entry["id"])
            continue
        _withdraw(entry, reason, run_id, judgement.as_dict())
        summary.withdrawn.append(entry["id"])
    still_judged = originals | set(batch)

    target_name = target.get("name")
    still_seeing = {check for finding in batch.values() for check in finding.checks}
    for ledger in ledgers.values():
        for entry in ledger.entries:
            if not (is_generated(entry) and entry["status"] == "open"
                    and entry["target"].get("name") == target_name
                    and entry["fingerprint"] not in batch):
                continue
            checks = _found_by_checks(entry.get("evidence"), entry.get("check"))
            if entry["fingerprint"] in still_judged:
                continue
            reasons = [not_filed[c] for c in checks if not_filed and c in not_filed]
            ran = any(check in checks_run for check in checks)
            same_version = str(entry["target"].get("version", "")) == \
                str(target.get("version", ""))
            if checks and len(reasons) == len(checks) and (same_version or not ran):
                # the library is what it was (or the checks do not apply to it): the
                # judge changed, and says why it files nothing now
                _withdraw(entry, "not filed again: " + "; ".join(dict.fromkeys(reasons)),
                          run_id)
                summary.withdrawn.append(entry["id"])
                continue
            if not ran:
                continue  # none of the checks that saw it ran: nothing is known
            if _is_legacy(entry) and entry.get("check") in still_seeing:
                continue  # identified by a check that still sees a defect: not fixed
            evidence = entry.get("evidence") if isinstance(entry.get("evidence"), dict) else {}
            if ledger.kind == "bug" and "judged" not in evidence and \
                    str(entry["target"].get("version", "")) == str(target.get("version", "")):
                # filed before findings were judged by the target's declarations, and not
                # found under those rules at the same version: the judge changed, not the code
                _withdraw(entry, "not found again at the same version once findings are judged "
                          "by the target's declared semantics (three contract levels)", run_id)
                summary.withdrawn.append(entry["id"])
                continue
            entry["status"] = "fixed"
            entry["fixed_in_run"] = run_id
            entry["fixed_at"] = now
            entry["fixed_in_version"] = str(target.get("version", ""))
            summary.fixed.append(entry["id"])

    for ledger in ledgers.values():  # validate every ledger before writing any
        validate_ledger(ledger.doc, ledger.kind, path=ledger.path, text=None)
    for ledger in ledgers.values():
        if save_ledger(ledger):
            summary.written.append(ledger.path)
    return summary


def record_run(run: dict[str, Any], *, ledger_dir: Path) -> MergeSummary:
    """Fold a results document's findings into the ledgers (what ``run`` calls after saving).

    The run's ``created_at`` (or its run id) is the timestamp: no clock is read.
    """
    if not isinstance(run.get("run_id"), str) or not isinstance(run.get("target"), dict):
        raise HarnessError("record_run: the results document has no run_id or target")
    return merge_findings(
        findings_from_run(run),
        ledger_dir=Path(ledger_dir),
        run_id=run["run_id"],
        target=_target(run),
        checks_run=checks_run_for(run),
        now=str(run.get("created_at") or run["run_id"]),
        not_filed=parts_lacking(run),
    )
