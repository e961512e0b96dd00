"""What the checks read: a scenario's trace as numpy arrays (:class:`Observations`, built
by :func:`observe`), a chunk's identity as one integer key, and the names of the events
the checks look for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mocks.trace import Trace

if TYPE_CHECKING:  # only the cache field names it; accounting imports this module
    from harness.invariants.accounting import Accounting

__all__ = ["BLOCKED_EVENT", "DROP_EVENT", "TIMEOUT_EVENT", "Observations", "observe"]

DROP_EVENT = "stream.chunk_dropped"
BLOCKED_EVENT = "stream.producer_blocked"
TIMEOUT_EVENT = "stream.producer_timeout"
_SEQ_BITS = 32


def _key(producer: np.ndarray, seq: np.ndarray) -> np.ndarray:
    return (producer.astype(np.int64) << _SEQ_BITS) | seq.astype(np.int64)


def _i64(values: Any = ()) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


@dataclass
class Observations:
    """A trace as arrays: what invariants and metrics read. Times are perf_counter_ns.

    ``recv_*`` holds consumer receipts in the order they were recorded, then the chunks the
    runner drained from watched queues after the scenario (``recv_stranded`` True).
    """

    send_producer: np.ndarray = field(default_factory=_i64)
    send_seq: np.ndarray = field(default_factory=_i64)
    send_intended: np.ndarray = field(default_factory=_i64)
    send_start: np.ndarray = field(default_factory=_i64)
    send_end: np.ndarray = field(default_factory=_i64)
    send_outcome: np.ndarray = field(default_factory=lambda: np.asarray([], dtype=object))
    send_full: np.ndarray = field(default_factory=_i64)
    """Per send: 1 the put started on a queue with no room, 0 it had room, -1 unknown (all
    -1 when left out)."""
    recv_consumer: np.ndarray = field(default_factory=_i64)
    recv_producer: np.ndarray = field(default_factory=_i64)
    recv_seq: np.ndarray = field(default_factory=_i64)
    recv_t: np.ndarray = field(default_factory=_i64)
    recv_stranded: np.ndarray = field(default_factory=lambda: np.asarray([], dtype=bool))
    events: list[tuple[str, Mapping[str, Any], int]] = field(default_factory=list)
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _accounts: dict[tuple[bool, int], Accounting] = field(default_factory=dict, repr=False,
                                                          compare=False)

    def __post_init__(self) -> None:
        for name in ("send_producer", "send_seq", "send_intended", "send_start", "send_end",
                     "recv_consumer", "recv_producer", "recv_seq", "recv_t"):
            setattr(self, name, _i64(getattr(self, name)))
        self.send_outcome = np.asarray(self.send_outcome, dtype=object).reshape(-1)
        self.send_full = _i64(self.send_full)
        if self.send_full.size != self.send_seq.size:
            self.send_full = np.full(self.send_seq.size, -1, dtype=np.int64)
        stranded = np.asarray(self.recv_stranded, dtype=bool).reshape(-1)
        if stranded.size != self.recv_t.size:
            stranded = np.zeros(self.recv_t.size, dtype=bool)
        self.recv_stranded = stranded
        sizes = {self.send_seq.size, self.send_intended.size, self.send_start.size,
                 self.send_end.size, self.send_outcome.size, self.send_producer.size}
        if len(sizes) != 1:
            raise ValueError(f"send arrays have different lengths: {sorted(sizes)}")
        sizes = {self.recv_consumer.size, self.recv_producer.size, self.recv_seq.size,
                 self.recv_t.size}
        if len(sizes) != 1:
            raise ValueError(f"receipt arrays have different lengths: {sorted(sizes)}")

    @property
    def send_keys(self) -> np.ndarray:
        return _key(self.send_producer, self.send_seq)

    @property
    def recv_keys(self) -> np.ndarray:
        return _key(self.recv_producer, self.recv_seq)

    def events_named(self, name: str) -> list[tuple[Mapping[str, Any], int]]:
        return [(payload, t) for event, payload, t in self.events if event == name]

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        t, v = self.samples.get(name, (_i64(), np.asarray([], dtype=np.float64)))
        return np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.float64)


def observe(trace: Trace, *, stranded: Sequence[tuple[int, int, int]] = ()) -> Observations:
    """Read a :class:`mocks.trace.Trace` into :class:`Observations`.

    ``stranded``: ``(producer, seq, t_ns)`` of chunks the runner drained from watched
    queues after the scenario.
    """
    sends = trace.sends
    receipts = trace.receipts
    extra = np.asarray(list(stranded), dtype=np.int64).reshape(-1, 3)
    samples = {name: (arr["t_ns"], arr["value"]) for name, arr in trace.samples.items()}
    return Observations(
        send_producer=sends["producer"], send_seq=sends["seq"],
        send_intended=sends["intended_ns"], send_start=sends["start_ns"],
        send_end=sends["end_ns"], send_outcome=sends["outcome"].astype(object),
        send_full=sends["full"],
        recv_consumer=np.concatenate([receipts["consumer"], np.full(len(extra), -1)]),
        recv_producer=np.concatenate([receipts["producer"], extra[:, 0]]),
        recv_seq=np.concatenate([receipts["seq"], extra[:, 1]]),
        recv_t=np.concatenate([receipts["recv_ns"], extra[:, 2]]),
        recv_stranded=np.concatenate([np.zeros(len(receipts), dtype=bool),
                                      np.ones(len(extra), dtype=bool)]),
        events=[(name, payload if isinstance(payload, Mapping) else {}, int(t))
                for name, payload, t in trace.events],
        samples=samples,
    )
