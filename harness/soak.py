"""Soaks: an open-ended scenario run for a long time, with its memory trend and a leak verdict.

``stageflow-stress run SCENARIO --duration 10m`` sets the scenario's ``duration``
parameter (declared with ``@scenario(duration=...)``; seconds when its name ends in ``_s``,
milliseconds in ``_ms``) and its deadline, and watches memory while it runs
(:class:`SoakMonitor`). The verdict goes into the scenario's entry as ``soak`` and, as the
check ``memory_trend``, into its invariants.

Contracts:

- **What is measured.** From a thread, every ``interval_s`` (the duration / 40, between
  0.1 s and 30 s): the process RSS, and a ``tracemalloc`` snapshot reduced to the bytes
  still allocated by code *outside* the harness — the ``harness``, ``mocks`` and
  ``scenarios`` packages and tracemalloc itself are excluded, because the trace the
  harness keeps of every chunk grows by design and is not the target's. Allocation sites
  are attributed to the innermost Python frame (one frame per trace: cheap).
- **Window.** Samples in the first 10 % of the duration are warm-up (queues fill, caches
  warm, lazy imports happen) and samples after the duration (drain, teardown) are not
  the steady state: the trend is fitted to the samples between.
- **Trend.** The least-squares slope of the target's bytes over time, per minute, with
  its 95 % confidence interval (Student's t over the fit's standard error,
  ``scipy.stats.linregress``). The same for RSS, reported but not judged (it includes the
  harness's own records). Samples of a series are autocorrelated, so the interval is an
  optimistic one: a long soak with many samples is what makes it honest.
- **Verdict.** ``leak`` when the interval's lower bound is above the tolerance
  (:data:`DEFAULT_TOLERANCE_BYTES_PER_MIN`, 64 KiB/min: 3.75 MiB an hour), ``flat`` when
  its upper bound is below it, otherwise ``inconclusive`` (too short or too noisy: soak
  longer); ``inconclusive`` too with fewer than :data:`MIN_TREND_SAMPLES` samples in the
  window. A ``leak`` fails the check ``memory_trend`` and so the scenario.
- **Where it grew.** The top allocation sites (``file:line``) by bytes grown between the
  end of the warm-up and the last sample of the window, with the blocks they hold more.
- tracemalloc slows every allocation while it runs: a soak's latency figures are those of
  a traced process. Use a normal run for latency.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import psutil

from harness.errors import HarnessError

__all__ = [
    "DEFAULT_TOLERANCE_BYTES_PER_MIN",
    "MIN_TREND_SAMPLES",
    "SoakMonitor",
    "Trend",
    "apply_verdict",
    "duration_overrides",
    "fit_trend",
    "heartbeat",
    "leak_verdict",
    "parse_duration",
    "plan_soak",
    "soak_deadline_s",
    "soak_lines",
    "soaking",
]

DEFAULT_TOLERANCE_BYTES_PER_MIN = 64 * 1024
MIN_TREND_SAMPLES = 5
WARMUP_FRACTION = 0.1
TOP_SITES = 10
SAMPLES = 25
"""Memory samples over a soak (fewer when the duration is short: at most one per 0.25 s)."""
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str) -> float:
    """``90s``, ``10m``, ``1h30m``, ``500ms`` or a bare number of seconds -> seconds.

    :raises HarnessError: anything else, or not > 0.
    """
    raw = text.strip().lower()
    try:
        seconds = float(raw)
    except ValueError:
        parts = _DURATION_RE.findall(raw)
        if not parts or "".join(n + u for n, u in parts) != raw:
            raise HarnessError(f"--duration {text!r}: expected e.g. 90s, 10m, 1h30m or a "
                               "number of seconds") from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise HarnessError(f"--duration {text!r}: must be > 0")
    return seconds


def duration_overrides(spec: Any, seconds: float) -> dict[str, Any]:
    """The parameter override that makes ``spec`` run for ``seconds``.

    :raises HarnessError: the scenario cannot run open-ended (declares no ``duration``).
    """
    name = getattr(spec, "duration", None)
    if name is None:
        raise HarnessError(f"--duration: scenario {spec.name!r} cannot run open-ended (it "
                           "declares no duration parameter); soak one that does, e.g. "
                           "steady_queue or high_load")
    value = seconds * 1000.0 if name.endswith("_ms") else seconds
    if isinstance(spec.full[name], int) and not isinstance(spec.full[name], bool):
        value = max(1, round(value))
    return {name: value}


def soak_deadline_s(seconds: float) -> float:
    """The deadline of a soak: its duration plus room to drain and judge (10 %, >= 30 s)."""
    return seconds + max(30.0, seconds * 0.1)


def plan_soak(text: str, specs: Sequence[Any], overrides: dict[str, Any], *,
              timeout_s: float | None, isolate: bool) -> tuple[float, float]:
    """Check ``run --duration`` and add each scenario's duration override to ``overrides``;
    returns ``(duration_s, deadline_s)`` (``timeout_s`` when given, else
    :func:`soak_deadline_s`).

    :raises HarnessError: a bad duration, a scenario that cannot run open-ended, its
        duration parameter also given with ``--param``, or ``--isolate`` (the memory of a
        child process cannot be watched from here).
    """
    seconds = parse_duration(text)
    if isolate:
        raise HarnessError("--duration with --isolate: a soak watches memory in this process;"
                           " run it without --isolate")
    for spec in specs:
        for key, value in duration_overrides(spec, seconds).items():
            if key in overrides and overrides[key] != value:
                raise HarnessError(f"--duration and --param {key}: give one of them")
            overrides[key] = value
    if timeout_s is not None and timeout_s < seconds:
        raise HarnessError(f"--timeout {timeout_s:g} is shorter than --duration {text}")
    return seconds, timeout_s if timeout_s is not None else soak_deadline_s(seconds)


# --- the trend and the verdict ----------------------------------------------------------------

@dataclass(frozen=True)
class Trend:
    """Least-squares growth per minute of a memory series, with its 95 % interval."""

    bytes_per_min: float
    ci95: tuple[float, float]
    samples: int
    r2: float

    def as_dict(self) -> dict[str, Any]:
        return {"bytes_per_min": round(self.bytes_per_min, 1),
                "ci95": [round(self.ci95[0], 1), round(self.ci95[1], 1)],
                "samples": self.samples, "r2": round(self.r2, 4)}


def fit_trend(t_s: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray
              ) -> Trend | None:
    """The trend of ``values`` over ``t_s`` (seconds); None with fewer than 3 samples or
    no spread in time."""
    from scipy import stats

    t = np.asarray(t_s, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if t.size < 3 or float(np.ptp(t)) <= 0.0:
        return None
    minutes = (t - t[0]) / 60.0
    if float(np.ptp(y)) == 0.0:  # a perfectly flat series: linregress would divide by 0
        return Trend(0.0, (0.0, 0.0), int(t.size), 1.0)
    fit = stats.linregress(minutes, y)
    half = float(stats.t.ppf(0.975, t.size - 2)) * float(fit.stderr)
    slope = float(fit.slope)
    return Trend(slope, (slope - half, slope + half), int(t.size), float(fit.rvalue) ** 2)


def leak_verdict(trend: Trend | None, tolerance: float = DEFAULT_TOLERANCE_BYTES_PER_MIN
                 ) -> tuple[str, str]:
    """``(verdict, reason)``: ``leak``, ``flat`` or ``inconclusive`` (module docstring)."""
    limit = _size(tolerance) + "/min"
    if trend is None or trend.samples < MIN_TREND_SAMPLES:
        got = 0 if trend is None else trend.samples
        return "inconclusive", (f"{got} memory samples in the steady window, fewer than "
                                f"{MIN_TREND_SAMPLES}: soak longer")
    low, high = trend.ci95
    growth = (f"growth {_size(trend.bytes_per_min)}/min (95 % CI {_size(low)} .. "
              f"{_size(high)})")
    if low > tolerance:
        return "leak", f"{growth} is above the {limit} tolerance"
    if high < tolerance:
        return "flat", f"{growth} stays below the {limit} tolerance"
    return "inconclusive", f"{growth} straddles the {limit} tolerance: soak longer"


def _size(value: float) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{sign}{value / scale:.1f} {unit}"
    return f"{sign}{value:.0f} B"


# --- watching memory --------------------------------------------------------------------------

_HARNESS_MODULES = ("harness", "mocks", "scenarios", "rich", "psutil", "hdrh")
"""Packages whose allocations are the harness's own: its records of the run, its output."""
_HARNESS_FILES = ("<frozen importlib", "<frozen zipimport", "<unknown>")
"""Allocation sites of no target: imports done lazily during the soak, and C code."""


