"""Findings from a results document: one bug per distinct defect a run saw, a finding per
check that names no defect, crash/deadline findings, and an improvement per missing
capability."""

from __future__ import annotations

import dataclasses
import re
from pathlib import PurePath
from typing import Any

from harness import defects as vocabulary
from harness.defects import DefectKey
from harness.findings.finding import Finding, found_by_record, normalise_defect
from harness.ledgers import SEVERITIES
from harness.targets import OVERFLOW_POLICIES

__all__ = [
    "CAPABILITY_COMPONENTS",
    "CAPABILITY_TEXT",
    "LIBRARY_CAPABILITY_TEXT",
    "capability_text",
    "checks_run_for",
    "findings_from_run",
    "missing_capabilities",
    "missing_capability",
    "parts_lacking",
]


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
LIBRARY_CAPABILITY_TEXT = {
    "put_timeout": (
        "{put} on a full {queue} waits without a bound of its own: document {idiom}",
        "Keep {put} as it is (in {family} code a timeout belongs to the caller) and show in "
        "its docstring how to bound the wait, `{bounded}`, with what a call cancelled that "
        "way guarantees (its item is not queued), so a producer can retry or drop it"),
    "overflow_policies": (
        "{queue} offers no overflow policy: when it is full a producer can only wait or fail",
        "Offer a choice of what happens to an item added to a full {queue}: drop the oldest "
        "item or the new one, and tell the caller which (a return value or a counter), "
        "beside waiting ({put}) and failing ({put_nowait} raises {full}); a real-time stream "
        "such as audio wants the newest items, not a blocked producer"),
    "put_nowait": (
        "{queue} has no way to add an item that fails instead of waiting",
        "Add a variant of {put} that raises at once when the {queue} is full"),
    "close": (
        "{queue} has no way to end a stream",
        "Add a close that refuses new items and makes {get} report the end once the items "
        "queued are taken, so consumers stop without a sentinel item taking a slot"),
}
"""The same advice for a library target, in its words (:meth:`LibraryCode.words
<harness.targets.LibraryCode.words>`: ``{queue}``, ``{put}``, ``{put_nowait}``, ``{get}``,
``{full}``; ``{bounded}`` is its ``bound_wait`` around ``{put}``, ``{idiom}`` the call it
opens, ``{family}`` that call's package): a maintainer reads their own class and calls,
never Stageflow's ``ChunkQueue``, and the idiom of their library where ours would add a
parameter."""
_IDIOM_RE = re.compile(r"with\s+(?P<call>(?P<family>\w+)[\w.]*)\(")


def capability_text(capability: str, target: dict[str, Any]) -> tuple[str, str, str]:
    """``(component, title, recommendation)`` of the improvement a target lacking
    ``capability`` gets. A target whose results carry its library's words (``target
    ["library"]``, a built-in library adapter's) is named and advised in them
    (:data:`LIBRARY_CAPABILITY_TEXT`, the component its queue's own name); any other gets
    :data:`CAPABILITY_TEXT` under :data:`CAPABILITY_COMPONENTS`."""
    generic = CAPABILITY_TEXT.get(
        capability, (f"{target['name']} lacks capability {capability}", f"add {capability}"))
    component = CAPABILITY_COMPONENTS.get(capability, "ChunkQueue")
    words = target.get("library")
    if not isinstance(words, dict) or not words.get("queue") or component != "ChunkQueue":
        return component, *generic
    fill = {str(k): str(v) for k, v in words.items()}
    idiom = _IDIOM_RE.search(fill.get("bound_wait", ""))
    if idiom is not None and "put" in fill:
        fill.update(bounded=fill["bound_wait"].format(call=fill["put"]),
                    idiom=f"{idiom['call']}()", family=idiom["family"])
    try:
        title, recommendation = (text.format(**fill)
                                 for text in LIBRARY_CAPABILITY_TEXT[capability])
    except KeyError:  # no advice in its words for this capability, or a word is missing
        title, recommendation = f"{fill['queue']} lacks {capability}", generic[1]
    return fill["queue"], title, recommendation
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


