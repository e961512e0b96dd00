"""The live view of ``run`` on a terminal, and plain lines elsewhere."""

from __future__ import annotations

import io
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from rich.console import Console

from harness.cli import main
from harness.invariants import Expectations
from harness.live import LiveView, expected_durations, sparkline
from mocks.trace import Trace

TOYS = ["--scenarios", "harness_toys"]


def test_sparkline_scales_to_a_bound() -> None:
    assert sparkline([0, 25, 50, 100], top=100) == "▁▃▅█"
    assert sparkline([0, 1, 2]) == "▁▅█"  # to its own maximum
    assert sparkline([]) == ""


def test_expected_duration_is_the_last_run_with_the_same_parameters() -> None:
    previous = {"scenarios": [
        {"name": "a", "status": "pass", "duration_ms": 1500.0, "params": {"chunks": 10}},
        {"name": "b", "status": "pass", "duration_ms": 900.0, "params": {"chunks": 99}},
        {"name": "c", "status": "skipped", "duration_ms": 0.0, "params": {}},
    ]}
    params = {"a": {"chunks": 10}, "b": {"chunks": 10}, "c": {}}
    assert expected_durations(previous, params) == {"a": 1.5}
    assert expected_durations(None, params) == {}


def _render(view: LiveView) -> str:
    console = Console(file=io.StringIO(), width=170, force_terminal=False, color_system=None)
    console.print(view)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_running_attempt_shows_its_trace_so_far() -> None:
    trace = Trace()
    now = time.perf_counter_ns()
    for seq in range(200):
        trace.sent(0, seq, now - 10_000_000, now - 9_000_000, now - 9_000_000, "queued")
        trace.received(0, 0, seq, now - 10_000_000 + (seq + 1) * 10_000)  # 10 µs .. 2 ms
    trace.event("stream.chunk_dropped", {})
    trace.event("stream.buffer_underrun", {})
    trace.event("stream.buffer_underrun", {})
    for depth in (0, 10, 20, 40, 40):
        for _ in range(20):
            trace.sample("queue_depth.q", depth)
    expectations = Expectations()
    expectations.queues["q"] = 40
    view = LiveView([("stream", 10.0, False), ("next", 5.0, True)])
    view.start(0)
    view.attach(SimpleNamespace(trace=trace, expectations=expectations))
    text = _render(view)
    row = next(line for line in text.splitlines() if line.lstrip().startswith("stream"))
    assert "running" in row
    assert " 200 " in row  # sent and delivered
    assert "▁▃▅██ 40" in row  # depth against the queue's bound, the last value
    assert "1.98 ms" in row  # P99 of the last second: the 198th of 200 (nearest rank)
    assert row.split()[-2:] == ["1", "2"]  # 1 drop, 2 underruns
    assert "~10.0 s" in row or "~9.9 s" in row
    assert "≤" not in row
    assert "0/2 attempts done" in text


def test_a_finished_attempt_shows_its_status_and_whole_p99() -> None:
    view = LiveView([("stream", 1.0, True)])
    view.start(0)
    view.finish(0, {"status": "fail", "metrics": {"sent": 7, "delivered": 6,
                                                  "latency_ms": {"p99": 3.5, "count": 6}}})
    text = _render(view)
    assert "fail" in text and "3.50 ms" in text and "1/1 attempts done" in text


def test_run_on_a_terminal_shows_the_live_view(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.commands import run

    screen = io.StringIO()
    consoles: list[Console] = []

    def terminal(*, stderr: bool) -> Console:
        console = Console(file=screen, width=170, force_terminal=True, color_system=None)
        consoles.append(console)
        return console

    monkeypatch.setattr(run, "_console", terminal)
    code = main(["run", "toy_stream", *TOYS, "--target", "harness_toys:good_target", "--quick",
                 "--seed", "3", "--no-ledger", "--results-dir", str(tmp_path)])
    assert code in (0, 3)  # 3: a loaded machine made the load generator late (invalid)
    shown = screen.getvalue()
    assert "depth / level" in shown and "1/1 attempts done" in shown
    assert "toy_stream: pass (" not in shown and "toy_stream: invalid (" not in shown


@pytest.mark.parametrize("extra", [["--no-live"], []])
def test_without_a_terminal_or_with_no_live_each_scenario_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        extra: list[str]) -> None:
    from harness.commands import run

    if extra:  # a terminal, but --no-live
        def terminal(*, stderr: bool) -> Console:
            return Console(file=io.StringIO() if not stderr else None, force_terminal=True,
                           stderr=stderr, width=170, color_system=None)
        monkeypatch.setattr(run, "_console", terminal)
    code = main(["run", "toy_stream", *TOYS, "--target", "harness_toys:good_target", "--quick",
                 "--seed", "3", "--no-ledger", "--results-dir", str(tmp_path), "--json",
                 *extra])
    assert code in (0, 3)  # 3: a loaded machine made the load generator late (invalid)
    captured = capsys.readouterr()
    doc: dict[str, Any] = orjson.loads(captured.out)  # --json: stdout is the document alone
    assert doc["scenarios"][0]["name"] == "toy_stream"
    assert f"toy_stream: {doc['scenarios'][0]['status']} (" in captured.err
    assert "depth / level" not in captured.err
