"""The live view of a run on a terminal: what each scenario is doing while it runs.

:class:`LiveView` is a rich renderable that ``stageflow-stress run`` shows in a
:class:`rich.live.Live` (redrawn :data:`REFRESH_PER_SECOND` times a second by rich's
refresh thread). Per scenario attempt, one row: status, a progress bar with the time left,
chunks sent and delivered, a sparkline of the watched queue's depth (or buffer's level),
the P99 latency (while it runs: of the chunks received in the last :data:`ROLLING_S`
seconds; once it ended: of the whole attempt), and the drops and underruns so far. Below,
a line for the whole run.

It reads the running scenario's trace from the refresh thread, through the trace's
thread-safe peeks (:meth:`mocks.trace.Trace.recent_deliveries` and friends), bounded in
size (the last :data:`RECENT_RECEIPTS` receipts, joined with as many of the last sends as
are still in flight plus those), so its cost does not grow with the run. The rolling P99
is that of those receipts that arrived in the last :data:`ROLLING_S` seconds.

The time left comes from the *expected* duration of each attempt: how long the same
scenario took in the previous run of the results directory (``latest.json``) with the same
parameters, else its deadline (shown as an upper bound, ``≤``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

__all__ = ["REFRESH_PER_SECOND", "LiveView", "expected_durations", "sparkline"]

REFRESH_PER_SECOND = 4
ROLLING_S = 1.0
RECENT_RECEIPTS = 2_000
MAX_RECENT_SENDS = 50_000
SPARK_POINTS = 24
_BLOCKS = "▁▂▃▄▅▆▇█"
_STATUS_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red",
                 "timeout": "bold red", "invalid": "yellow", "skipped": "dim",
                 "running": "cyan", "waiting": "dim"}


def sparkline(values: Sequence[float], top: float | None = None) -> str:
    """``values`` as block characters, scaled from 0 to ``top`` (their maximum if None)."""
    if not values:
        return ""
    ceiling = max(top if top is not None else max(values), 1e-12)
    last = len(_BLOCKS) - 1
    return "".join(_BLOCKS[min(last, max(0, round(v / ceiling * last)))] for v in values)


def expected_durations(previous: Mapping[str, Any] | None,
                       params: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Seconds each scenario took in ``previous`` (a results document) where it ran with the
    same parameters as now (``params``: scenario name -> parameters); the others are left
    out."""
    if not isinstance(previous, Mapping):
        return {}
    out: dict[str, float] = {}
    for entry in previous.get("scenarios") or []:
        if not isinstance(entry, Mapping) or entry.get("status") == "skipped":
            continue
        name, took = str(entry.get("name")), entry.get("duration_ms")
        if isinstance(took, int | float) and name in params \
                and entry.get("params") == dict(params[name]):
            out.setdefault(name, float(took) / 1000.0)
    return out


@dataclass
class _Row:
    label: str
    expected_s: float
    bounded: bool  # expected_s is only the deadline
    status: str = "waiting"
    started: float | None = None
    ended: float | None = None
    ctx: Any = None
    sent: int = 0
    delivered: int = 0
    drops: int = 0
    underruns: int = 0
    event_index: int = 0
    p99_ms: float | None = None
    spark: str = ""
    spark_label: str = ""
    line: tuple[int, Text] | None = None  # a finished row's line, drawn once

    def elapsed(self, now: float) -> float:
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else now) - self.started


