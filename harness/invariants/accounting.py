"""Chunk accounting of one scenario: every chunk sent is delivered, refused, stranded,
dropped or lost, each counted once (:func:`account`, :class:`Accounting`).

Accounting vocabulary (one definition, used by metrics and invariants):

- *sent*: put attempts recorded by producers (one per chunk).
- *refused*: attempts whose put raised to the producer (``timeout``, ``rejected``,
  ``closed``, ``error``) or that the harness cancelled at the deadline (``cancelled``):
  the producer was told, nothing is silent.
- *delivered*: distinct sent chunks a consumer received.
- *stranded*: distinct chunks still queued when the scenario ended (the runner drains
  watched queues after the scenario). They are accounted for only when the scenario was
  cut at its deadline (a consumer hung); after a normal end of stream a chunk left in the
  queue never reaches anyone and counts as lost.
- *dropped*: chunks the target dropped and said so, by whatever means it has (the
  universal clause): a put that returned ``False``, a ``stream.chunk_dropped`` event, or
  its own drop counter (``statistics().dropped``, ``monitor.stats.dropped_items``, read by
  the runner at the end: ``Expectations.queue_drops``). When the events carry ``sequence``
  the dropped chunks are identified exactly; otherwise (Stageflow 0.5.1) they are counted.
  Whether drops are also *announced* by events is the ``telemetry`` check's business, at
  the level the target declares it.
- *lost* = sent - delivered - stranded - refused - dropped (never negative): chunks that
  vanished without the producer or the telemetry being told.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.invariants.expectations import Expectations
from harness.invariants.observations import DROP_EVENT, Observations, _i64

__all__ = ["REFUSED_OUTCOMES", "Accounting", "account", "account_for"]

REFUSED_OUTCOMES = frozenset({"timeout", "rejected", "closed", "error", "cancelled"})
"""Put outcomes the producer was told about by an exception (never silent); ``cancelled``
is a put the harness itself cut at the deadline (its fate is not the target's doing)."""


@dataclass(frozen=True)
class Accounting:
    """Chunk accounting of one scenario (see the module docstring for the vocabulary)."""

    sent: int
    delivered: int
    stranded: int
    refused: int
    dropped: int
    lost: int
    duplicated: int
    unknown: int
    """Receipts of chunks no producer recorded sending."""
    exact: bool
    """True when drop events named their chunks, so ``lost_keys`` are the lost chunks."""
    lost_keys: tuple[int, ...]
    """Lost chunks when ``exact``; otherwise the undelivered, unrefused chunks (candidates)."""
    duplicate_keys: tuple[int, ...]
    drop_events: int
    dropped_but_delivered: int
    """Drop events naming a chunk that was nonetheless delivered (false telemetry)."""
    lost_candidates: np.ndarray = field(default_factory=_i64, repr=False, compare=False)
    """Every key of ``lost_keys`` (not cut at 64): the chunks to explain."""


def account(obs: Observations, *, stranded_ok: bool = False,
            counted_drops: int = 0) -> Accounting:
    """Count sent, delivered, dropped, refused, stranded, lost and duplicated chunks.

    ``stranded_ok``: chunks left in a queue are accounted for (the scenario was cut);
    otherwise they count as lost. The result is cached on ``obs`` (treat it as read-only).
    """
    cached = obs._accounts.get((stranded_ok, counted_drops))
    if cached is None:
        cached = obs._accounts[(stranded_ok, counted_drops)] = _account(
            obs, stranded_ok, counted_drops)
    return cached


def account_for(obs: Observations, expect: Expectations) -> Accounting:
    """:func:`account` with what the runner saw: stranded chunks, the targets' counters."""
    return account(obs, stranded_ok=expect.stranded_ok,
                   counted_drops=sum(expect.queue_drops.values()))


def _account(obs: Observations, stranded_ok: bool, counted_drops: int = 0) -> Accounting:
    send_keys = obs.send_keys
    sent_set = np.unique(send_keys)
    recv_keys = obs.recv_keys
    unique_recv, recv_counts = np.unique(recv_keys, return_counts=True)
    duplicate_keys = unique_recv[recv_counts > 1]
    duplicated = int((recv_counts[recv_counts > 1] - 1).sum())
    known = np.isin(unique_recv, sent_set)
    unknown = int((~known).sum())
    delivered_keys = np.unique(recv_keys[~obs.recv_stranded])
    delivered_keys = delivered_keys[np.isin(delivered_keys, sent_set)]
    stranded_keys = np.unique(recv_keys[obs.recv_stranded])
    stranded_keys = stranded_keys[np.isin(stranded_keys, sent_set)
                                  & ~np.isin(stranded_keys, delivered_keys)]
    refused_mask = np.isin(obs.send_outcome, list(REFUSED_OUTCOMES))
    refused_keys = np.unique(send_keys[refused_mask])
    told_keys = np.unique(send_keys[obs.send_outcome == "dropped"])  # put returned False
    told_keys = told_keys[~np.isin(told_keys, delivered_keys) & ~np.isin(told_keys, refused_keys)]

    drops = obs.events_named(DROP_EVENT)
    sequences = [payload.get("sequence") for payload, _t in drops]
    exact = bool(drops) and all(isinstance(s, (int, np.integer)) for s in sequences)
    accounted = np.union1d(np.union1d(delivered_keys, refused_keys), told_keys)
    if stranded_ok:
        accounted = np.union1d(accounted, stranded_keys)
    undelivered = np.setdiff1d(sent_set, accounted, assume_unique=True)
    dropped_but_delivered = 0
    if exact:
        dropped_keys = np.unique(np.asarray(sequences, dtype=np.int64))
        dropped_but_delivered = int(np.isin(dropped_keys, delivered_keys).sum())
        dropped_keys = np.intersect1d(dropped_keys, undelivered, assume_unique=True)
        lost_keys = np.setdiff1d(undelivered, dropped_keys, assume_unique=True)
        dropped = int(dropped_keys.size)
        lost = int(lost_keys.size)
    else:  # events that may stand for the puts that returned False go to those first
        dropped = min(max(0, len(drops) - int(told_keys.size)), int(undelivered.size))
        lost = int(undelivered.size) - dropped
        lost_keys = undelivered
    # drops the target counted (statistics, monitor) beyond those it told of otherwise
    counted = max(0, counted_drops - int(told_keys.size)
                  - max(0, len(drops) - int(told_keys.size)))
    by_counter = min(counted, lost)
    dropped += by_counter + int(told_keys.size)
    lost -= by_counter
    return Accounting(
        sent=int(send_keys.size),
        delivered=int(delivered_keys.size),
        stranded=int(stranded_keys.size) if stranded_ok else 0,
        refused=int(refused_keys.size),
        dropped=dropped,
        lost=lost,
        duplicated=duplicated,
        unknown=unknown,
        exact=exact,
        lost_keys=tuple(int(k) for k in lost_keys[:64]),
        duplicate_keys=tuple(int(k) for k in duplicate_keys[:64]),
        drop_events=len(drops),
        dropped_but_delivered=dropped_but_delivered,
        lost_candidates=np.asarray(lost_keys, dtype=np.int64),
    )