def _excluded_prefixes() -> tuple[str, ...]:
    import importlib

    out: list[str] = [tracemalloc.__file__, *_HARNESS_FILES]
    for name in _HARNESS_MODULES:
        module = importlib.import_module(name)
        out.append(str(Path(module.__file__ or "").parent) + "/")
    return tuple(out)


@dataclass
class _Sample:
    t_s: float
    rss: int
    target: int


@dataclass
class SoakMonitor:
    """Samples memory from a thread between :meth:`start` and :meth:`stop` (see the
    module docstring); :meth:`report` judges what it saw."""

    duration_s: float
    tolerance: float = DEFAULT_TOLERANCE_BYTES_PER_MIN
    interval_s: float | None = None
    on_sample: Callable[[float, int, int], None] | None = None
    samples: list[_Sample] = field(default_factory=list)
    _base: Any = None
    _last: Any = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _started_ns: int = 0
    _owns_tracemalloc: bool = False
    watching: ClassVar[int] = 0
    """Monitors started and not yet stopped in this process."""

    def __post_init__(self) -> None:
        if self.interval_s is None:
            self.interval_s = min(30.0, max(0.25, self.duration_s / SAMPLES))
        self._excluded = _excluded_prefixes()
        self.longest_snapshot_s = 0.0
        self._process = psutil.Process()

    @property
    def warmup_s(self) -> float:
        return self.duration_s * WARMUP_FRACTION

    def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(1)
            self._owns_tracemalloc = True
        self._started_ns = time.perf_counter_ns()
        SoakMonitor.watching += 1
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="soak-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._started_ns and not self._stop.is_set():
            SoakMonitor.watching -= 1
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._owns_tracemalloc:
            tracemalloc.stop()
            self._owns_tracemalloc = False

    def _loop(self) -> None:
        assert self.interval_s is not None
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        began = time.perf_counter_ns()
        t_s = (began - self._started_ns) / 1e9
        snapshot = tracemalloc.take_snapshot()
        target = sum(stat.size for stat in snapshot.statistics("filename")
                     if not stat.traceback[0].filename.startswith(self._excluded))
        self.longest_snapshot_s = max(self.longest_snapshot_s,
                                      (time.perf_counter_ns() - began) / 1e9)
        try:
            rss = int(self._process.memory_info().rss)
        except psutil.Error:
            rss = 0
        if t_s <= self.duration_s:
            self.samples.append(_Sample(t_s, rss, target))
            if t_s >= self.warmup_s and self._base is None:
                self._base = snapshot
            elif t_s >= self.warmup_s:
                self._last = snapshot
        if self.on_sample is not None:
            self.on_sample(t_s, rss, target)

    def _sites(self) -> list[dict[str, Any]]:
        if self._base is None or self._last is None:
            return []
        grown = [s for s in self._last.compare_to(self._base, "lineno")
                 if s.size_diff > 0 and not s.traceback[0].filename.startswith(self._excluded)]
        grown.sort(key=lambda s: s.size_diff, reverse=True)
        out = []
        for stat in grown[:TOP_SITES]:
            frame = stat.traceback[0]
            out.append({"site": f"{frame.filename}:{frame.lineno}",
                        "size_diff_bytes": int(stat.size_diff), "size_bytes": int(stat.size),
                        "count_diff": int(stat.count_diff)})
        return out

    def report(self) -> dict[str, Any]:
        """The ``soak`` object of the scenario's entry."""
        window = [s for s in self.samples if s.t_s >= self.warmup_s]
        t = [s.t_s for s in window]
        target = fit_trend(t, [s.target for s in window])
        rss = fit_trend(t, [s.rss for s in window])
        verdict, reason = leak_verdict(target, self.tolerance)
        step = max(1, math.ceil(len(self.samples) / 60))
        return {
            "duration_s": self.duration_s,
            "interval_s": self.interval_s,
            "warmup_s": round(self.warmup_s, 3),
            "samples": len(self.samples),
            "tracemalloc": True,
            "longest_snapshot_s": round(self.longest_snapshot_s, 3),
            "tolerance_bytes_per_min": self.tolerance,
            "trend": {"target": target.as_dict() if target else None,
                      "rss": rss.as_dict() if rss else None},
            "verdict": verdict,
            "reason": reason,
            "top_growth": self._sites(),
            "points": [[round(s.t_s, 3), s.rss, s.target] for s in self.samples[::step]],
        }


