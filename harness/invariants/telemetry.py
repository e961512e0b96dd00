"""The telemetry check: what the scenario saw happen was announced by the target's events
while it happened (``telemetry``): drops, puts that blocked, puts that timed out.
"""

from __future__ import annotations

import numpy as np

from harness.contract import Level
from harness.defects import DefectKey
from harness.invariants.accounting import account_for
from harness.invariants.attribution import (
    _BLOCKED_UNSEEN,
    _CLOSED_DROP_SILENT,
    _FULL_DROP_SILENT,
    _after_close,
    _levels,
    clause_level,
)
from harness.invariants.detail import _SHOWN, _n, _of, chunk_id
from harness.invariants.expectations import Expectations
from harness.invariants.observations import BLOCKED_EVENT, DROP_EVENT, TIMEOUT_EVENT, Observations
from harness.invariants.verdict import Verdict
from harness.pauses import overlap_ns

__all__ = ["check_telemetry"]


def check_telemetry(obs: Observations, expect: Expectations) -> Verdict | None:
    """Conditions the scenario saw were announced by the target's events, while they happened.

    - every put that returned False (dropped) has a ``stream.chunk_dropped`` event;
    - every put that started on a queue with no room (the producer's ``full`` probe) and
      took ``blocked_threshold_ms`` or longer saw ``stream.producer_blocked`` while it was
      blocked: after it started and within ``max(threshold / 4, duration / 4)`` of its start
      (an event emitted only when the put returns is too late to act on). A slow put that
      started with room never waited (a GC or scheduler pause made it slow) and is not
      judged; without a probe (a target without ``__len__``) every slow put is;
    - every put that timed out saw ``stream.producer_timeout``.
    """
    if obs.send_seq.size == 0:
        return None
    problems: list[str] = []
    defects: list[DefectKey] = []
    unnamed: list[str] = []
    checked: list[str] = []
    outcome = obs.send_outcome
    returned_false = int((outcome == "dropped").sum())
    drop_events = len(obs.events_named(DROP_EVENT))
    if returned_false:
        checked.append(_n(returned_false, "refused put"))
        if drop_events < returned_false:
            problems.append(f"{_n(returned_false - drop_events, 'put')} returned False "
                            f"without {DROP_EVENT} ({_n(drop_events, 'event')})")
            where = set(_after_close(expect, obs.send_start[outcome == "dropped"]).tolist())
            if where == {1}:
                defects.append(_CLOSED_DROP_SILENT)
            elif where == {0}:
                defects.append(_FULL_DROP_SILENT)
            else:
                unnamed.append(problems[-1])
    counted = sum(expect.queue_drops.values())
    unannounced = counted - drop_events
    if unannounced > 0 and expect.semantics.value("queue.drop_events") is True:
        # it promises an event per drop, and its own counter counted more drops
        checked.append(_n(counted, "drop counted by the queue", "drops counted by the queue"))
        problems.append(f"the queue counted {counted} drops, {drop_events} "
                        f"{DROP_EVENT} events announced them "
                        f"({_n(unannounced, 'drop')} silent)")
        defects.append(_FULL_DROP_SILENT)
    acc = account_for(obs, expect)
    if acc.dropped_but_delivered:
        problems.append(
            f"{acc.dropped_but_delivered} {DROP_EVENT} "
            + ("event names a chunk that was" if acc.dropped_but_delivered == 1
               else "events name chunks that were") + " delivered")
        unnamed.append(problems[-1])

    threshold_ns = int(expect.blocked_threshold_ms * 1e6)
    duration = obs.send_end - obs.send_start
    paused = overlap_ns(expect.pauses, obs.send_start, obs.send_end)
    slow = duration - paused >= threshold_ns  # a GC pause is nobody's wait
    excused = int(((duration >= threshold_ns) & ~slow & (obs.send_full != 0)).sum())
    blocked = np.nonzero(slow & (obs.send_full != 0))[0]
    if blocked.size:
        checked.append(_n(int(blocked.size), "blocked put"))
        event_t = np.sort(np.asarray([t for _p, t in obs.events_named(BLOCKED_EVENT)],
                                     dtype=np.int64))
        starts = obs.send_start[blocked]
        allow = np.maximum(threshold_ns // 4, duration[blocked] // 4)
        first = np.searchsorted(event_t, starts, side="left")
        ok = np.zeros(blocked.size, dtype=bool)
        has = first < event_t.size
        ok[has] = event_t[first[has]] <= starts[has] + allow[has]
        late = blocked[~ok]
        if late.size:
            ids = [chunk_id(int(obs.send_producer[i]), int(obs.send_seq[i])) for i in late]
            worst = float(duration[late].max()) / 1e6
            problems.append(
                f"{_of(int(late.size), int(blocked.size), 'put')} blocked (up to "
                f"{worst:.0f} ms) without {BLOCKED_EVENT} while blocked: "
                f"{', '.join(ids[:_SHOWN])}"
                + (f" and {late.size - _SHOWN} more" if late.size > _SHOWN else ""))
            defects.append(_BLOCKED_UNSEEN)
    paused = int((slow & (obs.send_full == 0)).sum())
    if paused:
        checked.append(f"{_n(paused, 'slow put')} that started with room (not judged)")
    timeouts = int((outcome == "timeout").sum())
    if timeouts:
        checked.append(_n(timeouts, "timed-out put"))
        timeout_events = len(obs.events_named(TIMEOUT_EVENT))
        if timeout_events < timeouts:
            problems.append(f"{_n(timeouts - timeout_events, 'put timeout')} without "
                            f"{TIMEOUT_EVENT}")
            unnamed.append(problems[-1])
    excuse = (f"{_n(excused, 'put')} slow only by a GC pause not judged" if excused
              else None)
    level = clause_level(expect.semantics, "queue.drop_events") if unnamed \
        else Level.RECOMMENDED
    if problems:
        keys = tuple(dict.fromkeys(defects))
        return Verdict("telemetry", False, "; ".join(problems), defects=keys,
                       unattributed="; ".join(unnamed) or None, level=level,
                       levels=_levels(keys, expect, level), excused=excuse)
    return Verdict("telemetry", True,
                   "announced: " + ", ".join(checked) if checked else "nothing to announce",
                   level=level, excused=excuse)
