"""Fuzzing finds nothing in our library and real, reproducible defects in the peer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from harness.cli import main
from harness.findings import merge_findings
from harness.fuzz import FuzzConfig, FuzzReport, run_fuzz, run_snippet, to_findings
from harness.fuzz.session import fuzz_machine
from harness.targets import load_target


def _deadline(seconds: float = 60.0) -> int:
    return time.perf_counter_ns() + int(seconds * 1e9)


def test_fixed_seed_run_finds_nothing_in_stageflow_core(core_report: FuzzReport) -> None:
    assert [v.as_dict() for v in core_report.violations] == []
    assert all(core_report.complete.values())


@pytest.mark.needs_peer
def test_peer_queue_close_leaves_a_blocked_call_hanging(peer_session: Callable) -> None:
    keys = {violation.key for violation in peer_session("queue")}
    assert any(prop == "no_hang" and op.startswith("close") for _, prop, op in keys)


@pytest.mark.needs_peer
def test_each_defect_is_reported_once(peer_session: Callable) -> None:
    keys = [violation.key for violation in peer_session("queue")]
    assert len(keys) >= 2
    assert len(keys) == len(set(keys))


@pytest.mark.needs_peer
def test_same_seed_gives_the_same_session() -> None:
    config = FuzzConfig(max_examples=20, seed=3, machines=("objects",), verify=False,
                        max_rounds=3)
    first = run_fuzz(load_target("stageflow"), config)
    second = run_fuzz(load_target("stageflow"), config)
    assert [v.snippet for v in first.violations] == [v.snippet for v in second.violations]
    assert first.violations


@pytest.mark.needs_peer
def test_buffer_accepting_partial_frames_is_found() -> None:
    found, _, _, _ = fuzz_machine("buffer", load_target("stageflow"),
                                  FuzzConfig(max_examples=40, seed=0, max_rounds=3),
                                  _deadline())
    keys = {violation.key for violation, _ in found}
    assert ("StreamingBuffer", "bad_input_refused", "add_chunk (partial frame)") in keys


@pytest.mark.needs_peer
def test_reproduction_fails_on_peer_and_passes_on_stageflow_core() -> None:
    report = run_fuzz(load_target("stageflow"),
                      FuzzConfig(max_examples=30, machines=("objects",), verify=True,
                                 max_rounds=1))
    violation = report.violations[0]
    assert violation.verified["target"]["result"] == "fails"
    assert violation.verified["reference"]["result"] == "passes"
    assert violation.verified["confirmed"] is True
    rerun = run_snippet(violation.snippet, "stageflow_core")
    assert rerun["result"] == "passes"


@pytest.mark.needs_peer
def test_findings_merge_once_and_missing_capabilities_are_improvements(tmp_path: Path) -> None:
    report = run_fuzz(load_target("stageflow"),
                      FuzzConfig(max_examples=20, machines=("objects",), verify=False,
                                 max_rounds=2))
    findings = to_findings(report, run_id="20260101T000000Z-aaaaaa")
    kinds = {f.kind for f in findings}
    assert kinds == {"bug", "improvement"}
    assert any(f.check == "capability/put_timeout" for f in findings)
    merge = dict(ledger_dir=tmp_path, target=report.target, checks_run=report.checks_run(),
                 now="2026-01-01T00:00:00Z")
    first = merge_findings(findings, run_id="20260101T000000Z-aaaaaa", **merge)
    second = merge_findings(to_findings(report, run_id="20260101T000001Z-bbbbbb"),
                            run_id="20260101T000001Z-bbbbbb", **merge)
    assert len(first.added) == len(findings)
    assert second.added == []
    bugs = orjson.loads((tmp_path / "bugs.json").read_bytes())["entries"]
    assert all(entry["source"] == "fuzz" and "asyncio.run(main())" in entry["reproduction"]
               for entry in bugs)


def test_cli_refuses_bad_max_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--max-examples", "0", "--no-ledger"]) == 2
    assert "--max-examples must be >= 1" in capsys.readouterr().err


def test_cli_refuses_unknown_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--target", "no_such_module_xyz", "--no-ledger"]) == 2
    assert "no_such_module_xyz" in capsys.readouterr().err


def test_cli_json_on_stageflow_core_reports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["fuzz", "--max-examples", "10", "--machine", "objects", "--json",
                 "--ledger-dir", str(tmp_path)])
    doc = orjson.loads(capsys.readouterr().out)["fuzz"]
    assert code == 0
    assert doc["violations"] == [] and doc["target"]["name"] == "stageflow_core"
    assert not (tmp_path / "bugs.json").exists()


class _BareBuffer:
    """A buffer with the calls of the contract and nothing else: no ``sample_rate``, no
    ``current_bytes`` or ``stats`` (its level is known only through ``duration_ms``)."""

    _HIDDEN = frozenset({"sample_rate", "_sample_rate", "current_bytes", "stats"})

    def __init__(self, wrapped: object) -> None:
        self._wrapped = wrapped

    def __getattr__(self, name: str) -> object:
        if name in self._HIDDEN:
            raise AttributeError(name)
        return getattr(self._wrapped, name)


def test_buffer_machine_runs_on_a_buffer_without_a_sample_rate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    target = load_target("stageflow_core")
    make = target.make_buffer
    monkeypatch.setattr(target, "make_buffer", lambda **kw: _BareBuffer(make(**kw)))
    found, complete, _, notes = fuzz_machine(
        "buffer", target, FuzzConfig(max_examples=15, seed=0, max_rounds=2, shrink=False),
        _deadline())
    assert [violation.key for violation, _ in found] == [], notes
    assert complete
