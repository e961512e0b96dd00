"""What seeing costs: the HTML report's size and render time, the live view's share of a run.

``python -m harness.bench_seeing [--results FILE] [--rounds N]`` prints JSON:

- ``report``: the HTML report of ``--results`` (default ``results/latest.json``, with the
  ledgers and comparison of the working directory): its size in bytes, its number of
  charts, and the load time in headless Chromium (navigation start to the end of the load
  event, all charts drawn by then) over ``--rounds`` loads: median and maximum. Skipped,
  with the reason, when Chromium is missing.
- ``live``: the CPU time (and wall time) one redraw of the live view takes while a
  high_load-sized attempt runs (a trace of 255,000 sends and receipts, 4 queues sampled
  every ms, 5,000 events re-read each time), median over the rounds, and the share of one
  core that costs at
  :data:`harness.live.REFRESH_PER_SECOND` redraws a second: the time the scenario's thread
  loses to it when the two contend for the GIL.

Figures, not a pass/fail gate: the goals (< 5 MB, < 2 s, < 2 %) are in docs/report.md with
the figures measured on the project's machine.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

__all__ = ["live_refresh_cost", "main", "report_cost"]


def report_cost(results: Path, ledger_dir: Path, rounds: int) -> dict[str, Any]:
    """Size, chart count and Chromium load time of the HTML report of ``results``."""
    from harness.commands.report import generate
    from harness.html.browser import BrowserError, render

    text = generate(results, ledger_dir, html=True)
    out: dict[str, Any] = {"results": str(results), "bytes": len(text.encode("utf-8"))}
    with tempfile.TemporaryDirectory(prefix="stageflow-bench-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(text, encoding="utf-8")
        loads: list[float] = []
        try:
            for _ in range(rounds):
                result = render(page)
                if result.errors or result.undrawn:
                    out["problems"] = {"errors": result.errors, "undrawn": result.undrawn}
                loads.append(result.load_ms)
                out["charts"] = len(result.charts)
        except BrowserError as exc:
            out["skipped"] = str(exc)
            return out
    out["load_ms_median"] = round(statistics.median(loads), 1)
    out["load_ms_max"] = round(max(loads), 1)
    return out


def _high_load_trace() -> tuple[Any, Any]:
    from harness.invariants import Expectations
    from mocks.trace import Trace

    trace = Trace()
    start = time.perf_counter_ns() - 5_000_000_000
    for seq in range(255_000):  # 51,000 chunks/s for 5 s, as high_load's full parameters
        t = start + seq * 19_600
        trace.sent(seq % 8, seq, t, t, t + 2_000, "queued")
        trace.received(seq % 8, seq % 8, seq, t + 500_000)
    for stream in range(4):
        for ms in range(5_000):
            trace.sample(f"queue_depth.stream{stream}", ms % 1000, start + ms * 1_000_000)
    for index in range(5_000):
        trace.event("stream.throttle_started" if index % 2 else "stream.chunk_dropped", {})
    expectations = Expectations()
    for stream in range(4):
        expectations.queues[f"stream{stream}"] = 1000
    return trace, expectations


def live_refresh_cost(rounds: int) -> dict[str, Any]:
    """Median time of one live-view redraw during a high_load-sized attempt."""
    from rich.console import Console

    from harness.live import REFRESH_PER_SECOND, LiveView

    trace, expectations = _high_load_trace()
    view = LiveView([(name, 10.0, False) for name in (
        "baseline", "queue_overflow", "buffer_overflow", "buffer_underrun", "high_load")])
    for index in range(4):
        view.start(index)
        view.finish(index, {"status": "pass", "metrics": {}})
    view.start(4)
    view.attach(SimpleNamespace(trace=trace, expectations=expectations))
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    times, cpu = [], []
    for _ in range(max(rounds, 1) * 10):
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        console.print(view)
        cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
        times.append((time.perf_counter_ns() - started) / 1e6)
        view.rows[4].event_index = 0  # re-read the events each time: the worst case
    median = statistics.median(cpu)
    return {"refresh_cpu_ms_median": round(median, 3),
            "refresh_wall_ms_median": round(statistics.median(times), 3),
            "refresh_wall_ms_max": round(max(times), 3),
            "refresh_per_second": REFRESH_PER_SECOND,
            "share_of_one_core": round(median * REFRESH_PER_SECOND / 1000.0, 5)}


def live_ab(rounds: int, rate_cps: float = 200_000.0, duration_s: float = 2.0) -> dict[str, Any]:
    """high_load's delivered chunks/s with the live view redrawn beside it and without,
    interleaved in this process (off, on, off, on...), at an offered rate above what the
    machine delivers, so delivered chunks/s is the capacity the view could take from.
    Medians, and the median of the per-round ratios (on / off)."""
    import threading

    from rich.console import Console

    import scenarios  # noqa: F401  (registers the built-in scenarios)
    from harness.live import REFRESH_PER_SECOND, LiveView
    from harness.runner import run_scenario
    from harness.targets import load_target
    from scenarios.registry import get_scenario

    spec, target = get_scenario("high_load"), load_target("stageflow_core")
    overrides = {"rate_cps": rate_cps, "duration_s": duration_s}

    def once(live: bool, seed: int) -> float:
        view = LiveView([("high_load", duration_s, False)])
        view.start(0)
        stop = threading.Event()
        console = Console(file=io.StringIO(), force_terminal=True, width=160)

        def redraw() -> None:
            while not stop.wait(1.0 / REFRESH_PER_SECOND):
                console.print(view)

        thread = threading.Thread(target=redraw, daemon=True) if live else None
        if thread is not None:
            thread.start()
        try:
            entry = run_scenario(spec, target, quick=True, seed=seed, overrides=overrides,
                                 on_context=view.attach if live else None)
        finally:
            stop.set()
            if thread is not None:
                thread.join()
        return float(entry["metrics"]["throughput_cps"])

    on, off, ratios = [], [], []
    for index in range(max(rounds, 1)):
        without = once(False, index)
        with_view = once(True, index)
        off.append(without)
        on.append(with_view)
        ratios.append(with_view / without if without else float("nan"))
    return {"rate_cps": rate_cps, "duration_s": duration_s, "rounds": len(on),
            "without_cps_median": round(statistics.median(off), 1),
            "with_cps_median": round(statistics.median(on), 1),
            "ratio_median": round(statistics.median(ratios), 4),
            "ratios": [round(r, 4) for r in ratios]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench_seeing",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results/latest.json"))
    parser.add_argument("--ledger-dir", type=Path, default=Path("."))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ab", action="store_true",
                        help="also run high_load with and without the live view (slow)")
    args = parser.parse_args(argv)
    out = {"report": report_cost(args.results, args.ledger_dir, args.rounds),
           "live": live_refresh_cost(args.rounds)}
    if args.ab:
        out["live_ab"] = live_ab(args.rounds)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
