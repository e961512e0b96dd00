"""The trace: what happened in a scenario, recorded cheaply on the hot path.

Producers call :meth:`Trace.sent` once per chunk attempted, consumers call
:meth:`Trace.received` once per chunk taken; both pack fixed-width int64 records into a
``bytearray`` (no per-chunk dicts or objects kept alive). Metrics and invariants read the
columns later as numpy structured arrays (:attr:`Trace.sends`, :attr:`Trace.receipts`).

Chunk identity travels in the chunk itself: ``AudioChunk.sequence = producer * 2**32 + seq``
(:func:`make_sequence`), decoded by :func:`split_sequence`.
"""

from __future__ import annotations

import struct
import time
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "OUTCOMES",
    "RECEIPT_DTYPE",
    "SEND_DTYPE",
    "SEQUENCE_BASE",
    "Trace",
    "make_sequence",
    "split_sequence",
]

SEQUENCE_BASE = 2**32
"""``sequence = producer * SEQUENCE_BASE + seq``; ``seq`` must be below it."""

OUTCOMES = ("queued", "dropped", "timeout", "closed", "rejected", "error", "cancelled")
"""What became of one attempted put (see :func:`mocks.producers.default_outcome`).

``queued``: accepted; ``dropped``: ``put`` returned False; ``timeout``: a put timeout
expired; ``closed``: the queue was closed; ``rejected``: refused at once (reject policy);
``error``: any other exception; ``cancelled``: the producer task was cancelled mid-put.
"""
_OUTCOME_CODE = {name: code for code, name in enumerate(OUTCOMES)}
_OUTCOME_NAMES = np.array(OUTCOMES)

SEND_DTYPE = np.dtype([
    ("producer", np.int64), ("seq", np.int64), ("intended_ns", np.int64),
    ("start_ns", np.int64), ("end_ns", np.int64), ("outcome", _OUTCOME_NAMES.dtype),
    ("full", np.int8),
])
"""Row of :attr:`Trace.sends`: one attempted put. ``full`` is whether the put started on a
queue where it had to wait for room: 1 yes, 0 no, -1 not known (no probe)."""
RECEIPT_DTYPE = np.dtype([
    ("consumer", np.int64), ("producer", np.int64), ("seq", np.int64), ("recv_ns", np.int64),
])
"""Row of :attr:`Trace.receipts`: one chunk taken by a consumer (-1/-1 when unidentified)."""
DELIVERY_DTYPE = np.dtype([
    ("consumer", np.int64), ("producer", np.int64), ("seq", np.int64),
    ("intended_ns", np.int64), ("start_ns", np.int64), ("end_ns", np.int64),
    ("recv_ns", np.int64),
])
SAMPLE_DTYPE = np.dtype([("t_ns", np.int64), ("value", np.float64)])

_SEND = struct.Struct("=7q")
_RECEIPT = struct.Struct("=4q")
_RAW_SEND = np.dtype([
    ("producer", np.int64), ("seq", np.int64), ("intended_ns", np.int64),
    ("start_ns", np.int64), ("end_ns", np.int64), ("outcome", np.int64), ("full", np.int64),
])
_FULL_CODE = {True: 1, False: 0, None: -1}
_RAW_RECEIPT = RECEIPT_DTYPE


def make_sequence(producer: int, seq: int) -> int:
    """Encode ``(producer, seq)`` as one chunk sequence number.

    :raises ValueError: producer < 0, or seq outside ``[0, 2**32)``.
    """
    if producer < 0:
        raise ValueError(f"producer must be >= 0, got {producer}")
    if not 0 <= seq < SEQUENCE_BASE:
        raise ValueError(f"seq must be in [0, 2**32), got {seq}")
    return producer * SEQUENCE_BASE + seq


def split_sequence(sequence: int) -> tuple[int, int]:
    """Decode a chunk sequence number into ``(producer, seq)`` (inverse of make_sequence)."""
    return divmod(sequence, SEQUENCE_BASE)


def _columns(buffer: bytearray, dtype: np.dtype) -> np.ndarray:
    with memoryview(buffer) as view:
        return np.frombuffer(view, dtype=dtype).copy()


