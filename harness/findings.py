"""Findings: broken invariants turned into ledger entries that do not duplicate on re-runs.

A :class:`Finding` is one candidate finding before it has an ID. Its ``fingerprint`` hashes
the target name, the kind, the component, the check and a normalised defect class — never
timings, seeds, run ids or addresses — so the same defect found again folds into the entry
it already has. :func:`merge_findings` folds findings into the four ledgers:

- a new fingerprint gets the next free ID of its ledger (BUG-NNN, DX-NNN, IMP-NNN, STR-NNN);
- a known one gets ``last_seen``, ``last_seen_run``, ``seen_count`` and ``evidence`` updated
  and every other field (hand edits included) kept; a ``fixed`` one is re-opened;
- an open generated entry of the same target whose check ran but did not find it again is
  marked ``fixed`` with the run that showed it;
- hand-written entries (no fingerprint, or ``"source": "manual"``) are never modified.

All four ledgers are loaded and validated before anything is written; a corrupt one stops
the merge with exit code 2 and stays as it was.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from harness.errors import HarnessError
from harness.ledgers import (
    KINDS,
    PRIORITIES,
    SEVERITIES,
    is_generated,
    load_ledgers,
    save_ledger,
    validate_ledger,
)

__all__ = [
    "CAPABILITY_COMPONENTS",
    "CAPABILITY_TEXT",
    "Finding",
    "MergeSummary",
    "checks_run_for",
    "compute_fingerprint",
    "findings_from_run",
    "merge_findings",
    "missing_capabilities",
    "missing_capability",
    "normalise_defect",
    "record_run",
]

FINDING_SOURCES = ("run", "fuzz")


@dataclass
class Finding:
    """One candidate finding, before it gets an ID in a ledger.

    ``severity`` is critical/high/medium/low for bugs and DX issues, the priority P0..P3 for
    improvements, and may be empty for strengths. ``evidence["source"]`` is ``"run"`` or
    ``"fuzz"``; ``evidence["defect_class"]``, when given, is what distinguishes two defects
    found by the same check. The fingerprint is computed when left empty.

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
        if not self.fingerprint:
            self.fingerprint = compute_fingerprint(self)

    @property
    def defect_class(self) -> str:
        """What distinguishes this defect among those one check can find (normalised)."""
        raw = self.evidence.get("defect_class") or self.evidence.get("invariant") or self.title
        return normalise_defect(str(raw))


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
    """Stable identity of a defect: target name, kind, component, check and defect class."""
    parts = (
        finding.target["name"],
        finding.kind,
        finding.component.strip().lower(),
        finding.check.strip().lower(),
        finding.defect_class,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


# --- findings from a results document -----------------------------------------------------

# (keywords in the invariant name, severity, expected behaviour, impact)
_INVARIANT_RULES: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (("hang", "blocked", "deadline", "stuck", "wait"), "high",
     "no task is still blocked when the scenario's deadline passes; every wait ends, "
     "with an error when it cannot succeed",
     "a producer or consumer can wait forever: the stream stalls with no error and no event"),
    (("lost", "loss", "silent", "delivered"), "high",
     "every chunk put is delivered or counted as dropped with a stream.chunk_dropped event",
     "chunks disappear without a trace and nothing tells the operator"),
    (("duplicat",), "high",
     "every chunk is delivered at most once",
     "consumers process the same chunk twice (doubled audio, double counting)"),
    (("order", "fifo"), "medium",
     "chunks from one producer are delivered in the order they were put",
     "reordered audio or events downstream"),
    (("frame",), "medium",
     "reads, drops and trims are whole frames (multiples of channels x bytes per sample)",
     "torn samples: clicks and noise in playback"),
    (("memory", "leak", "growth"), "medium",
     "memory does not grow without bound during the scenario",
     "a long-running stream eventually exhausts memory"),
    (("bound", "depth", "size", "duration", "capacity", "limit"), "medium",
     "the queue depth and the buffer duration never exceed their configured limits",
     "memory and latency grow past what the configuration promises"),
    (("telemetry", "event", "emit"), "low",
     "the expected telemetry events are emitted while the condition happens",
     "operators cannot see backpressure, drops or underruns while they happen"),
)
_DEFAULT_RULE = (
    "medium",
    "the invariant holds for every chunk and every operation of the scenario",
    "the stream misbehaves under this scenario's conditions",
)
_COMPONENT_KEYWORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("duplex", "barge", "interrupt"), "StreamingAudioDuplex"),
    (("buffer", "underrun", "frame", "playback", "playout"), "StreamingBuffer"),
    (("monitor", "throttle", "backpressure", "watermark"), "BackpressureMonitor"),
    (("audio_chunk", "chunk_format", "format"), "AudioChunk"),
)
CAPABILITY_COMPONENTS = {
    "put_timeout": "ChunkQueue",
    "put_nowait": "ChunkQueue",
    "overflow_policies": "ChunkQueue",
    "batch": "ChunkQueue",
    "buffer_level": "StreamingBuffer",
    "buffer_formats": "StreamingBuffer",
    "statistics": "BackpressureMonitor",
    "duplex": "StreamingAudioDuplex",
}
"""Capability name -> the component an improvement finding about it is filed under."""
CAPABILITY_TEXT = {
    "put_timeout": ("ChunkQueue.put() has no timeout parameter",
                    "add put(item, *, timeout=None) raising QueueFull when it expires"),
    "put_nowait": ("ChunkQueue has no put_nowait()",
                   "add put_nowait(item) that raises QueueFull instead of waiting"),
    "overflow_policies": ("ChunkQueue lacks explicit overflow policies",
                          'add overflow="block" | "drop_oldest" | "drop_newest" | "reject"'),
    "batch": ("ChunkQueue lacks batch operations", "add put_many()/get_many()"),
    "buffer_level": ("StreamingBuffer lacks buffer level query method",
                     "add current_ms or current_bytes"),
    "buffer_formats": ("StreamingBuffer supports only PCM_16",
                       "accept format= for PCM_24, PCM_32 and FLOAT_32"),
    "statistics": ("No statistics() snapshots for the queue, monitor and buffer",
                   "add statistics() returning frozen snapshots with high-water marks"),
    "duplex": ("No full-duplex audio session",
               "add a StreamingAudioDuplex with barge-in (interrupt()) and one close()"),
}
"""Capability name -> ``(title, recommendation)`` of the improvement finding when a target
lacks it; shared by ``run`` and ``fuzz`` so both file the same wording."""
_FRAME_RE = re.compile(
    r'(?:(?P<file>[^\s:"]+\.py):\d+ in (?P<func>[\w.<>]+))'
    r'|(?:File "(?P<tb_file>[^"]+)", line \d+, in (?P<tb_func>[\w.<>]+))'
)