def parts_lacking(run: dict[str, Any]) -> dict[str, str]:
    """Why a run files nothing for the parts its target does not have: ``capability/<name>``
    (the check an improvement for it would have) -> the reason, for every part a scenario
    was skipped for (a skip record with ``part``). The merge withdraws an entry filed for
    such a part before, with this reason (:func:`harness.findings.merge_findings`)."""
    reasons: dict[str, str] = {}
    name = run["target"].get("name")
    for scenario in run["scenarios"]:
        skipped = scenario.get("skipped")
        for item in skipped if isinstance(skipped, list) else [skipped]:
            if not (isinstance(item, dict) and isinstance(item.get("part"), str)
                    and isinstance(item.get("capability"), str)):
                continue
            reason = (f"{name} has no {item['part']} part (scenario {scenario['name']} was "
                      f"skipped for it): a part a target does not have is no feature it "
                      "lacks, and files no improvement")
            for capability in dict.fromkeys((item["capability"], item["part"])):
                reasons.setdefault(f"capability/{capability}", reason)
    return reasons


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
    if isinstance(target.get("library"), dict):
        data["library"] = target["library"]
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
    The exception: items ``none_lost`` counted without a cause, in a scenario where another
    check named a loss defect (property ``no_loss``), are a sighting of that defect (the
    same items seen twice), and the check-level entry they once made is merged into it.
    A scenario that crashed gives a ``<scenario>/crash`` finding, one that timed out without
    naming an invariant a ``<scenario>/deadline`` finding. Every capability a scenario
    reported missing gives an improvement finding (check ``capability/<name>``).
    ``invalid`` scenarios give no bug: their numbers say nothing about the target. An
    invariant excused as the target's declared behaviour (``as_declared``) is read whatever
    the scenario's status, so that the judge withdraws it (it is never filed as a bug).
    """
    target = _target(run)
    slots: list[Finding | DefectKey] = []
    sightings: dict[DefectKey, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    absorbed: dict[DefectKey, list[str]] = {}
    for scenario in run["scenarios"]:
        for capability in missing_capabilities(scenario):
            slots.append(_capability_finding(run, scenario, capability, target))
        status = scenario["status"]
        excused = any(i.get("as_declared") for i in scenario.get("invariants") or [])
        if status not in ("fail", "timeout", "error") and not excused:
            # an invariant broken as the target declares fails no status, yet is judged
            # here like any other, so the judge withdraws what was filed for it before
            continue
        failed = [i for i in scenario.get("invariants") or [] if not i.get("passed", True)]
        loss_keys = [key for invariant in failed for key in _invariant_keys(invariant)
                     if key.property == "no_loss"]
        for invariant in failed:
            keys = _invariant_keys(invariant)
            if not keys and loss_keys and invariant.get("name") == LOSS_CHECK:
                # the same lost items, counted by the universal check that cannot say why
                # and by a check of this scenario that names the defect: one sighting more
                # of that defect, and the entry the count alone once made merges into it
                key = loss_keys[0]
                absorbed.setdefault(key, []).extend(
                    f.fingerprint for f in _check_findings(run, scenario, invariant, target))
                keys = (key,)
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
            _with_members(_defect_finding(run, slot, sightings[slot], target),
                          absorbed.get(slot)) for slot in slots]


LOSS_CHECK = "none_lost"
"""The universal loss count (harness/invariants/delivery.py): it sees every lost item but
names a defect only where a close explains the loss."""


def _with_members(finding: Finding, members: list[str] | None) -> Finding:
    """``finding`` with the fingerprints of the check-level entries it stands for."""
    if not members:
        return finding
    listed = list(dict.fromkeys([*(finding.evidence.get("member_fingerprints") or []),
                                 *members]))
    return dataclasses.replace(finding, evidence={**finding.evidence,
                                                  "member_fingerprints": listed})


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
    words = target.get("library") if isinstance(target.get("library"), dict) else None
    title = vocabulary.headline(key, detail, words)
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
    if capability.startswith("overflow:"):
        # one policy missing is the recommendation the fuzzer files too (explicit overflow
        # policies): one improvement, not one per policy and another per command
        capability = "overflow_policies"
    component, title, recommendation = capability_text(capability, target)
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