@dataclass
class LiveView:
    """The rows of a run: :meth:`start` when an attempt starts, :meth:`attach` with its
    context, :meth:`finish` with its entry."""

    attempts: Sequence[tuple[str, float, bool]]
    """Per attempt in run order: label, expected seconds, whether that is only a bound."""
    rows: list[_Row] = field(init=False)
    _current: int = field(init=False, default=-1)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rows = [_Row(label, expected, bounded) for label, expected, bounded
                     in self.attempts]

    def start(self, index: int) -> None:
        with self._lock:
            self._current = index
            self.rows[index].status = "running"
            self.rows[index].started = time.monotonic()

    def attach(self, ctx: Any) -> None:
        """The running attempt's context (its ``trace`` is read while it runs)."""
        with self._lock:
            if self._current >= 0:
                self.rows[self._current].ctx = ctx

    def finish(self, index: int, entry: Mapping[str, Any]) -> None:
        with self._lock:
            row = self.rows[index]
            self._update(row)  # the last look at its trace
            row.status = str(entry.get("status"))
            row.ended = time.monotonic()
            metrics = entry.get("metrics") or {}
            row.sent = int(metrics.get("sent") or row.sent)
            row.delivered = int(metrics.get("delivered") or row.delivered)
            latency = metrics.get("latency_ms") or {}
            if latency.get("count"):
                row.p99_ms = float(latency["p99"])  # the whole attempt's, once it ended
            row.ctx = None

    # -- reading a running trace ---------------------------------------------------------

    def _update(self, row: _Row) -> None:
        ctx = row.ctx
        trace = getattr(ctx, "trace", None)
        if trace is None:
            return
        row.sent = trace.send_count
        row.delivered = trace.receipt_count
        for name, _payload, _t in trace.events_since(row.event_index):
            row.event_index += 1
            if name == "stream.chunk_dropped":
                row.drops += 1
            elif name == "stream.buffer_underrun":
                row.underruns += 1
        in_flight = max(0, row.sent - row.delivered)  # sends older than the last receipts
        recent = trace.recent_deliveries(
            RECENT_RECEIPTS, min(MAX_RECENT_SENDS, RECENT_RECEIPTS + in_flight + 256))
        if recent.shape[0]:
            now_ns = time.perf_counter_ns()
            window = recent[recent["recv_ns"] >= now_ns - int(ROLLING_S * 1e9)]
            if window.shape[0]:
                latency = np.sort(window["recv_ns"] - window["intended_ns"])
                rank = max(1, -(-99 * latency.shape[0] // 100))
                row.p99_ms = float(latency[rank - 1]) / 1e6
        names = trace.series_names()
        level = next((n for n in names if n.startswith("queue_depth.")),
                     next((n for n in names if n.startswith("buffer_ms.")), None))
        if level is not None:
            values = trace.recent_samples(level, SPARK_POINTS * 20)[::20]
            bound = (getattr(ctx, "expectations", None) and (
                ctx.expectations.queues.get(level.split(".", 1)[1])
                if level.startswith("queue_depth.")
                else ctx.expectations.buffers.get(level.split(".", 1)[1])))
            row.spark = sparkline(values, float(bound) if bound else None)
            unit = "" if level.startswith("queue_depth.") else " ms"
            row.spark_label = f"{values[-1]:.0f}{unit}" if values else ""

    # -- drawing -------------------------------------------------------------------------
    # Plain fixed-width lines, not a rich Table: a Table lays itself out on every redraw
    # (~10 ms for a few rows), a line of Text costs a tenth of that. A finished row's line
    # is kept and reused.

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        now = time.monotonic()
        with self._lock:
            if 0 <= self._current < len(self.rows) and self.rows[self._current].ctx is not None:
                self._update(self.rows[self._current])
            width = max([len(row.label) for row in self.rows] + [8])
            yield Text(_line(width, "scenario", "status", "progress", "left", "sent",
                             "delivered", "depth / level", "P99", "drops", "underruns"),
                       style="bold", no_wrap=True, overflow="crop")
            for row in self.rows:
                yield self._row(row, width, now)
            yield self._overall(now)

    def _row(self, row: _Row, width: int, now: float) -> Text:
        done = row.status not in ("running", "waiting")
        if done and row.line is not None and row.line[0] == width:
            return row.line[1]
        elapsed = row.elapsed(now)
        fraction = 1.0 if done else min(0.99, elapsed / max(row.expected_s, 1e-3))
        cells = _line(width, row.label, "", _bar(fraction), "" if done or row.status ==
                      "waiting" else _left(row, elapsed), f"{row.sent:,}", f"{row.delivered:,}",
                      f"{row.spark} {row.spark_label}".strip(),
                      "-" if row.p99_ms is None else f"{row.p99_ms:.2f} ms", f"{row.drops:,}",
                      f"{row.underruns:,}")
        text = Text(no_wrap=True, overflow="crop")
        cut = len(row.label) + 1 + (width - len(row.label))
        text.append(cells[:cut])
        text.append(f"{row.status:<8} ", style=_STATUS_STYLE.get(row.status, ""))
        text.append(cells[cut + 9:])
        if done:
            row.line = (width, text)
        return text

    def _overall(self, now: float) -> Text:
        done = sum(r.status not in ("running", "waiting") for r in self.rows)
        remaining = sum(max(0.0, r.expected_s - r.elapsed(now)) for r in self.rows
                        if r.status in ("running", "waiting"))
        bounded = any(r.bounded for r in self.rows if r.status in ("running", "waiting"))
        return Text(f"{done}/{len(self.rows)} attempts done · about "
                    f"{'≤ ' if bounded else ''}{remaining:.0f} s left", style="dim")


_BAR = 18


def _bar(fraction: float) -> str:
    filled = round(fraction * _BAR)
    return "━" * filled + " " * (_BAR - filled)


def _line(width: int, label: str, status: str, bar: str, left: str, sent: str,
          delivered: str, level: str, p99: str, drops: str, underruns: str) -> str:
    return (f"{label:<{width}} {status:<8} {bar:<{_BAR}} {left:>7} {sent:>9} {delivered:>9}  "
            f"{level:<30} {p99:>10} {drops:>7} {underruns:>9}")


def _left(row: _Row, elapsed: float) -> str:
    remaining = max(0.0, row.expected_s - elapsed)
    return f"{'≤' if row.bounded else '~'}{remaining:.1f} s"