def missing_capabilities(scenario: dict[str, Any]) -> list[str]:
    """The capabilities a scenario reported missing, in order, without repeats.

    Read from ``"skipped": [{"capability": NAME, ...}, ...]``, what the runner writes for a
    ``skipped`` scenario and for the parts a running scenario skipped (a single object is
    accepted too).
    """
    found: list[str] = []
    skipped = scenario.get("skipped")
    for item in skipped if isinstance(skipped, list) else [skipped]:
        if isinstance(item, dict) and isinstance(item.get("capability"), str):
            found.append(item["capability"])
    return list(dict.fromkeys(found))


def missing_capability(scenario: dict[str, Any]) -> str | None:
    """The first capability a scenario reported missing, or None."""
    missing = missing_capabilities(scenario)
    return missing[0] if missing else None


def _component(*names: str) -> str:
    for name in names:
        lowered = name.lower()
        for keywords, component in _COMPONENT_KEYWORDS:
            if any(k in lowered for k in keywords):
                return component
    return "ChunkQueue"


def _rule(invariant_name: str) -> tuple[str, str, str]:
    lowered = invariant_name.lower()
    for keywords, severity, expected, impact in _INVARIANT_RULES:
        if any(k in lowered for k in keywords):
            return severity, expected, impact
    return _DEFAULT_RULE


def _wait_places(stack: Any) -> list[tuple[str, str]]:
    """Where hung tasks wait: ``(place, stack of the tasks waiting there)``, sorted by place.

    A place is the innermost two frames of a task without line numbers or directories
    (``streaming.py:put > queues.py:put``). Reads the runner's await chains (one block per
    task, blank-line separated) in either ``file:line in function`` or traceback
    ``File "...", line N, in function`` form.
    """
    text = "\n".join(map(str, stack)) if isinstance(stack, list) else str(stack or "")
    places: dict[str, list[str]] = {}
    for block in re.split(r"\n\s*\n", text):
        frames = [
            f"{PurePath(m['file'] or m['tb_file']).name}:{m['func'] or m['tb_func']}"
            for m in _FRAME_RE.finditer(block)
        ]
        if frames:
            places.setdefault(" > ".join(frames[-2:]), []).append(block.strip("\n"))
    return [(place, "\n\n".join(blocks)) for place, blocks in sorted(places.items())]


