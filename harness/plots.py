"""The data behind each chart of the HTML report: pure functions of results documents.

Every chart is a plain dict (a *chart spec*) that the report's script draws with uPlot, so
what a chart shows is decided and tested here, in Python (golden tests), and the browser
only draws it. A spec is::

    {"id", "kind", "title", "caption", "x": {"label", "scale"}, "y": {"label", "unit",
     "log"}, "xs": [...], "series": [{"label", "values", "style", "group"}],
     "bands": [[upper, lower]], "faults": [...], "events": [...], "ticks": [...]}

``kind`` is ``spectrum`` (x = 1/(1-p) on a log axis, ``ticks`` at 50/90/99/99.9/99.99 %),
``time`` (x = seconds from the scenario's start, fault windows shaded, events marked),
``curve`` (x = offered chunks/s; ``marks``: ``[x, label]`` drawn as vertical lines) or
``dots`` (x = scenario index, ``ticks`` name the scenarios). ``xs`` is the one x array
every series shares; a value a series lacks there is None (``span: True``: the line goes
on across it). ``style`` is ``line``, ``dash``, ``step``, ``band`` (a thin line whose
range to its partner is filled, see ``bands``: pairs of indexes into ``series``),
``line-dots``, ``dots`` or ``dots-hollow``; ``group`` picks the colour
(:data:`BASELINE_GROUP` grey for a baseline).

Which charts a results document cannot give is said, not hidden: :func:`missing_plots`
names them with the reason (a version 1 document has no time series).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.metrics import decode_histogram

__all__ = [
    "BASELINE_GROUP",
    "RATE_SPAN_MS",
    "SPECTRUM_PERCENTILES",
    "SPECTRUM_TICKS",
    "Run",
    "compare_charts",
    "latency_time_chart",
    "level_charts",
    "load_curve_chart",
    "memory_chart",
    "missing_plots",
    "scenario_charts",
    "spectrum_chart",
    "spectrum_points",
    "sweep_charts",
    "throughput_chart",
]

SPECTRUM_TICKS: tuple[tuple[float, str], ...] = (
    (1.0, "0%"), (2.0, "50%"), (10.0, "90%"), (100.0, "99%"), (1_000.0, "99.9%"),
    (10_000.0, "99.99%"), (100_000.0, "99.999%"),
)
"""Marks on the spectrum's x axis: ``1/(1-p)`` and the percentile it stands for."""
_PER_DECADE = 20
SPECTRUM_PERCENTILES: tuple[float, ...] = tuple(sorted(
    {round(100.0 * (1.0 - 10.0 ** (-i / _PER_DECADE)), 9) for i in range(5 * _PER_DECADE + 1)}
    | {50.0}))
"""The percentiles a spectrum is read at: 20 per decade of ``1/(1-p)``, 0 to 99.999 %."""


@dataclass(frozen=True)
class Run:
    """One results document shown in the charts, under ``label`` (e.g. ``this run``,
    ``baseline``, or a target's name in a comparison)."""

    label: str
    doc: Mapping[str, Any]
    baseline: bool = False
    """Drawn as the baseline (grey) where it is overlaid."""
    source: str = ""
    """The file it was read from, as shown to the reader."""


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


BASELINE_GROUP = 7
"""The colour of a baseline run (grey) in every chart it is overlaid on."""


def _groups(runs: Sequence[Run]) -> list[int]:
    """Colour per run: the first 0, a run labelled as the baseline :data:`BASELINE_GROUP`,
    the others 1, 2, ..."""
    out, following = [], 1
    for index, run in enumerate(runs):
        if index == 0:
            out.append(0)
        elif run.baseline:
            out.append(BASELINE_GROUP)
        else:
            out.append(following)
            following += 1
    return out


def _x_of(percentile: float) -> float:
    return round(1.0 / (1.0 - percentile / 100.0), 6) if percentile < 100.0 else math.inf


