"""The delivery checks: every chunk sent is accounted for (``none_lost``), none arrives
twice or unsent (``none_duplicated``), and each producer's chunks leave the queue in the
order it sent them (``fifo_per_producer``).
"""

from __future__ import annotations

import numpy as np

from harness.invariants.accounting import account_for
from harness.invariants.attribution import _QUEUE_FIFO, _explain_lost
from harness.invariants.detail import _SHOWN, _n, _name_keys, chunk_id
from harness.invariants.expectations import Expectations
from harness.invariants.observations import Observations
from harness.invariants.verdict import Verdict

__all__ = ["check_fifo_per_producer", "check_none_duplicated", "check_none_lost"]


def check_none_lost(obs: Observations, expect: Expectations) -> Verdict | None:
    """Every chunk sent is delivered, dropped with an event, refused, or still queued."""
    if obs.send_seq.size == 0 or not expect.chunk_identity:
        return None
    acc = account_for(obs, expect)
    left = ""
    if not expect.stranded_ok and obs.recv_stranded.any():
        left = f" ({int(obs.recv_stranded.sum())} left in a queue after the end of stream)"
    if acc.lost == 0:
        return Verdict("none_lost", True, (
            f"{acc.sent} sent = {acc.delivered} delivered + {acc.dropped} dropped with event"
            f" + {acc.refused} refused + {acc.stranded} still queued"))
    if acc.exact:
        detail = f"{_n(acc.lost, 'chunk')} lost{left}: {_name_keys(acc.lost_keys, acc.lost)}"
    else:
        detail = (f"{_n(acc.lost, 'chunk')} lost{left}: {acc.sent} sent, {acc.delivered} "
                  f"delivered, {_n(acc.drop_events, 'drop event')}, {acc.refused} refused, "
                  f"{acc.stranded} still queued; undelivered without exception: "
                  f"{_name_keys(acc.lost_keys, acc.lost + acc.dropped)}")
    defects, rest = _explain_lost(obs, expect, acc)
    return Verdict("none_lost", False, detail, defects=defects, unattributed=rest)


def check_none_duplicated(obs: Observations, expect: Expectations) -> Verdict | None:
    """No chunk is received twice, and nothing is received that was never sent."""
    if (obs.recv_seq.size == 0 and obs.send_seq.size == 0) or not expect.chunk_identity:
        return None
    acc = account_for(obs, expect)
    problems = []
    if acc.duplicated:
        problems.append(f"{_n(acc.duplicated, 'duplicate receipt')}: "
                        f"{_name_keys(acc.duplicate_keys, len(acc.duplicate_keys))}")
    if acc.unknown:
        problems.append(f"{_n(acc.unknown, 'receipt of a chunk', 'receipts of chunks')} "
                        "never sent")
    if problems:
        return Verdict("none_duplicated", False, "; ".join(problems),
                       defects=(_QUEUE_FIFO,) if expect.queues else ())
    return Verdict("none_duplicated", True, f"{_n(obs.recv_seq.size, 'receipt')}"
                   + ("" if obs.recv_seq.size == 1 else ", all distinct"))


def _call_bounds(obs: Observations) -> np.ndarray:
    """Per receipt: a time before which the get that returned it cannot have been called.

    A consumer calls get() again only after it recorded what the previous call returned, so
    the previous call's recording time (the latest earlier ``recv_t`` of the same consumer;
    items of one batch share theirs) bounds the next call's start. ``-1`` for a consumer's
    first call, and for the runner's own drain (consumer -1, which runs after everything).
    """
    bounds = np.full(obs.recv_t.size, -1, dtype=np.int64)
    for consumer in np.unique(obs.recv_consumer):
        if consumer < 0:
            continue
        where = np.nonzero(obs.recv_consumer == consumer)[0]
        times = obs.recv_t[where]
        previous = np.maximum.accumulate(np.concatenate([[-1], times[:-1]]))
        same_call = np.concatenate([[False], times[1:] == times[:-1]])
        # inside a batch, the bound is the one of the batch's first item
        bounds[where] = _carry_forward(previous, same_call)
    return bounds