def _error_class(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("type") or "error")
    if isinstance(error, str):
        head = error.partition(":")[0].strip()
        return head if re.fullmatch(r"[\w.]+", head) else normalise_defect(error)[:120]
    return "error"


def _reproduction(run: dict[str, Any], scenario: dict[str, Any], *extra: dict[str, Any]) -> str:
    for source in (*extra, scenario):
        text = source.get("reproduction")
        if isinstance(text, str) and text:
            return text
    command = (
        f"stageflow-stress run {scenario['name']} --target {run['target']['name']} "
        f"--seed {run.get('seed')}"
    )
    return command + (" --quick" if run.get("quick") else "")


def _target(run: dict[str, Any]) -> dict[str, Any]:
    target = run["target"]
    return {"name": str(target.get("name")), "version": str(target.get("version", ""))}


def findings_from_run(run: dict[str, Any]) -> list[Finding]:
    """Every failed invariant of every fail/timeout/error scenario becomes a bug Finding.

    A scenario that crashed gives a ``<scenario>/crash`` finding, one that timed out without
    naming an invariant a ``<scenario>/deadline`` finding. Every capability a scenario
    reported missing (a ``skipped`` scenario, or part of one skipped) gives an improvement
    finding (check ``capability/<name>``). ``invalid`` scenarios (the load generator
    saturated) give no bug: their numbers say nothing about the target.
    """
    target = _target(run)
    findings: list[Finding] = []
    for scenario in run["scenarios"]:
        for capability in missing_capabilities(scenario):
            findings.append(_capability_finding(run, scenario, capability, target))
        status = scenario["status"]
        if status not in ("fail", "timeout", "error"):
            continue
        failed = [i for i in scenario.get("invariants") or [] if not i.get("passed", True)]
        for invariant in failed:
            places = _wait_places(invariant.get("stack")) if invariant.get("stack") else []
            if places and not invariant.get("defect_class"):
                # one defect per place where tasks hang: a hang in put and one in get are
                # two bugs, and which of them a run hits must not change either's identity
                findings += [_invariant_finding(run, scenario, invariant, target, place, stack)
                             for place, stack in places]
            else:
                findings.append(_invariant_finding(run, scenario, invariant, target))
        if status == "error":
            findings.append(_crash_finding(run, scenario, target))
        elif not failed:
            findings.append(_status_finding(run, scenario, target))
    return findings


def _evidence(run: dict[str, Any], scenario: dict[str, Any], **extra: Any) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "source": "run",
        "run_id": run["run_id"],
        "scenario": scenario["name"],
        "category": scenario.get("category", ""),
        "status": scenario["status"],
        "seed": scenario.get("seed", run.get("seed")),
        "target_version": _target(run)["version"],
    }
    if "repeat_index" in scenario:
        evidence["repeat_index"] = scenario["repeat_index"]
    evidence.update({k: v for k, v in extra.items() if v not in (None, "")})
    return evidence


def _invariant_finding(
    run: dict[str, Any],
    scenario: dict[str, Any],
    invariant: dict[str, Any],
    target: dict[str, Any],
    place: str | None = None,
    place_stack: str | None = None,
) -> Finding:
    name = str(invariant.get("name", "invariant"))
    severity, expected, impact = _rule(name)
    severity = invariant.get("severity") if invariant.get("severity") in SEVERITIES else severity
    component = invariant.get("component") or _component(name, scenario["name"])
    detail = str(invariant.get("detail") or f"invariant {name} failed")
    stack = invariant.get("stack")
    if place is not None:
        defect_class = f"{name}: waits in {place}"
        stack_text = place_stack
    else:
        defect_class = invariant.get("defect_class") or (
            f"{name}: {normalise_defect(str(stack))[:200]}" if stack else name
        )
        stack_text = "\n".join(map(str, stack)) if isinstance(stack, list) else stack
    reproduction = _reproduction(run, scenario, invariant)
    where = f" (waits in {place})" if place else ""
    return Finding(
        kind="bug",
        title=f"{component}: invariant '{name}' broken in scenario {scenario['name']}{where}",
        severity=severity,
        component=component,
        target=target,
        description=(
            f"Scenario {scenario['name']} ({scenario.get('category', 'uncategorised')}) "
            f"against {target['name']} {target['version']} ended '{scenario['status']}' "
            f"with invariant '{name}' broken: {detail}"
        ),
        reproduction=reproduction,
        expected=str(invariant.get("expected") or expected),
        actual=detail,
        impact=impact,
        recommendation=(
            f"Make {component} keep '{name}' under the conditions of {scenario['name']}; "
            "replay with the reproduction command until the scenario passes."
        ),
        evidence=_evidence(
            run, scenario, invariant=name, detail=detail, defect_class=defect_class,
            reproduction=reproduction, stack=stack_text,
        ),
        check=f"{scenario['name']}/{name}",
    )


