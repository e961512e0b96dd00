"""The Findings section: every ledger entry in full, by kind and ID (its reproduction, what
was expected and observed, the checks that found it, when it was seen), and the entries no
longer counted (withdrawn or merged) listed with their reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.ledgers import KINDS, LEDGER_FILES
from harness.report.markdown import (
    _fence,
    _get,
    _id_key,
    _inline,
    _num,
    _plural,
    _table,
    _target_text,
)

__all__ = ["REPRODUCTION_MAX_LINES"]

_KIND_TITLES = {
    "bug": "Bugs",
    "dx": "DX issues",
    "improvement": "Improvements",
    "strength": "Strengths",
}


REPRODUCTION_MAX_LINES = 40
"""A longer reproduction (a generated fuzz script) stays in its ledger; the report says how
to get it instead of printing hundreds of lines per finding."""


def _reproduction_lines(text: str, kind: str) -> list[str]:
    count = text.count("\n") + 1
    if count <= REPRODUCTION_MAX_LINES:
        return ["**Reproduction**", "", *_fence(text), ""]
    return [f"**Reproduction:** a self-contained {count}-line script, the entry's "
            f"`reproduction` field in `{LEDGER_FILES.get(kind, kind)}` (save it and run "
            "`python repro.py [MODULE]`: exit 1 while the defect is present, 0 once fixed).", ""]


def _entry_lines(entry: Mapping[str, Any], kind: str) -> list[str]:
    lines = [f"#### {entry.get('id')}: {entry.get('title')}", ""]
    rank = entry.get("priority") if kind == "improvement" else entry.get("severity")
    source = entry.get("source") or ("run" if entry.get("fingerprint") else "manual")
    if entry.get("origin"):
        source = f"{source} ({entry['origin']})"
    header = ["Category", "Component", "Target", "Status", "Source"]
    row = [entry.get("category"), entry.get("component"), _target_text(entry.get("target")),
           entry.get("status"), source]
    if kind != "strength":
        header.insert(0, "Priority" if kind == "improvement" else "Severity")
        row.insert(0, rank)
    lines += _table(header, [row])
    lines.append("")
    if entry.get("description"):
        lines += [str(entry["description"]), ""]
    if entry.get("reproduction"):
        lines += _reproduction_lines(str(entry["reproduction"]), kind)
    for key, label in (("expected", "Expected"), ("actual", "Actual"), ("impact", "Impact"),
                       ("recommendation", "Recommendation"), ("notes", "Notes")):
        if entry.get(key):
            lines += [f"**{label}:** {_inline(entry[key])}", ""]
    ours = entry.get("our_library")
    if isinstance(ours, Mapping) and ours.get("answer"):
        docs = f" (see `{ours['docs']}`)" if ours.get("docs") else ""
        lines += [f"**What {ours.get('name', 'our library')} does:** "
                  f"{_inline(ours['answer'])}{docs}", ""]
    found_by = _found_by(entry)
    if found_by:
        lines += ["**Found by**", "", *found_by, ""]
    seen = _seen(entry)
    if seen:
        lines += [seen, ""]
    return lines


def _found_by(entry: Mapping[str, Any]) -> list[str]:
    """One line per check of ``evidence.found_by``, in the ledger's order (the order the
    checks first saw the defect): the check, where it ran (run id and seed, or fuzz machine
    and seed) and the command that runs it again. Records without a check are left out."""
    records = _get(entry, "evidence", "found_by")
    if not isinstance(records, list):
        return []
    lines = []
    for record in records:
        if not isinstance(record, Mapping) or not record.get("check"):
            continue
        lines.append(f"- `{_inline(record['check'])}` ({_record_source(record)})"
                     + (f": `{_inline(record['reproduction'])}`"
                        if record.get("reproduction") else ""))
    return lines


def _record_source(record: Mapping[str, Any]) -> str:
    """``run `<id>`, seed 7`` or ``fuzz `<id>`, queue machine, seed 3, script verified``."""
    source = _inline(record.get("source") or "run")
    parts = [f"{source} `{_inline(record['run_id'])}`" if record.get("run_id") else source]
    if record.get("machine"):
        parts.append(f"{_inline(record['machine'])} machine")
    if record.get("seed") is not None:
        parts.append(f"seed {_inline(str(record['seed']))}")
    if _num(record.get("repeat_index")):
        parts.append(f"repeat {record['repeat_index']}")
    if "confirmed" in record:
        parts.append("script verified" if record["confirmed"] else "script not verified")
    return ", ".join(parts)


def _seen(entry: Mapping[str, Any]) -> str:
    if not entry.get("first_seen") and not entry.get("last_seen_run"):
        return ""
    text = f"**Seen:** first {entry.get('first_seen')}"
    if entry.get("first_seen_run"):
        text += f" (run `{entry['first_seen_run']}`)"
    text += f", last {entry.get('last_seen')}"
    if entry.get("last_seen_run"):
        text += f" (run `{entry['last_seen_run']}`)"
    if entry.get("seen_count"):
        text += f", {_plural(int(entry['seen_count']), 'run')}"
    if entry.get("status") == "fixed" and entry.get("fixed_in_run"):
        text += f"; fixed as of run `{entry['fixed_in_run']}`"
        if entry.get("fixed_in_version"):
            text += f" (version {entry['fixed_in_version']})"
    return text + "."


_SET_ASIDE = ("withdrawn", "merged")
"""Statuses of entries the harness no longer counts as findings (docs/judging.md): listed
with their reason, not in full."""


def _findings(ledgers: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    lines = ["## Findings", ""]
    for kind in KINDS:
        everything = sorted(ledgers.get(kind, ()), key=_id_key)
        entries = [e for e in everything if e.get("status") not in _SET_ASIDE]
        aside = [e for e in everything if e.get("status") in _SET_ASIDE]
        lines += [f"### {_KIND_TITLES[kind]} ({len(entries)})", ""]
        if not entries:
            lines += ["None recorded.", ""]
        for entry in entries:
            lines += _entry_lines(entry, kind)
        if aside:
            lines += [f"#### No longer counted ({len(aside)})", "",
                      "Entries the harness withdrew (not a defect by the target's declared "
                      "semantics, or only our recommendation) or merged into the entry of "
                      "their root cause; see docs/judging.md.", ""]
            lines += [_aside_line(entry) for entry in aside] + [""]
    return lines


def _aside_line(entry: Mapping[str, Any]) -> str:
    if entry.get("status") == "merged":
        why = f"merged into {entry.get('merged_into')}"
    else:
        why = f"withdrawn: {_inline(str(entry.get('withdrawn_reason') or 'no reason given'))}"
    return f"- {entry.get('id')} {_inline(str(entry.get('title')))} — {why}"