def apply_verdict(entry: dict[str, Any], soak: Mapping[str, Any]) -> None:
    """Put ``soak`` into ``entry`` with its check ``memory_trend``; a leak fails the
    scenario (unless something worse already happened to it)."""
    from harness.invariants import Verdict

    entry["soak"] = dict(soak)
    leak = soak["verdict"] == "leak"
    detail = f"{soak['verdict']}: {soak['reason']}"
    if leak and soak["top_growth"]:
        top = soak["top_growth"][0]
        detail += f"; grew most at {top['site']} (+{_size(top['size_diff_bytes'])})"
    entry["invariants"].append(Verdict("memory_trend", not leak, detail,
                                       hypotheses=tuple(entry.get("hypotheses") or ()),
                                       reproduction=entry.get("reproduction")).as_dict())
    if leak and entry["status"] in ("pass", "invalid", "skipped"):
        entry["status"] = "fail"


@contextlib.contextmanager
def soaking(runner: Any, duration_s: float | None, *,
            on_sample: Callable[[str, float, int, int], None] | None = None) -> Iterator[None]:
    """While inside, every attempt ``runner`` runs is watched by a :class:`SoakMonitor`
    and judged (:func:`apply_verdict`); nothing happens with ``duration_s`` None.

    Chains the runner's ``on_start``/``on_done`` callbacks and restores them on exit.
    """
    if duration_s is None:
        yield
        return
    before_start, before_done = runner.on_start, runner.on_done
    current: dict[str, Any] = {}

    def on_start(spec: Any, repeat_index: int) -> None:
        if before_start is not None:
            before_start(spec, repeat_index)
        forward = None
        if on_sample is not None:
            def forward(t_s: float, rss: int, target: int) -> None:
                on_sample(spec.name, t_s, rss, target)
        monitor = SoakMonitor(duration_s, on_sample=forward)
        current["monitor"] = monitor
        monitor.start()

    def on_done(entry: dict[str, Any]) -> None:
        monitor = current.pop("monitor", None)
        if monitor is not None:
            monitor.stop()
            apply_verdict(entry, monitor.report())
        if before_done is not None:
            before_done(entry)

    runner.on_start, runner.on_done = on_start, on_done
    try:
        yield
    finally:
        runner.on_start, runner.on_done = before_start, before_done
        leftover = current.pop("monitor", None)
        if leftover is not None:
            leftover.stop()