class Trace:
    """Append-only record of sends, receipts, telemetry events and sampled series.

    Write side (cheap, for the hot path): :meth:`sent`, :meth:`received`, :meth:`event`
    (also available as :attr:`emitter`, to hand to a primitive as its ``event_emitter``),
    :meth:`sample`, :meth:`fault`. Read side (copies, safe to keep): :attr:`sends`,
    :attr:`receipts`, :attr:`events`, :attr:`samples`, :attr:`faults`, :meth:`deliveries`.
    Not thread-safe except the emitter, which only appends to a list.
    """

    def __init__(self) -> None:
        self._sends = bytearray()
        self._receipts = bytearray()
        self._pack_send = _SEND.pack
        self._pack_receipt = _RECEIPT.pack
        self._events: list[tuple[str, Any, int]] = []
        # typed arrays, not lists: a soak samples for hours without an object per sample
        self._samples: dict[str, tuple[array[int], array[float]]] = {}
        self.emitter: Callable[[str, dict[str, Any]], None] = self.event
        """An ``EventEmitter`` recording ``(name, payload, t_ns)``; never raises."""
        self.blocked: dict[str, str] = {}
        """Task name -> where it waits; filled by the harness when a scenario hangs."""
        self._faults: list[tuple[str, int, int]] = []

    # -- write side --------------------------------------------------------------------

    def sent(self, producer: int, seq: int, intended_ns: int, start_ns: int, end_ns: int,
             outcome: str, full: bool | None = None) -> None:
        """Record one attempted put. ``outcome`` is one of :data:`OUTCOMES`; ``full`` says
        whether the put started on a queue where it had to wait for room (None: unknown).

        :raises ValueError: unknown outcome.
        """
        try:
            code = _OUTCOME_CODE[outcome]
        except KeyError:
            raise ValueError(
                f"outcome must be one of {', '.join(OUTCOMES)}; got {outcome!r}"
            ) from None
        self._sends += self._pack_send(producer, seq, intended_ns, start_ns, end_ns, code,
                                       _FULL_CODE[full])

    def received(self, consumer: int, producer: int, seq: int, recv_ns: int) -> None:
        """Record one chunk taken by ``consumer`` (producer = seq = -1 when unidentified)."""
        self._receipts += self._pack_receipt(consumer, producer, seq, recv_ns)

    def event(self, name: str, payload: dict[str, Any]) -> None:
        """Record a telemetry event with the time it arrived. Never raises."""
        t_ns = time.perf_counter_ns()
        try:
            copied = dict(payload)  # the caller may reuse or mutate its dict afterwards
        except Exception:  # not a mapping: keep it as given; an emitter must never raise
            copied = payload
        self._events.append((name, copied, t_ns))

    def sample(self, series: str, value: float, t_ns: int | None = None) -> None:
        """Record ``value`` of ``series`` (queue depth, buffer ms, loop lag...) at ``t_ns``
        (now when omitted)."""
        columns = self._samples.get(series)
        if columns is None:
            columns = self._samples[series] = (array("q"), array("d"))
        columns[0].append(time.perf_counter_ns() if t_ns is None else t_ns)
        columns[1].append(float(value))

    def fault(self, label: str, start_ns: int, end_ns: int) -> None:
        """Mark a fault window (a stall, a burst, faulty telemetry...) from ``start_ns`` to
        ``end_ns``: the report shades it on every plot over time.

        :raises ValueError: ``end_ns`` before ``start_ns``.
        """
        if end_ns < start_ns:
            raise ValueError(f"fault {label!r}: end_ns {end_ns} is before start_ns {start_ns}")
        self._faults.append((str(label), int(start_ns), int(end_ns)))

    # -- read side ---------------------------------------------------------------------

    @property
    def faults(self) -> list[tuple[str, int, int]]:
        """Marked fault windows as ``(label, start_ns, end_ns)``, in the order marked."""
        return list(self._faults)

    @property
    def send_count(self) -> int:
        """Number of sends recorded so far (without building the arrays)."""
        return len(self._sends) // _SEND.size

    @property
    def receipt_count(self) -> int:
        """Number of receipts recorded so far (without building the arrays)."""
        return len(self._receipts) // _RECEIPT.size

    @property
    def sends(self) -> np.ndarray:
        """Every attempted put in recording order, as a :data:`SEND_DTYPE` array."""
        raw = _columns(self._sends, _RAW_SEND)
        out = np.empty(raw.shape[0], dtype=SEND_DTYPE)
        for name in ("producer", "seq", "intended_ns", "start_ns", "end_ns", "full"):
            out[name] = raw[name]
        out["outcome"] = _OUTCOME_NAMES[raw["outcome"]]
        return out

    @property
    def receipts(self) -> np.ndarray:
        """Every chunk taken in recording order, as a :data:`RECEIPT_DTYPE` array."""
        return _columns(self._receipts, _RAW_RECEIPT)

    @property
    def events(self) -> list[tuple[str, Any, int]]:
        """Telemetry events as ``(name, payload, t_ns)`` in arrival order."""
        return list(self._events)

    @property
    def samples(self) -> dict[str, np.ndarray]:
        """Sampled series by name, each a ``(t_ns, value)`` structured array in order."""
        out: dict[str, np.ndarray] = {}
        for series, (times, values) in self._samples.items():
            arr = np.empty(len(times), dtype=SAMPLE_DTYPE)
            if len(times):
                arr["t_ns"] = np.array(times, dtype=np.int64)  # a copy: no view pins it
                arr["value"] = np.array(values, dtype=np.float64)
            out[series] = arr
        return out

    # -- a look from another thread (the live view) -------------------------------------
    # Each read below is one C-level copy under the GIL (a slice, a len), so it may run
    # while the scenario's thread records; it never holds a buffer export that would make
    # the next append fail.

    def recent_deliveries(self, receipts: int, sends: int) -> np.ndarray:
        """Latency pairs of the last ``receipts`` receipts, joined with the last ``sends``
        sends: a :data:`DELIVERY_DTYPE` array of those that matched. Safe from another
        thread."""
        raw_sends = bytes(self._sends[-sends * _SEND.size:]) if sends > 0 else b""
        raw_receipts = bytes(self._receipts[-receipts * _RECEIPT.size:]) if receipts > 0 \
            else b""
        send_rows = np.frombuffer(raw_sends, dtype=_RAW_SEND)
        receipt_rows = np.frombuffer(raw_receipts, dtype=_RAW_RECEIPT)
        out = np.empty(0, dtype=DELIVERY_DTYPE)
        if send_rows.shape[0] == 0 or receipt_rows.shape[0] == 0:
            return out
        send_keys = send_rows["producer"] * SEQUENCE_BASE + send_rows["seq"]
        order = np.argsort(send_keys, kind="stable")
        keys = send_keys[order]
        recv_keys = receipt_rows["producer"] * SEQUENCE_BASE + receipt_rows["seq"]
        pos = np.clip(np.searchsorted(keys, recv_keys), 0, keys.shape[0] - 1)
        matched = (keys[pos] == recv_keys) & (receipt_rows["producer"] >= 0)
        rows = send_rows[order[pos[matched]]]
        out = np.empty(int(matched.sum()), dtype=DELIVERY_DTYPE)
        for name in ("consumer", "producer", "seq", "recv_ns"):
            out[name] = receipt_rows[name][matched]
        for name in ("intended_ns", "start_ns", "end_ns"):
            out[name] = rows[name]
        return out

    def recent_samples(self, series: str, count: int) -> list[float]:
        """The last ``count`` values of ``series`` (empty when unknown). Safe from another
        thread."""
        columns = self._samples.get(series)
        return columns[1][-count:] if columns is not None and count > 0 else []

    def series_names(self) -> list[str]:
        """Names of the sampled series so far. Safe from another thread."""
        return list(self._samples)

    def events_since(self, index: int) -> list[tuple[str, Any, int]]:
        """Events recorded from position ``index`` on. Safe from another thread."""
        return self._events[index:]

    def events_named(self, name: str) -> list[tuple[str, Any, int]]:
        """The recorded events called ``name``, in arrival order."""
        return [event for event in self._events if event[0] == name]

    def deliveries(self) -> np.ndarray:
        """Each receipt joined with the send of the same ``(producer, seq)``.

        One row per receipt, in receipt order, with the send's ``intended_ns``,
        ``start_ns`` and ``end_ns`` (-1 when no send matches, e.g. an unidentified chunk).
        When a ``(producer, seq)`` was sent more than once, the first send is used.
        Latency from the intended time is ``recv_ns - intended_ns``; service time is
        ``recv_ns - start_ns``.
        """
        sends = _columns(self._sends, _RAW_SEND)
        receipts = _columns(self._receipts, _RAW_RECEIPT)
        out = np.full(receipts.shape[0], -1, dtype=DELIVERY_DTYPE)
        for name in ("consumer", "producer", "seq", "recv_ns"):
            out[name] = receipts[name]
        if sends.shape[0] == 0 or receipts.shape[0] == 0:
            return out
        send_keys = sends["producer"] * SEQUENCE_BASE + sends["seq"]
        keys, first = np.unique(send_keys, return_index=True)
        recv_keys = receipts["producer"] * SEQUENCE_BASE + receipts["seq"]
        pos = np.clip(np.searchsorted(keys, recv_keys), 0, keys.shape[0] - 1)
        matched = (keys[pos] == recv_keys) & (receipts["producer"] >= 0)
        rows = first[pos[matched]]
        for name in ("intended_ns", "start_ns", "end_ns"):
            out[name][matched] = sends[name][rows]
        return out
