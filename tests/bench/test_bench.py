"""The bench runs end to end and produces the documented structure (never timings)."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from harness.bench import BENCHMARKS, BenchConfig, run_bench
from harness.cli import main
from harness.errors import HarnessError

TINY = BenchConfig(rounds=3, warmup_rounds=0, target_ms=1.0)


def _goal(doc: dict, name: str) -> dict:
    return next(g for g in doc["bench"]["goals"] if g["name"] == name)


def test_queue_single_measures_every_contender_once_per_round() -> None:
    doc = run_bench(only=["queue_single"], config=TINY, peer=None)
    measurements = doc["bench"]["measurements"]
    assert {m["key"] for m in measurements} == {"queue_single.ours", "queue_single.asyncio"}
    for m in measurements:
        assert len(m["samples"]) == TINY.rounds
        assert m["unit"] == "items/s"
        assert m["min"] <= m["median"] <= m["max"]


def test_ratio_goal_is_evaluated_against_its_threshold() -> None:
    doc = run_bench(only=["queue_single"], config=TINY, peer=None)
    goal = _goal(doc, "ChunkQueue vs asyncio.Queue")
    assert goal["ratio"] > 0 and math.isfinite(goal["ratio"])
    assert goal["met"] is (goal["ratio"] >= 1.0)
    assert goal["goal"] == ">= 1x"


def test_goal_without_peer_is_reported_not_measured() -> None:
    doc = run_bench(only=["queue_single"], config=TINY, peer=None)
    goal = _goal(doc, "ChunkQueue vs peer ChunkQueue")
    assert goal["met"] is None
    assert goal["note"] == "reference not measured"
    assert doc["bench"]["targets"]["peer"] is None


def test_unknown_peer_is_a_note_not_a_crash() -> None:
    doc = run_bench(only=["queue_single"], config=TINY, peer="no_such_module_xyz")
    assert any(note.startswith("peer skipped:") for note in doc["bench"]["notes"])


@pytest.mark.needs_peer
def test_buffer_compares_every_depth_with_the_peer() -> None:
    doc = run_bench(only=["buffer"], config=TINY)
    keys = {m["key"] for m in doc["bench"]["measurements"]}
    depths = (200, 2000, 20000, 60000)
    assert keys == {f"buffer.{who}.{d}" for who in ("ours", "peer") for d in depths}
    assert all(m["unit"] == "x real time" for m in doc["bench"]["measurements"])
    assert _goal(doc, "StreamingBuffer 20 s vs peer 20 s")["ratio"] is not None


def test_unknown_benchmark_is_refused_with_its_name() -> None:
    with pytest.raises(HarnessError, match="unknown benchmark 'nope'"):
        run_bench(only=["nope"], config=TINY)


def test_cli_json_output_is_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--quick", "--json", "--only", "queue_single", "--peer", "none"])
    assert code == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["bench"]["version"] == 1
    assert doc["bench"]["quick"] is True
    assert set(BENCHMARKS) >= {g["benchmark"] for g in doc["bench"]["goals"]}


def test_cli_writes_nothing_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick", "--only", "recorder", "--peer", "none"]) == 0
    assert list(tmp_path.iterdir()) == []
    assert "stageflow-stress bench" in capsys.readouterr().out


def test_cli_out_writes_the_json_document(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--only", "queue_single", "--peer", "none",
                 "--out", str(out), "--json"]) == 0
    doc = orjson.loads(out.read_bytes())
    assert {m["key"] for m in doc["bench"]["measurements"]} == {
        "queue_single.ours", "queue_single.asyncio"}


def _doc_with(met: bool) -> dict:
    goal = {"benchmark": "queue_single", "name": "ChunkQueue vs asyncio.Queue",
            "goal": ">= 1x", "ours_key": "queue_single.ours",
            "reference_key": "queue_single.asyncio", "ours": 1.0, "reference": 1.0,
            "ratio": 1.2 if met else 0.7, "met": met, "unit": "items/s"}
    return {"bench": {"targets": {"ours": {"name": "stageflow_core"}}, "rounds": 3,
                      "measurements": [], "goals": [goal], "notes": []}}


@pytest.mark.parametrize(("second", "code"), [(True, 0), (False, 99)])
def test_strict_fails_only_on_a_goal_missed_again_when_measured_once_more(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    second: bool, code: int,
) -> None:
    import harness.commands.bench as command

    calls: list[tuple[str, ...]] = []

    def fake_run_bench(*, only=(), **_: object) -> dict:
        calls.append(tuple(only))
        return _doc_with(met=len(calls) > 1 and second)

    monkeypatch.setattr(command, "run_bench", fake_run_bench)
    assert main(["bench", "--strict", "--peer", "none"]) == code
    assert calls == [(), ("queue_single",)]          # only the missed benchmark again
    assert "0.70x, then" in capsys.readouterr().err
