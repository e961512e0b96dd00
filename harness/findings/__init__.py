"""Findings: broken contract clauses turned into ledger entries, each defect reported once.

A :class:`Finding` is one candidate finding before it has an ID. Its identity is the
contract clause broken — a :class:`~harness.defects.DefectKey` ``(component, operation,
property)`` — not the check that saw it: the ``fingerprint`` hashes the target name, the
kind, the component, the operation and the property, so the same defect seen by a run
invariant, a scenario's own check and the fuzzer is one entry. The checks that saw it are
its provenance, ``evidence.found_by``: one record per check (``<scenario>/<invariant>`` or
``fuzz/<property>``) with its run id, seed and reproduction command. A finding whose check
cannot name a clause keeps the identity it had before: target name, kind, component, check
and a normalised defect class — never timings, seeds, run ids or addresses.

:func:`merge_findings` folds findings into the four ledgers:

- a new fingerprint gets the next free ID of its ledger (BUG-NNN, DX-NNN, IMP-NNN, STR-NNN);
- a known one gets ``last_seen``, ``last_seen_run``, ``seen_count`` and ``evidence``
  updated, its ``found_by`` records appended to (one per check), and its reproduction
  replaced by a better one (a verified fuzz script over a CLI command) unless a person
  edited it; every other field (hand edits included) is kept; a ``fixed`` one is re-opened;
- an open generated entry of the same target that was not found again is marked ``fixed``
  when at least one of the checks that found it ran (a check that did not run says
  nothing), i.e. every check of ``found_by`` that ran no longer sees it — unless the
  producer says why it files nothing for each of those checks (``not_filed``: a part the
  target does not have; a declaration the judge now reads): then it is ``withdrawn`` with
  that reason, since the library did not change, the judge did;
- an open generated improvement identified by its check (no defect key) that a new entry
  of the same target, check and defect class now files under another component (the
  library's own name for its queue) is ``withdrawn`` as superseded, naming the new ID;
- hand-written entries (no fingerprint, or ``"source": "manual"``) are never modified.

All four ledgers are loaded and validated before anything is written; a corrupt one stops
the merge with exit code 2 and stays as it was.

The package follows the data flow: :mod:`~harness.findings.finding` (a finding and its
identity), :mod:`~harness.findings.build` (findings from a results document),
:mod:`~harness.findings.judge` (judged by the target's declared semantics) and
:mod:`~harness.findings.merge` (folded into the ledgers).
"""

from __future__ import annotations

from harness.findings.build import (
    CAPABILITY_COMPONENTS,
    CAPABILITY_TEXT,
    LIBRARY_CAPABILITY_TEXT,
    capability_text,
    checks_run_for,
    findings_from_run,
    missing_capabilities,
    missing_capability,
    parts_lacking,
)
from harness.findings.finding import (
    Finding,
    compute_fingerprint,
    found_by_record,
    key_fingerprint,
    normalise_defect,
)
from harness.findings.judge import judge_findings
from harness.findings.merge import MergeSummary, merge_findings, record_run, reproduction_rank

__all__ = [
    "CAPABILITY_COMPONENTS",
    "CAPABILITY_TEXT",
    "LIBRARY_CAPABILITY_TEXT",
    "Finding",
    "MergeSummary",
    "capability_text",
    "checks_run_for",
    "compute_fingerprint",
    "findings_from_run",
    "found_by_record",
    "judge_findings",
    "key_fingerprint",
    "merge_findings",
    "missing_capabilities",
    "missing_capability",
    "normalise_defect",
    "parts_lacking",
    "record_run",
    "reproduction_rank",
]
