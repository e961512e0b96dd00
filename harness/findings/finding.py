"""A finding before it has an ID: :class:`Finding`, its identity (the fingerprint of
the clause broken, or of its check and normalised defect class) and its provenance
(``found_by`` records)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from harness.defects import DefectKey
from harness.ledgers import KINDS, PRIORITIES, SEVERITIES

__all__ = [
    "Finding",
    "compute_fingerprint",
    "found_by_record",
    "key_fingerprint",
    "normalise_defect",
]


FINDING_SOURCES = ("run", "fuzz")


@dataclass
class Finding:
    """One candidate finding, before it gets an ID in a ledger.

    ``severity`` is critical/high/medium/low for bugs and DX issues, the priority P0..P3 for
    improvements, and may be empty for strengths. ``evidence["source"]`` is ``"run"`` or
    ``"fuzz"``. ``evidence["property"]`` and ``evidence["operation"]`` (with ``component``)
    are the defect's key when the check could name the clause broken; otherwise
    ``evidence["defect_class"]``, when given, is what distinguishes two defects found by the
    same check. ``evidence["found_by"]`` lists the checks that saw it (:func:`found_by_record`;
    one record for ``check`` is made when left out). The fingerprint is computed when left
    empty.

    :raises ValueError: an unknown kind, severity or source, or a target without a name.
    """

    kind: str
    title: str
    severity: str
    component: str
    target: dict[str, Any]
    description: str
    reproduction: str
    expected: str
    actual: str
    impact: str
    recommendation: str
    evidence: dict[str, Any]
    check: str
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Finding.kind {self.kind!r} is not one of {', '.join(KINDS)}")
        allowed: tuple[str, ...] = {
            "bug": SEVERITIES, "dx": SEVERITIES, "improvement": PRIORITIES,
            "strength": ("", *SEVERITIES),
        }[self.kind]
        if self.severity not in allowed:
            raise ValueError(
                f"Finding.severity {self.severity!r} is not valid for a {self.kind} "
                f"(expected one of {', '.join(a for a in allowed if a)})"
            )
        if not isinstance(self.target, dict) or not isinstance(self.target.get("name"), str):
            raise ValueError("Finding.target must be a dict with a string 'name'")
        if not self.title.strip():
            raise ValueError("Finding.title must not be empty")
        if not self.check.strip():
            raise ValueError("Finding.check must not be empty")
        source = self.evidence.get("source", "run")
        if source not in FINDING_SOURCES:
            raise ValueError(
                f"Finding.evidence['source'] {source!r} is not one of {', '.join(FINDING_SOURCES)}"
            )
        if not isinstance(self.evidence.get("found_by"), list):
            command = self.evidence.get("command") or (
                self.reproduction if _is_command(self.reproduction) else "")
            self.evidence = {**self.evidence, "found_by": [
                found_by_record(self.check, self.evidence, reproduction=command)]}
        if not self.fingerprint:
            self.fingerprint = compute_fingerprint(self)

    @property
    def defect_key(self) -> DefectKey | None:
        """The contract clause broken, when the check named it (``evidence.property`` and
        ``evidence.operation``, a property of :data:`harness.defects.PROPERTIES`)."""
        return _key_of(self.component, self.evidence)

    @property
    def defect_class(self) -> str:
        """What distinguishes this defect among those one check can find (normalised)."""
        raw = self.evidence.get("defect_class") or self.evidence.get("invariant") or self.title
        return normalise_defect(str(raw))

    @property
    def checks(self) -> list[str]:
        """The checks that saw it (``found_by``), in order."""
        return _found_by_checks(self.evidence, self.check)


def _key_of(component: Any, evidence: Any) -> DefectKey | None:
    if not isinstance(evidence, dict):
        return None
    prop, operation = evidence.get("property"), evidence.get("operation")
    if not (isinstance(component, str) and isinstance(prop, str) and isinstance(operation, str)):
        return None
    try:
        return DefectKey(component, operation, prop)
    except ValueError:  # not a clause of the vocabulary: identified by its check instead
        return None


def _found_by_checks(evidence: Any, check: Any) -> list[str]:
    records = evidence.get("found_by") if isinstance(evidence, dict) else None
    checks = [r["check"] for r in records or [] if isinstance(r, dict)
              and isinstance(r.get("check"), str)]
    if isinstance(check, str) and check and not checks:
        checks.append(check)
    return list(dict.fromkeys(checks))


def _is_command(text: str) -> bool:
    return text.startswith("stageflow-stress ") and "\n" not in text.strip()


_RECORD_FIELDS = ("run_id", "scenario", "invariant", "seed", "repeat_index", "machine",
                  "max_examples")


def found_by_record(check: str, evidence: dict[str, Any], *, reproduction: str = "",
                    detail: str = "") -> dict[str, Any]:
    """One ``evidence.found_by`` record: the check, its source, run id, scenario and seed (or
    fuzz machine and seed), what it saw (``detail``, one line) and the command that runs it
    again (``reproduction``). Verified fuzz reproductions say so (``confirmed``)."""
    record: dict[str, Any] = {"check": check, "source": evidence.get("source", "run")}
    record.update({k: evidence[k] for k in _RECORD_FIELDS if evidence.get(k) not in (None, "")})
    detail = detail or str(evidence.get("detail") or "")
    if detail:
        record["detail"] = detail[:300]
    verified = evidence.get("verified")
    if isinstance(verified, dict) and "confirmed" in verified:
        record["confirmed"] = bool(verified["confirmed"])
    if reproduction:
        record["reproduction"] = reproduction
    return record


_RUN_ID_RE = re.compile(r"\b\d{8}t\d{6}z-[0-9a-f]+\b")
_UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_HEX_RE = re.compile(r"\b0x[0-9a-f]+\b")
_PATH_RE = re.compile(r"(?:[a-z]:)?(?:[\\/][\w.\-]+)+[\\/]([\w.\-]+)")
_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?")
_SPACE_RE = re.compile(r"\s+")


def normalise_defect(text: str) -> str:
    """Lower-case ``text`` and strip what changes between runs of the same defect.

    Run ids, UUIDs, addresses and numbers become ``#``; directories are dropped from paths;
    whitespace is collapsed.
    """
    text = text.lower()
    text = _RUN_ID_RE.sub("#", text)
    text = _UUID_RE.sub("#", text)
    text = _HEX_RE.sub("#", text)
    text = _PATH_RE.sub(r"\1", text)
    text = _NUMBER_RE.sub("#", text)
    return _SPACE_RE.sub(" ", text).strip()


def compute_fingerprint(finding: Finding) -> str:
    """Stable identity of a defect: target name, kind and its :class:`DefectKey` (component,
    operation, property); for a finding without a key, target name, kind, component, check
    and defect class."""
    key = finding.defect_key
    if key is not None:
        return key_fingerprint(finding.target["name"], finding.kind, key)
    parts = (
        finding.target["name"],
        finding.kind,
        finding.component.strip().lower(),
        finding.check.strip().lower(),
        finding.defect_class,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def key_fingerprint(target_name: str, kind: str, key: DefectKey) -> str:
    """The fingerprint of defect ``key`` of target ``target_name`` in ledger ``kind`` (what a
    hand-written entry carries to be matched by the harness, as BUG-038 does)."""
    parts = (target_name, kind, key.component.strip().lower(), key.operation.strip().lower(),
             key.property)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