def heartbeat(console: Any, duration_s: float | None, *, every: int = 4
              ) -> Callable[[str, float, int, int], None] | None:
    """An ``on_sample`` for :func:`soaking` that prints every ``every``-th sample (about
    each tenth of the soak): elapsed / duration, ETA, RSS and the target's traced bytes."""
    if duration_s is None:
        return None
    seen = {"n": 0}

    def on_sample(name: str, t_s: float, rss: int, target: int) -> None:
        seen["n"] += 1
        if seen["n"] % every or t_s > duration_s:
            return
        left = max(0.0, duration_s - t_s)
        console.print(f"soak {name}: {t_s:.0f} s of {duration_s:g} s (ETA {left:.0f} s) · "
                      f"RSS {_size(rss)} · target {_size(target)} traced",
                      markup=False, highlight=False)

    return on_sample


def soak_lines(doc: Mapping[str, Any]) -> list[str]:
    """One line per soaked scenario: verdict, trend and where memory grew most."""
    lines = []
    for entry in doc["scenarios"]:
        soak = entry.get("soak")
        if not soak:
            continue
        line = (f"soak {entry['name']} ({soak['duration_s']:g} s, {soak['samples']} memory "
                f"samples): {soak['verdict'].upper()} — {soak['reason']}")
        rss = soak["trend"]["rss"]
        if rss:
            line += f"; RSS {_size(rss['bytes_per_min'])}/min (harness records included)"
        if soak["top_growth"]:
            top = soak["top_growth"][0]
            line += f"; grew most at {top['site']} (+{_size(top['size_diff_bytes'])})"
        lines.append(line)
    return lines
