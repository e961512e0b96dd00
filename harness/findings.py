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
  nothing), i.e. every check of ``found_by`` that ran no longer sees it;
- hand-written entries (no fingerprint, or ``"source": "manual"``) are never modified.

All four ledgers are loaded and validated before anything is written; a corrupt one stops
the merge with exit code 2 and stays as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from harness import defects as vocabulary
from harness.contract import CLAUSES, Level, Semantics
from harness.defects import DefectKey, Judgement
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
from harness.targets import OVERFLOW_POLICIES

__all__ = [
    "CAPABILITY_COMPONENTS",
    "CAPABILITY_TEXT",
    "Finding",
    "MergeSummary",
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
    "record_run",
    "reproduction_rank",
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
        if isinstance(item, dict) and isinstance(item.get("capability"), str) \
                and not item.get("part"):  # a part the target does not have is no shortcoming
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
    data = {"name": str(target.get("name")), "version": str(target.get("version", ""))}
    if isinstance(target.get("semantics"), list):
        data["semantics"] = target["semantics"]
    return data


def findings_from_run(run: dict[str, Any]) -> list[Finding]:
    """The findings of a run: one bug per distinct defect, however many checks saw it.

    A failed invariant (of a fail/timeout/error scenario) that names its defects
    (``"defects": [{component, operation, property}]``) contributes to one Finding per
    :class:`DefectKey`: titled by :func:`harness.defects.title`, reproduced by the replay
    command of the first scenario that saw it, with that invariant's detail as ``actual``
    and every check that saw it in ``evidence.found_by``. What an invariant saw but could
    not name (``unattributed``), and a failed invariant that names no defect, is filed under
    its check as before: a hang without a key gives one finding per place where tasks wait.
    A scenario that crashed gives a ``<scenario>/crash`` finding, one that timed out without
    naming an invariant a ``<scenario>/deadline`` finding. Every capability a scenario
    reported missing gives an improvement finding (check ``capability/<name>``).
    ``invalid`` scenarios give no bug: their numbers say nothing about the target.
    """
    target = _target(run)
    slots: list[Finding | DefectKey] = []
    sightings: dict[DefectKey, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for scenario in run["scenarios"]:
        for capability in missing_capabilities(scenario):
            slots.append(_capability_finding(run, scenario, capability, target))
        status = scenario["status"]
        if status not in ("fail", "timeout", "error"):
            continue
        failed = [i for i in scenario.get("invariants") or [] if not i.get("passed", True)]
        for invariant in failed:
            keys = _invariant_keys(invariant)
            for key in keys:
                if key not in sightings:
                    sightings[key] = []
                    slots.append(key)
                sightings[key].append((scenario, invariant))
            if not keys:
                slots += _check_findings(run, scenario, invariant, target)
            elif invariant.get("unattributed") or invariant.get("unattributed_stack"):
                rest = {**invariant, "detail": invariant.get("unattributed") or
                        invariant.get("detail"), "stack": invariant.get("unattributed_stack")}
                slots += _check_findings(run, scenario, rest, target)
        if status == "error":
            slots.append(_crash_finding(run, scenario, target))
        elif not failed:
            slots.append(_status_finding(run, scenario, target))
    return [slot if isinstance(slot, Finding) else
            _defect_finding(run, slot, sightings[slot], target) for slot in slots]


def _invariant_keys(invariant: dict[str, Any]) -> tuple[DefectKey, ...]:
    """The defect keys a results document's invariant names (bad ones are left out)."""
    keys = []
    for item in invariant.get("defects") or []:
        try:
            keys.append(DefectKey.of(item))
        except ValueError:
            continue
    return tuple(dict.fromkeys(keys))


def _check_findings(run: dict[str, Any], scenario: dict[str, Any], invariant: dict[str, Any],
                    target: dict[str, Any]) -> list[Finding]:
    """Findings identified by their check (an invariant that names no defect)."""
    places = _wait_places(invariant.get("stack")) if invariant.get("stack") else []
    if places and not invariant.get("defect_class"):
        # one defect per place where tasks hang: a hang in put and one in get are
        # two bugs, and which of them a run hits must not change either's identity
        return [_invariant_finding(run, scenario, invariant, target, place, stack)
                for place, stack in places]
    return [_invariant_finding(run, scenario, invariant, target)]


def _defect_finding(run: dict[str, Any], key: DefectKey,
                    seen: list[tuple[dict[str, Any], dict[str, Any]]],
                    target: dict[str, Any]) -> Finding:
    """One bug for ``key``, seen by the ``(scenario, invariant)`` pairs of one run."""
    scenario, invariant = seen[0]
    name = str(invariant.get("name", "invariant"))
    detail = str(invariant.get("detail") or f"invariant {name} failed")
    reproduction = _reproduction(run, scenario, invariant)
    records: dict[str, dict[str, Any]] = {}
    for sc, inv in seen:
        check = f"{sc['name']}/{inv.get('name', 'invariant')}"
        if check not in records:
            records[check] = found_by_record(
                check, _evidence(run, sc, invariant=str(inv.get("name", "invariant"))),
                reproduction=_reproduction(run, sc, inv), detail=str(inv.get("detail") or ""))
    severity = vocabulary.severity(key)
    title = vocabulary.headline(key, detail)
    checks = ", ".join(records)
    stack = invariant.get("stack")
    verified: dict[str, Any] = {}
    script = _scenario_script(key, target, title, reproduction)
    if script is not None:  # a short verified script; the command stays in found_by
        reproduction, verified = script
    others = len(records) - 1
    more = (f" (and {others} more check{'s' if others > 1 else ''}: see evidence.found_by)"
            if others else "")
    return Finding(
        kind="bug",
        title=title,
        severity=severity,
        component=key.component,
        target=target,
        description=(
            f"{target['name']} {target['version']}: {key.component}.{key.operation} breaks "
            f"'{key.property}': {vocabulary.PROPERTIES[key.property].wrong}. Seen by {checks}; "
            f"first in scenario {scenario['name']} ({scenario.get('category', 'uncategorised')},"
            f" ended '{scenario['status']}'): {detail}"
        ),
        reproduction=reproduction,
        expected=vocabulary.expected(key),
        actual=detail + more,
        impact=vocabulary.impact(severity),
        recommendation=(
            f"Make {key.component}.{key.operation.split(' ')[0]} keep '{key.property}' "
            f"({vocabulary.expected(key)}); replay with the reproduction until it passes."
        ),
        evidence=_evidence(
            run, scenario, invariant=name, detail=detail,
            property=key.property, operation=key.operation,
            defect_class=f"{key.property}: {key.operation}", reproduction=reproduction,
            stack="\n".join(map(str, stack)) if isinstance(stack, list) else stack,
            found_by=list(records.values()), verified=verified or None,
        ),
        check=next(iter(records)),
    )


def _scenario_script(key: DefectKey, target: dict[str, Any], title: str,
                     command: str) -> tuple[str, dict[str, Any]] | None:
    """The verified short script for a scenario-found defect (harness/reproduce.py), when
    there is one for its key and the target is an importable module."""
    from harness import reproduce

    if key not in reproduce.SCRIPTS:
        return None
    try:
        from harness.targets import load_target

        module = getattr(getattr(load_target(target["name"]), "module", None), "__name__", None)
    except Exception:  # a target that cannot be loaded here: keep the command
        return None
    if not module:
        return None
    return reproduce.scenario_script(key, module=module, title=title, command=command,
                                     target=f"{target['name']} {target['version']}")


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
            reproduction=reproduction, stack=stack_text, level=invariant.get("level"),
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
    list of names; ``overflow_policies`` only with all four) or a scenario's ``requires``
    list names them.
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
        checks.update(f"capability/{k}" for k, v in capabilities.items() if _has(k, v))
    elif isinstance(capabilities, list):
        checks.update(f"capability/{c}" for c in capabilities if isinstance(c, str))
    return checks


def _has(capability: str, value: Any) -> bool:
    """Whether a results document's capability value means the target has it; overflow
    policies count only when all four are there (as the fuzzer files them)."""
    if capability == "overflow_policies":
        return isinstance(value, list | tuple | set | frozenset) and \
            set(value) >= set(OVERFLOW_POLICIES)
    return bool(value)


# --- judging: by the target's declared semantics, one entry per root cause ---------------

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
        title, recommendation = CAPABILITY_TEXT[capability]
        evidence.update(invariant=f"capability:{capability}", defect_class=capability)
        return dataclasses.replace(
            finding, kind="improvement", severity="P2", title=title,
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


def _as_root_cause(finding: Finding, cause: vocabulary.RootCause) -> Finding:
    """A bug that is a symptom of a known root cause: filed under the cause's key."""
    member = finding.fingerprint
    evidence = {**finding.evidence, "root_cause": cause.name,
                "symptoms": [_symptom(finding)], "member_fingerprints": [member]}
    fingerprint = key_fingerprint(finding.target["name"], finding.kind, cause.key)
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
            kept.append(judged if cause is None else _as_root_cause(judged, cause))
            continue
        withdrawn.append((judged, judgement))
        if judgement.verdict == "improvement":
            kept.append(_as_improvement(judged, judgement))
    return kept, withdrawn


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
    # the same steps under a docstring in the harness's current words
    reworded = offered == rank and finding.reproduction != current and \
        _code(finding.reproduction) == _code(current)
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
        merged = [*(first.evidence.get(name) or []), *(other.evidence.get(name) or [])]
        if merged:
            evidence[name] = _distinct(merged)
    return dataclasses.replace(first, reproduction=best.reproduction, evidence=evidence,
                               check=first.check, fingerprint=first.fingerprint)


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
) -> MergeSummary:
    """Fold ``findings`` into the ledgers of ``ledger_dir`` (see the module docstring).

    Bug findings are judged first (:func:`judge_findings`) by ``semantics`` (by default the
    declarations ``target["semantics"]`` lists; none: only universal clauses make bugs).

    ``target`` is what the run tested; only its open generated entries can be marked fixed,
    and only when a check of their ``found_by`` is in ``checks_run``. Merging the same run
    twice changes nothing.

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
            if not any(check in checks_run for check in checks):
                continue  # none of the checks that saw it ran: nothing is known
            if _is_legacy(entry) and entry.get("check") in still_seeing:
                continue  # identified by a check that still sees a defect: not fixed
            if entry["fingerprint"] in still_judged:
                continue
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
    )