def spectrum_points(encoded: str | None) -> dict[float, float] | None:
    """``{1/(1-p): value in ms}`` of an encoded HDR histogram at :data:`SPECTRUM_PERCENTILES`,
    up to the first ``1/(1-p)`` at or beyond the sample count (past it every percentile is
    the maximum). None for a missing, empty or unreadable histogram.
    """
    if not encoded:
        return None
    try:
        hist = decode_histogram(encoded)
    except ValueError:
        return None  # missing_plots names it
    count = int(hist.get_total_count())
    if count == 0:
        return None
    out: dict[float, float] = {}
    for percentile in SPECTRUM_PERCENTILES:
        x = _x_of(percentile)
        out[x] = round(hist.get_value_at_percentile(percentile) / 1e6, 6)
        if x >= count:
            break
    return out


def _scenario_entries(doc: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    return [s for s in doc.get("scenarios") or []
            if isinstance(s, Mapping) and s.get("name") == name]


def _histogram(doc: Mapping[str, Any], name: str, key: str) -> str | None:
    """The scenario's histogram merged over its repeats (the aggregates), else its entry's."""
    merged = _get(doc, "aggregates", name, key)
    if isinstance(merged, str) and merged:
        return merged
    for entry in _scenario_entries(doc, name):
        value = _get(entry, "metrics", key)
        if isinstance(value, str) and value:
            return value
    return None


def _align(tables: Sequence[tuple[Sequence[float], Sequence[Sequence[float | None]]]],
           series: list[dict[str, Any]]) -> list[float]:
    """Join ``(xs, [values...])`` tables on the union of their xs (None where a table has
    no value at an x) into ``series`` (one spec per column, in order: each gets its
    ``values``, and ``span: True`` when its own xs are not all the union's, so the line
    spans the xs it never had instead of breaking there). Returns the union of the xs."""
    xs = sorted({float(x) for table_xs, _series in tables for x in table_xs})
    position = {x: i for i, x in enumerate(xs)}
    columns = []
    for table_xs, table in tables:
        inside = {float(x) for x in table_xs}
        foreign = any(x not in inside for x in xs)
        for values in table:
            column: list[float | None] = [None] * len(xs)
            for x, value in zip(table_xs, values, strict=True):
                column[position[float(x)]] = value
            columns.append((column, foreign))
    for spec, (column, foreign) in zip(series, columns, strict=True):
        spec["values"] = column
        if foreign:
            spec["span"] = True
    return xs


def spectrum_chart(name: str, runs: Sequence[Run], chart_id: str) -> dict[str, Any] | None:
    """Latency (intended send -> receipt) and service time (the put call) percentile
    spectrum of scenario ``name``, one pair of lines per run, on one chart. None when no
    run has a sample for it."""
    tables: list[tuple[list[float], list[list[float | None]]]] = []
    series: list[dict[str, Any]] = []
    for group, run in zip(_groups(runs), runs, strict=True):
        for key, what, style in (("latency_hdr", "latency", "line"),
                                 ("service_hdr", "service time", "dash")):
            points = spectrum_points(_histogram(run.doc, name, key))
            if points is None:
                continue
            tables.append((list(points), [list(points.values())]))
            series.append({"label": f"{what} · {run.label}", "style": style, "group": group})
    if not series:
        return None
    caption = ("Latency from each chunk's intended send time to its receipt (coordinated "
               "omission corrected) and service time of the put call, by percentile; x is "
               "1/(1-p), so each step right is ten times rarer.")
    if not any(s["label"].startswith("latency") for s in series):
        caption = ("Service time of each write, by percentile (x is 1/(1-p)). No latency: "
                   "chunks written into a buffer leave it as bytes, with no receipt time.")
    xs = _align(tables, series)
    return {
        "id": chart_id, "kind": "spectrum", "title": f"{name}: latency percentile spectrum",
        "caption": caption,
        "x": {"label": "percentile", "scale": "log"},
        "y": {"label": "ms", "unit": "ms", "log": True},
        "xs": xs, "series": series, "bands": [], "faults": [], "events": [],
        "ticks": [[x, label] for x, label in SPECTRUM_TICKS if x <= max(xs) * 1.0001],
    }


def _timeseries(doc: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The time series of the scenario's first attempt (repeat 0) that has them in the
    shape of schema 2 (:func:`timeseries_problem`)."""
    for entry in _scenario_entries(doc, name):
        value = _get(entry, "metrics", "timeseries")
        if isinstance(value, Mapping) and value.get("t_ms") and not timeseries_problem(value):
            return value
    return None


def _numbers(values: Any, count: int, *, nullable: bool = True) -> bool:
    return isinstance(values, list) and len(values) == count and all(
        (v is None and nullable) or (isinstance(v, int | float) and not isinstance(v, bool))
        for v in values)


def timeseries_problem(ts: Mapping[str, Any]) -> str | None:
    """What is wrong with a ``metrics.timeseries`` object, in a few words (None: nothing):
    every per-window list must have one number (or null) per window of ``t_ms``."""
    t_ms = ts.get("t_ms")
    if not _numbers(t_ms, len(t_ms) if isinstance(t_ms, list) else -1, nullable=False):
        return "t_ms is not a list of numbers"
    count = len(t_ms)
    if not isinstance(ts.get("window_ms"), int | float) or ts["window_ms"] <= 0:
        return "window_ms is not a positive number"
    latency = ts.get("latency_ms")
    if not isinstance(latency, Mapping) or not all(
            _numbers(latency.get(k), count) for k in ("p50", "p99", "max")):
        return f"latency_ms does not hold {count} values per percentile"
    for key in ("offered_cps", "delivered_cps"):
        if not _numbers(ts.get(key), count, nullable=False):
            return f"{key} does not hold {count} numbers"
    for key in ("rss_bytes", "loop_lag_ms"):
        if ts.get(key) is not None and not _numbers(ts.get(key), count):
            return f"{key} does not hold {count} values"
    levels = ts.get("levels")
    if not isinstance(levels, Mapping) or not all(
            isinstance(v, Mapping) and _numbers(v.get("min"), count)
            and _numbers(v.get("max"), count) for v in levels.values()):
        return f"levels do not hold {count} values for min and max"
    events = ts.get("events")
    if not isinstance(events, Mapping) or not all(
            isinstance(marks, list) and all(isinstance(m, list) and len(m) == 2 for m in marks)
            for marks in events.values()):
        return "events are not lists of [t_ms, count]"
    faults = ts.get("faults")
    if not isinstance(faults, list) or not all(
            isinstance(f, Mapping) and isinstance(f.get("start_ms"), int | float)
            and isinstance(f.get("end_ms"), int | float) for f in faults):
        return "faults are not {label, start_ms, end_ms}"
    return None


def _seconds(ts: Mapping[str, Any]) -> list[float]:
    return [round(float(t) / 1000.0, 6) for t in ts["t_ms"]]


def _time_chart(chart_id: str, title: str, caption: str, y: dict[str, Any],
                ts: Mapping[str, Any], tables: list[tuple[list[float], list[list[Any]]]],
                series: list[dict[str, Any]], bands: list[list[int]]) -> dict[str, Any]:
    xs = _align(tables, series)
    return {
        "id": chart_id, "kind": "time", "title": title, "caption": caption,
        "x": {"label": "s since the scenario started", "scale": "linear"}, "y": y,
        "xs": xs, "series": series, "bands": bands,
        "faults": [dict(f) for f in ts.get("faults") or []],
        "events": [[kind, round(float(t) / 1000.0, 6), int(n)]
                   for kind, marks in sorted((ts.get("events") or {}).items())
                   for t, n in marks],
        "ticks": [],
    }


def latency_time_chart(name: str, current: Run, baseline: Run | None,
                       chart_id: str) -> dict[str, Any] | None:
    """Per-window P50 and P99 latency (the band between them) and the maximum, by the
    chunks' intended send time; the baseline's P99 beside it when given."""
    ts = _timeseries(current.doc, name)
    if ts is None or not any(v is not None for v in _get(ts, "latency_ms", "p99") or []):
        return None
    latency = ts["latency_ms"]
    tables = [(_seconds(ts), [latency["p99"], latency["p50"], latency["max"]])]
    series = [{"label": f"P99 · {current.label}", "style": "line", "group": 0},
              {"label": f"P50 · {current.label}", "style": "line", "group": 2},
              {"label": f"max · {current.label}", "style": "dash", "group": 3}]
    base = _timeseries(baseline.doc, name) if baseline is not None else None
    if base is not None and any(v is not None for v in _get(base, "latency_ms", "p99") or []):
        tables.append((_seconds(base), [base["latency_ms"]["p99"]]))
        series.append({"label": f"P99 · {baseline.label}", "style": "line",
                       "group": BASELINE_GROUP})
    return _time_chart(
        chart_id, f"{name}: latency over time",
        f"Per {ts['window_ms']:g} ms window of intended send times: P50 to P99 shaded, the "
        "maximum dashed.", {"label": "ms", "unit": "ms", "log": True}, ts, tables, series,
        [[0, 1]])


RATE_SPAN_MS = 100.0
"""Rates over time are averaged over about this long: a window a few chunks wide would
otherwise swing between n and n+1 chunks (2 or 3 chunks of 20 ms in a 50 ms window) and
draw a sawtooth that is only the binning."""


def _moving_average(values: Sequence[float], width: int) -> list[float]:
    """Centred moving average over ``width`` windows (fewer at the edges), 1 decimal."""
    if width <= 1:
        return [round(float(v), 1) for v in values]
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + float(value))
    half, out = width // 2, []
    for index in range(len(values)):
        lo, hi = max(0, index - half), min(len(values), index - half + width)
        out.append(round((sums[hi] - sums[lo]) / (hi - lo), 1))
    return out


def throughput_chart(name: str, current: Run, baseline: Run | None,
                     chart_id: str) -> dict[str, Any] | None:
    """Offered (scheduled) and delivered chunks per second, averaged over
    :data:`RATE_SPAN_MS` (a centred moving average of whole windows)."""
    ts = _timeseries(current.doc, name)
    if ts is None or not (any(ts.get("offered_cps") or []) or any(ts.get("delivered_cps")
                                                                    or [])):
        return None

    def smooth(series_ts: Mapping[str, Any], key: str) -> list[float]:
        width = max(1, round(RATE_SPAN_MS / float(series_ts["window_ms"])))
        return _moving_average(series_ts[key], width)

    tables = [(_seconds(ts), [smooth(ts, "offered_cps"), smooth(ts, "delivered_cps")])]
    series = [{"label": f"offered · {current.label}", "style": "dash", "group": 1},
              {"label": f"delivered · {current.label}", "style": "line", "group": 0}]
    base = _timeseries(baseline.doc, name) if baseline is not None else None
    if base is not None and base.get("delivered_cps"):
        tables.append((_seconds(base), [smooth(base, "delivered_cps")]))
        series.append({"label": f"delivered · {baseline.label}", "style": "line",
                       "group": BASELINE_GROUP})
    width = max(1, round(RATE_SPAN_MS / float(ts["window_ms"])))
    span = (f"averaged over {width} windows of {ts['window_ms']:g} ms" if width > 1
            else f"per {ts['window_ms']:g} ms window")
    return _time_chart(
        chart_id, f"{name}: throughput over time",
        f"Chunks scheduled (offered) and received (delivered; for a buffer: writes accepted) "
        f"per second, {span}.",
        {"label": "chunks/s", "unit": "/s", "log": False}, ts, tables, series, [])


def level_charts(name: str, current: Run, baseline: Run | None,
                 ids: Sequence[str]) -> list[dict[str, Any]]:
    """Queue depth (chunks) and buffer level (ms) over time: per watched queue or buffer the
    window's maximum as a line and its minimum-to-maximum range shaded."""
    ts = _timeseries(current.doc, name)
    if ts is None:
        return []
    base = _timeseries(baseline.doc, name) if baseline is not None else None
    charts = []
    for (prefix, title, unit, label), chart_id in zip(
            (("queue_depth.", "queue depth", "chunks", "chunks"),
             ("buffer_ms.", "buffer level", "ms", "ms")), ids, strict=False):
        names = sorted(n for n in ts.get("levels") or {} if n.startswith(prefix))
        if not names:
            continue
        tables: list[tuple[list[float], list[list[Any]]]] = []
        series: list[dict[str, Any]] = []
        bands = []
        for group, level in enumerate(names):
            short = level.removeprefix(prefix)
            values = ts["levels"][level]
            tables.append((_seconds(ts), [values["max"], values["min"]]))
            bands.append([len(series), len(series) + 1])
            series += [{"label": f"{short} max", "style": "line", "group": group, "span": True},
                       {"label": f"{short} min", "style": "band", "group": group, "span": True}]
        base_levels = (base.get("levels") or {}) if base is not None else {}
        for group, level in enumerate(names):  # the baseline's: dashed, in the same colour
            if level in base_levels and baseline is not None:
                tables.append((_seconds(base), [base_levels[level]["max"]]))
                series.append({"label": f"{level.removeprefix(prefix)} max · "
                                        f"{baseline.label}", "style": "dash",
                               "group": group, "span": True})
        charts.append(_time_chart(
            chart_id, f"{name}: {title} over time",
            f"The highest sample of each {ts['window_ms']:g} ms window as a line, lowest to "
            "highest shaded.", {"label": label, "unit": unit, "log": False}, ts, tables,
            series, bands))
    return charts


def memory_chart(name: str, current: Run, baseline: Run | None,
                 chart_id: str) -> dict[str, Any] | None:
    """Resident memory of the harness process (MiB), the highest sample of each window."""
    ts = _timeseries(current.doc, name)
    if ts is None or not ts.get("rss_bytes"):
        return None

    def mib(values: Sequence[float | None]) -> list[float | None]:
        return [None if v is None else round(v / 1048576.0, 3) for v in values]

    tables = [(_seconds(ts), [mib(ts["rss_bytes"])])]
    series = [{"label": f"RSS · {current.label}", "style": "line", "group": 0, "span": True}]
    base = _timeseries(baseline.doc, name) if baseline is not None else None
    if base is not None and base.get("rss_bytes"):
        tables.append((_seconds(base), [mib(base["rss_bytes"])]))
        series.append({"label": f"RSS · {baseline.label}", "style": "line",
                       "group": BASELINE_GROUP, "span": True})
    return _time_chart(
        chart_id, f"{name}: memory over time",
        "Resident memory of the whole harness process (target included), the highest sample "
        f"of each {ts['window_ms']:g} ms window.", {"label": "MiB", "unit": "MiB",
                                                     "log": False}, ts, tables, series, [])


def _curve(doc: Mapping[str, Any], name: str) -> tuple[str, Mapping[str, Any]] | None:
    """``(measure name, measure)`` of the scenario's first measure (``ctx.measure``) that
    carries a load curve: ``curve`` points with ``offered_cps`` and ``p99_ms``."""
    for entry in _scenario_entries(doc, name):
        metrics = entry.get("metrics")
        if not isinstance(metrics, Mapping):
            continue
        for key in sorted(metrics):
            value = metrics[key]
            points = value.get("curve") if isinstance(value, Mapping) else None
            if isinstance(points, list) and points and all(
                    isinstance(p, Mapping) and isinstance(p.get("offered_cps"), int | float)
                    for p in points):
                return str(key), value
    return None


def load_curve_chart(name: str, current: Run, baseline: Run | None,
                     chart_id: str) -> dict[str, Any] | None:
    """Latency against offered load (a closed-loop capacity scenario's open-loop steps):
    P50 and P99 per offered rate, the baseline's P99 beside it, the knee marked (the first
    rate that failed)."""
    found = _curve(current.doc, name)
    if found is None:
        return None
    key, measure = found

    def column(points: Sequence[Mapping[str, Any]], field: str) -> list[float | None]:
        out: list[float | None] = []
        for point in points:
            value = point.get(field)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
            out.append(float(value) if ok else None)
        return out

    points = measure["curve"]
    xs = [float(p["offered_cps"]) for p in points]
    tables = [(xs, [column(points, "p99_ms"), column(points, "p50_ms")])]
    series = [{"label": f"P99 · {current.label}", "style": "line-dots", "group": 0},
              {"label": f"P50 · {current.label}", "style": "line-dots", "group": 2}]
    base = _curve(baseline.doc, name) if baseline is not None else None
    if base is not None and baseline is not None:
        base_points = base[1]["curve"]
        tables.append(([float(p["offered_cps"]) for p in base_points],
                       [column(base_points, "p99_ms")]))
        series.append({"label": f"P99 · {baseline.label}", "style": "line-dots",
                       "group": BASELINE_GROUP})
    xs = _align(tables, series)
    for spec in series:
        spec["span"] = True  # the runs' rates differ: each line joins its own points
    knee = measure.get("knee_cps")
    marks = [[round(float(knee), 1), "knee"]] if isinstance(knee, int | float) else []
    return {
        "id": chart_id, "kind": "curve", "title": f"{name}: latency against offered load",
        "caption": f"Open-loop steps at fractions of the measured capacity ({key}): P50 and "
                   "P99 latency per offered rate; the knee is the first rate that was not "
                   "sustained (delivered below offered, or P99 over its limit).",
        "x": {"label": "offered chunks/s", "scale": "linear"},
        "y": {"label": "ms", "unit": "ms", "log": True},
        "xs": xs, "series": series, "bands": [], "faults": [], "events": [], "ticks": [],
        "marks": marks,
    }


def scenario_charts(name: str, current: Run, baseline: Run | None = None,
                    others: Sequence[Run] = (), *, prefix: str = "c") -> list[dict[str, Any]]:
    """Every chart of one scenario, in reading order: the spectrum (the run, the baseline
    and ``others`` overlaid), latency, throughput, queue depth, buffer level, load curve
    and memory over time. Chart ids are ``{prefix}-{name}-{what}``. With repeats, the
    spectrum is of the merged histograms and the plots over time are of the first attempt
    (their captions say so)."""
    key = f"{prefix}-{name}"
    runs = [current, *([baseline] if baseline is not None else []), *others]
    charts = [spectrum_chart(name, runs, f"{key}-spectrum"),
              latency_time_chart(name, current, baseline, f"{key}-latency"),
              throughput_chart(name, current, baseline, f"{key}-throughput"),
              *level_charts(name, current, baseline, (f"{key}-depth", f"{key}-buffer")),
              load_curve_chart(name, current, baseline, f"{key}-curve"),
              memory_chart(name, current, baseline, f"{key}-memory")]
    charts = [c for c in charts if c is not None]
    repeats = len(_scenario_entries(current.doc, name))
    if repeats > 1:
        for chart in charts:
            chart["caption"] += (f" Merged over the {repeats} attempts." if chart["kind"] ==
                                 "spectrum" else f" The first of {repeats} attempts.")
    return charts


def missing_plots(doc: Mapping[str, Any], label: str) -> list[str]:
    """One sentence per kind of plot that ``doc`` cannot give, with the reason."""
    version = doc.get("schema_version")
    out = []
    if version == 1:
        out.append(f"{label} is a schema version 1 results document (recorded before time "
                   "series were stored): latency, throughput, queue depth, buffer level and "
                   "memory over time cannot be drawn from it. Run `stageflow-stress run` again "
                   "to get them.")
    ran = [s for s in doc.get("scenarios") or [] if isinstance(s, Mapping)
           and s.get("status") != "skipped"]
    if version != 1:
        lacking = sorted({str(s.get("name")) for s in ran
                          if not isinstance(_get(s, "metrics", "timeseries"), Mapping)})
        if lacking:
            out.append(f"{label}: {', '.join(lacking)} carry no time series (the scenario "
                       "recorded nothing over time), so no plot over time is drawn for them.")
        for scenario in ran:
            ts = _get(scenario, "metrics", "timeseries")
            problem = timeseries_problem(ts) if isinstance(ts, Mapping) else None
            if problem:
                out.append(f"{label}: the time series of {scenario.get('name')} (attempt "
                           f"{scenario.get('repeat_index', 0)}) is malformed ({problem}), so "
                           "it is not plotted.")
    unreadable = sorted({str(s.get("name")) for s in ran
                         if not _readable(_histogram(doc, str(s.get("name")), "latency_hdr"))})
    if unreadable:
        out.append(f"{label}: the latency histogram of {', '.join(unreadable)} cannot be "
                   "decoded, so no percentile spectrum is drawn for them.")
    return out


def _readable(encoded: str | None) -> bool:
    if not encoded:
        return True  # no histogram: nothing delivered, said where the spectrum would be
    try:
        decode_histogram(encoded)
    except ValueError:
        return False
    return True


def compare_charts(compare: Mapping[str, Any], chart_id: str) -> list[dict[str, Any]]:
    """The comparison section as charts: per scenario and target, P50 and P99 latency (log
    axis) and delivered chunks/s, as dots (one colour per target); then per scenario the
    targets' percentile spectra on one chart, when the compare document carries their
    histograms (``latency_hdr``/``service_hdr`` in each cell, since schema 2)."""
    targets = [str(t.get("name")) for t in compare.get("targets") or []
               if isinstance(t, Mapping)]
    rows = [r for r in compare.get("rows") or [] if isinstance(r, Mapping)]
    if not targets or not rows:
        return []
    ticks = [[float(i), str(r.get("scenario"))] for i, r in enumerate(rows)]
    # each target's dots a little to the side of the scenario's tick, so none hides another
    offsets = [round((i - (len(targets) - 1) / 2) * 0.14, 3) for i in range(len(targets))]

    def cells(field: str, target: str) -> list[float | None]:
        out: list[float | None] = []
        for row in rows:
            value = _get(row, target, field)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            out.append(float(value) if ok and value > 0 else None)
        return out

    def xs_of(group: int) -> list[float]:
        return [round(i + offsets[group], 3) for i in range(len(rows))]

    latency_tables, latency = [], []
    for group, target in enumerate(targets):
        latency_tables.append((xs_of(group), [cells("p99_ms", target), cells("p50_ms", target)]))
        latency += [{"label": f"P99 · {target}", "style": "dots", "group": group},
                    {"label": f"P50 · {target}", "style": "dots-hollow", "group": group}]
    rate_tables = [(xs_of(group), [cells("throughput_cps", target)])
                   for group, target in enumerate(targets)]
    rate = [{"label": target, "style": "dots", "group": group}
            for group, target in enumerate(targets)]
    latency_xs = _align(latency_tables, latency)
    rate_xs = _align(rate_tables, rate)
    base = {"kind": "dots", "x": {"label": "scenario", "scale": "linear"}, "bands": [],
            "faults": [], "events": [], "ticks": ticks}
    charts = []
    if any(v is not None for s in latency for v in s["values"]):
        charts.append({**base, "id": f"{chart_id}-latency", "xs": latency_xs,
                       "title": "Comparison: P50 and P99 latency per scenario",
                       "caption": "Filled: P99; hollow: P50. A missing dot: no chunk "
                                  "delivered, or chunks written into a buffer (no latency).",
                       "y": {"label": "ms", "unit": "ms", "log": True}, "series": latency})
    if any(v is not None for s in rate for v in s["values"]):
        charts.append({**base, "id": f"{chart_id}-rate", "xs": rate_xs,
                       "title": "Comparison: delivered chunks/s per scenario",
                       "caption": "Open-loop scenarios deliver at the rate they are offered: "
                                  "a lower dot means chunks dropped, refused or late.",
                       "y": {"label": "chunks/s", "unit": "/s", "log": True},
                       "series": rate})
    for index, row in enumerate(rows):  # the targets' spectra, where the cells carry them
        name = str(row.get("scenario"))
        runs = [Run(target, {"aggregates": {name: {
                    key: _get(row, target, key) for key in ("latency_hdr", "service_hdr")}}})
                for target in targets]
        spectrum = spectrum_chart(name, runs, f"{chart_id}-{index + 1}-spectrum")
        if spectrum is not None:
            spectrum["title"] = f"Comparison: {name}, percentile spectrum per target"
            charts.append(spectrum)
    return charts


def _sweep_series(lines: Mapping[str, Sequence[Mapping[str, Any]]], x_name: str,
                  xs_values: Sequence[Any], path: tuple[str, ...], *, positive: bool,
                  max_lines: int) -> list[dict[str, Any]]:
    """One line per entry of ``lines``: the value at ``path`` of the group at each x."""
    out = []
    for index, (label, members) in enumerate(list(lines.items())[:max_lines]):
        values: list[float | None] = []
        for x in xs_values:
            hit = next((g for g in members if _get(g, "params", x_name) == x), None)
            value = _get(hit, *path) if hit is not None else None
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            values.append(float(value) if ok and (value > 0 or not positive) else None)
        out.append({"label": label, "style": "line", "group": index, "values": values,
                    "span": True})
    return out


def sweep_charts(sweep: Mapping[str, Any], chart_id: str, *, max_lines: int = 8
                 ) -> list[dict[str, Any]]:
    """A sweep document's ``sweep`` section as charts, per target and scenario: pooled P99
    latency (log axis) and dropped chunks over the first swept parameter that varies, one
    line per value of the others (at most ``max_lines``). The x axis names the values in
    order (``dots`` kind), so numbers and names (an overflow policy) read alike."""
    axes = [a for a in sweep.get("axes") or [] if isinstance(a, Mapping)]
    pairs: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for group in sweep.get("groups") or []:
        if isinstance(group, Mapping):
            pairs.setdefault((str(group.get("target")), str(group.get("scenario"))),
                             []).append(group)
    charts: list[dict[str, Any]] = []
    for number, ((target, scenario), groups) in enumerate(pairs.items()):
        varying = [a for a in axes if len({repr(_get(g, "params", a["name"])) for g in groups
                                            if a["name"] in (g.get("params") or {})}) > 1]
        if not varying:
            continue
        x_axis, others = varying[0], varying[1:]
        xs_values = [v for v in x_axis["values"]
                     if any(_get(g, "params", x_axis["name"]) == v for g in groups)]
        lines: dict[str, list[Mapping[str, Any]]] = {}
        for group in groups:
            label = " ".join(f"{a['name']}={_get(group, 'params', a['name'])}"
                             for a in others) or scenario
            lines.setdefault(label, []).append(group)
        base = {"kind": "dots", "x": {"label": x_axis["name"], "scale": "linear"},
                "xs": [float(i) for i in range(len(xs_values))], "bands": [], "faults": [],
                "events": [], "ticks": [[float(i), str(v)] for i, v in enumerate(xs_values)]}

        where = f"{scenario} on {target}"
        latency = _sweep_series(lines, x_axis["name"], xs_values, ("metrics", "latency_ms", "p99"),
                                positive=True, max_lines=max_lines)
        if any(v is not None for s in latency for v in s["values"]):
            charts.append({**base, "id": f"{chart_id}{number}-p99",
                           "title": f"Sweep: P99 latency of {where}",
                           "caption": f"Over {x_axis['name']}, pooled over seeds (merged "
                                      "histograms); one line per value of the other "
                                      "swept parameters.",
                           "y": {"label": "ms", "unit": "ms", "log": True},
                           "series": latency})
        dropped = _sweep_series(lines, x_axis["name"], xs_values, ("metrics", "dropped"),
                                positive=False, max_lines=max_lines)
        if any(v for s in dropped for v in s["values"]):
            charts.append({**base, "id": f"{chart_id}{number}-dropped",
                           "title": f"Sweep: dropped chunks of {where}",
                           "caption": f"Over {x_axis['name']}, summed over seeds.",
                           "y": {"label": "chunks", "unit": "", "log": False},
                           "series": dropped})
    return charts