def _crash_finding(
    run: dict[str, Any], scenario: dict[str, Any], target: dict[str, Any]
) -> Finding:
    error = scenario.get("error")
    error_text = (
        error.get("message") or error.get("type") if isinstance(error, dict) else error
    ) or "the scenario raised"
    error_class = _error_class(error)
    component = _component(scenario["name"])
    reproduction = _reproduction(run, scenario)
    return Finding(
        kind="bug",
        title=f"{component}: scenario {scenario['name']} crashes with {error_class}",
        severity="high",
        component=component,
        target=target,
        description=(
            f"Scenario {scenario['name']} against {target['name']} {target['version']} "
            f"raised instead of completing: {error_text}"
        ),
        reproduction=reproduction,
        expected="the scenario runs to its end without an exception escaping the target",
        actual=str(error_text),
        impact="a streaming session crashes under this scenario's conditions",
        recommendation=f"Handle the condition in {component} or raise a documented error.",
        evidence=_evidence(
            run, scenario, invariant="crash", detail=str(error_text), defect_class=error_class,
            reproduction=reproduction,
        ),
        check=f"{scenario['name']}/crash",
    )


def _status_finding(
    run: dict[str, Any], scenario: dict[str, Any], target: dict[str, Any]
) -> Finding:
    status = scenario["status"]
    component = _component(scenario["name"])
    reproduction = _reproduction(run, scenario)
    if status == "timeout":
        title = f"{component}: scenario {scenario['name']} does not finish before its deadline"
        expected = "the scenario finishes before its deadline; no task waits forever"
        impact = "a producer or consumer can wait forever: the stream stalls"
        check = f"{scenario['name']}/deadline"
        severity = "high"
    else:
        title = f"{component}: scenario {scenario['name']} fails without naming an invariant"
        expected = "the scenario passes"
        impact = "the stream misbehaves under this scenario's conditions"
        check = f"{scenario['name']}/status"
        severity = "medium"
    return Finding(
        kind="bug",
        title=title,
        severity=severity,
        component=component,
        target=target,
        description=(
            f"Scenario {scenario['name']} against {target['name']} {target['version']} "
            f"ended '{status}' after {scenario.get('duration_ms')} ms."
        ),
        reproduction=reproduction,
        expected=expected,
        actual=f"status {status}",
        impact=impact,
        recommendation=f"Find where {component} waits or fails under {scenario['name']}.",
        evidence=_evidence(
            run, scenario, invariant=check.rpartition("/")[2], defect_class=status,
            reproduction=reproduction,
        ),
        check=check,
    )


def _capability_finding(
    run: dict[str, Any], scenario: dict[str, Any], capability: str, target: dict[str, Any]
) -> Finding:
    component = CAPABILITY_COMPONENTS.get(capability, "ChunkQueue")
    title, recommendation = CAPABILITY_TEXT.get(
        capability, (f"{target['name']} lacks capability {capability}", f"add {capability}")
    )
    return Finding(
        kind="improvement",
        title=title,
        severity="P2",
        component=component,
        target=target,
        description=(
            f"Scenario {scenario['name']} was skipped against {target['name']} "
            f"{target['version']}: the target has no {capability!r} capability, so what the "
            "scenario checks cannot be observed."
        ),
        reproduction=_reproduction(run, scenario),
        expected=f"the target offers {capability!r}",
        actual=f"scenario {scenario['name']} skipped: capability {capability!r} missing",
        impact="users cannot observe or control this aspect of the stream",
        recommendation=recommendation,
        evidence=_evidence(run, scenario, invariant=f"capability:{capability}",
                           defect_class=capability),
        check=f"capability/{capability}",
    )


