"""Latency: the ``latency_bounded`` check (P99 from the intended send time, on the target's
share of it) and the per-chunk latencies, send times and schedule lag the runner and the
metrics read from the same observations.
"""

from __future__ import annotations

import numpy as np

from harness.contract import Level
from harness.invariants.detail import _n
from harness.invariants.expectations import Expectations
from harness.invariants.observations import Observations
from harness.invariants.verdict import Verdict
from harness.metrics import nearest_rank
from harness.pauses import overlap_ns

__all__ = ["check_latency_bounded", "delivered_times_ns", "latencies_ns", "schedule_lag_ns"]


def check_latency_bounded(obs: Observations, expect: Expectations) -> Verdict | None:
    """P99 latency from the intended send time to receipt is within the declared bound.

    Judged on the target's share: garbage-collector pauses during a chunk's trip are taken
    off its latency, and chunks the load generator itself sent late (schedule lag above
    ``expect.lag_limit_ms``: the harness, not the target, set their pace) are left out;
    ``excused`` says how many of each. Our bound, not the target's promise: RECOMMENDED.
    """
    if expect.latency_p99_ms is None:
        return None
    latencies, intended, schedule_lag = _latency_rows(obs)
    if latencies.size == 0:
        return Verdict("latency_bounded", False, "no chunk was delivered",
                       level=Level.RECOMMENDED)
    excuses = []
    late = schedule_lag > expect.lag_limit_ms * 1e6
    if late.any() and not late.all():
        excuses.append(f"{_n(int(late.sum()), 'chunk')} sent late by the load generator "
                       "left out")
        latencies, intended = latencies[~late], intended[~late]
    paused = overlap_ns(expect.pauses, intended, intended + latencies)
    if paused.any():
        worst_before = float(nearest_rank(latencies, [99.0])[0]) / 1e6
        latencies = latencies - paused
        excuses.append(f"GC pauses taken off {_n(int((paused > 0).sum()), 'latency', 'latencies')}"
                       f" (P99 {worst_before:.3f} ms with them)")
    p99 = float(nearest_rank(latencies, [99.0])[0]) / 1e6
    worst = float(latencies.max()) / 1e6
    detail = (f"P99 {p99:.3f} ms {'<=' if p99 <= expect.latency_p99_ms else '>'} "
              f"{expect.latency_p99_ms:g} ms over {_n(int(latencies.size), 'chunk')} "
              f"(max {worst:.3f} ms)")
    return Verdict("latency_bounded", p99 <= expect.latency_p99_ms, detail,
                   level=Level.RECOMMENDED, excused="; ".join(excuses) or None)


def _latency_rows(obs: Observations) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per delivered chunk (first receipt, stranded excluded): latency from the intended
    send time, the intended time, and the schedule lag of its send (ns)."""
    empty = np.empty(0, dtype=np.int64)
    if obs.recv_t.size == 0 or obs.send_seq.size == 0:
        return empty, empty, empty
    keys = obs.send_keys
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    delivered = ~obs.recv_stranded
    recv_keys = obs.recv_keys[delivered]
    recv_t = obs.recv_t[delivered]
    first_recv_keys, first = np.unique(recv_keys, return_index=True)
    pos = np.clip(np.searchsorted(sorted_keys, first_recv_keys), 0, sorted_keys.size - 1)
    matched = sorted_keys[pos] == first_recv_keys
    index = order[pos[matched]]
    intended = obs.send_intended[index]
    return recv_t[first[matched]] - intended, intended, schedule_lag_ns(obs)[index]


def schedule_lag_ns(obs: Observations) -> np.ndarray:
    """Per send (in send order): put start - max(intended time, the same producer's
    previous put end), the delay the generator itself caused (the target's own slowness,
    a put that waited, is in the previous put's end and not counted)."""
    lags = np.zeros(obs.send_seq.size, dtype=np.int64)
    for producer in np.unique(obs.send_producer):
        where = np.nonzero(obs.send_producer == producer)[0]
        intended = obs.send_intended[where]
        start, end = obs.send_start[where], obs.send_end[where]
        prev_end = np.concatenate([[intended[0]], end[:-1]])
        lags[where] = start - np.maximum(intended, prev_end)
    return lags


def latencies_ns(obs: Observations) -> np.ndarray:
    """Intended send -> first receipt, ns, for every delivered chunk (stranded excluded)."""
    return _latency_rows(obs)[0]


def delivered_times_ns(obs: Observations) -> tuple[np.ndarray, np.ndarray]:
    """``(intended send, first receipt)`` in ns of every delivered chunk (stranded
    excluded), in the order of the chunks' keys."""
    latency, intended, _lag = _latency_rows(obs)
    return intended, intended + latency