def _carry_forward(values: np.ndarray, repeat: np.ndarray) -> np.ndarray:
    """``values`` where ``repeat`` is False; the last such value where it is True."""
    index = np.where(repeat, 0, np.arange(values.size))
    np.maximum.accumulate(index, out=index)
    return values[index]


def check_fifo_per_producer(obs: Observations, expect: Expectations) -> Verdict | None:
    """Each producer's chunks leave the queue in the order it sent them.

    Judged by the order items *leave* the queue, never by the order consumers happen to
    record them: with several consumers, a queue that hands items straight to waiting
    getters (anyio) may resume the second getter before the first, so recording order
    interleaves although the queue was FIFO. Two receipts are ordered when the queue must
    have released them in that order:

    - the same consumer received them one after the other (its gets are sequential);
    - or one consumer's get *returned* it before another consumer's get that received the
      other was even *called* (:func:`_call_bounds`).

    A later-sent chunk that left, in that sense, before an earlier one is out of order.
    """
    if obs.recv_seq.size == 0 or not expect.chunk_identity:
        return None
    out_of_order: list[str] = []
    count = 0
    bounds = _call_bounds(obs)
    live = ~obs.recv_stranded
    for producer in np.unique(obs.recv_producer):
        mine = np.nonzero(obs.recv_producer == producer)[0]
        if mine.size < 2:
            continue
        late_pairs: dict[int, int] = {}  # receipt index -> the seq it came after
        for consumer in np.unique(obs.recv_consumer[mine]):
            rows = mine[obs.recv_consumer[mine] == consumer]
            seqs = obs.recv_seq[rows]
            running_max = np.maximum.accumulate(seqs)
            for i in np.nonzero(seqs[1:] < running_max[:-1])[0] + 1:
                late_pairs[int(rows[i])] = int(running_max[i - 1])
        rows = mine[live[mine]]
        if rows.size > 1:
            by_seq = rows[np.argsort(obs.recv_seq[rows], kind="stable")]
            seqs = obs.recv_seq[by_seq]
            recv = obs.recv_t[by_seq]
            # for each receipt: the earliest return among chunks sent after it
            suffix_min = np.minimum.accumulate(recv[::-1])[::-1]
            later_min = np.concatenate([suffix_min[1:], [np.iinfo(np.int64).max]])
            later_seq_at = np.searchsorted(seqs, seqs, side="right")
            for pos in np.nonzero(later_min < bounds[by_seq])[0]:
                row = int(by_seq[pos])
                if row in late_pairs or later_seq_at[pos] >= seqs.size:
                    continue
                # a chunk sent after this one left before this one's get was called
                later = by_seq[later_seq_at[pos]:]
                first_out = later[np.argmin(obs.recv_t[later])]
                if obs.recv_t[first_out] < bounds[row]:
                    late_pairs[row] = int(obs.recv_seq[first_out])
        count += len(late_pairs)
        for row in sorted(late_pairs)[: _SHOWN - len(out_of_order)]:
            out_of_order.append(f"{chunk_id(int(producer), int(obs.recv_seq[row]))} after "
                                f"{chunk_id(int(producer), late_pairs[row])}")
    if count:
        more = f" and {count - len(out_of_order)} more" if count > len(out_of_order) else ""
        return Verdict("fifo_per_producer", False,
                       f"{_n(count, 'chunk')} left the queue out of order: "
                       f"{', '.join(out_of_order)}{more}",
                       defects=(_QUEUE_FIFO,) if expect.queues else ())
    producers = int(np.unique(obs.recv_producer).size)
    return Verdict("fifo_per_producer", True,
                   f"{_n(obs.recv_seq.size, 'receipt')} from {_n(producers, 'producer')} "
                   "left in order")