def checks_run_for(run: dict[str, Any]) -> set[str]:
    """The checks a run executed: a finding of these that is not found again is fixed.

    For each scenario that ran (not ``invalid``, not ``skipped``): every listed invariant,
    ``<scenario>/crash``, ``<scenario>/deadline`` and ``<scenario>/status``. Capabilities
    count as checked when the results' ``target.capabilities`` (an object of booleans or a
    list of names) or a scenario's ``requires`` list names them.
    """
    checks: set[str] = set()
    for scenario in run["scenarios"]:
        if scenario["status"] in ("invalid", "skipped"):
            continue
        name = scenario["name"]
        for invariant in scenario.get("invariants") or []:
            if isinstance(invariant, dict) and "name" in invariant:
                checks.add(f"{name}/{invariant['name']}")
        checks.update({f"{name}/crash", f"{name}/deadline", f"{name}/status"})
        requires = scenario.get("requires")
        if isinstance(requires, list):
            checks.update(f"capability/{c}" for c in requires if isinstance(c, str))
    capabilities = run["target"].get("capabilities")
    if isinstance(capabilities, dict):
        checks.update(f"capability/{k}" for k, v in capabilities.items() if v)
    elif isinstance(capabilities, list):
        checks.update(f"capability/{c}" for c in capabilities if isinstance(c, str))
    return checks


# --- merging into the ledgers -------------------------------------------------------------


@dataclass
class MergeSummary:
    """What a merge did, by entry ID. ``ids`` maps each merged fingerprint to its entry ID."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the CLI."""
        parts = []
        for label, ids in (("new", self.added), ("seen again", self.updated),
                           ("re-opened", self.reopened), ("fixed", self.fixed),
                           ("known from hand-written entries", self.manual)):
            if ids or label in ("new", "fixed"):
                shown = f" ({', '.join(ids)})" if ids and len(ids) <= 8 else ""
                parts.append(f"{len(ids)} {label}{shown}")
        return "findings: " + ", ".join(parts)


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
        "evidence": {**finding.evidence, "run_id": run_id},
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
    if finding.kind == "improvement":
        entry["priority"] = finding.severity
    elif finding.severity:
        entry["severity"] = finding.severity
    category = finding.evidence.get("category")
    if isinstance(category, str) and category:
        entry["category"] = category.capitalize()
    return entry


def _seen_again(entry: dict[str, Any], finding: Finding, run_id: str, now: str) -> bool:
    """Update the fields the harness owns; returns True when the entry was re-opened."""
    if entry.get("last_seen_run") != run_id:
        entry["seen_count"] = int(entry.get("seen_count", 1)) + 1
    entry["last_seen"] = now
    entry["last_seen_run"] = run_id
    entry["evidence"] = {**finding.evidence, "run_id": run_id}
    if entry["status"] == "fixed":
        entry["status"] = "open"
        entry["reopened_in_run"] = run_id
        for key in ("fixed_in_run", "fixed_at", "fixed_in_version"):
            entry.pop(key, None)
        return True
    return False


def merge_findings(
    findings: list[Finding],
    *,
    ledger_dir: Path,
    run_id: str,
    target: dict[str, Any],
    checks_run: set[str],
    now: str,
) -> MergeSummary:
    """Fold ``findings`` into the ledgers of ``ledger_dir`` (see the module docstring).

    ``target`` is what the run tested; only its open generated entries can be marked fixed,
    and only for checks in ``checks_run``. Merging the same run twice changes nothing.

    :raises HarnessError: a ledger is corrupt or mis-typed (exit 2); nothing is written.
    """
    ledgers = load_ledgers(Path(ledger_dir))
    summary = MergeSummary()
    by_print: dict[str, dict[str, Any]] = {}
    for ledger in ledgers.values():
        for entry in ledger.entries:
            if entry.get("fingerprint"):
                by_print[entry["fingerprint"]] = entry

    batch: dict[str, Finding] = {}
    for finding in findings:
        batch.setdefault(finding.fingerprint, finding)

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

    target_name = target.get("name")
    for ledger in ledgers.values():
        for entry in ledger.entries:
            if (
                is_generated(entry)
                and entry["status"] == "open"
                and entry["target"].get("name") == target_name
                and entry.get("check") in checks_run
                and entry["fingerprint"] not in batch
            ):
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
    )

