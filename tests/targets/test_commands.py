"""``list --targets``, ``compare`` at 80 columns, and ``fuzz --results-dir``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from harness.cli import main
from harness.commands.compare import render_tables
from harness.targets import BUILTIN_TARGETS

pytestmark = pytest.mark.timeout(120)

NAMES = ["asyncio", "anyio", "janus", "culsans", "aiochannel", "livekit", "stageflow",
         "stageflow_core"]


def test_list_targets_shows_every_builtin_with_its_version_and_parts(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--targets", "--json"]) == 0
    rows = {row["name"]: row for row in orjson.loads(capsys.readouterr().out)["targets"]}
    assert list(rows) == list(BUILTIN_TARGETS)
    core = rows["stageflow_core"]
    assert core["installed"] and core["parts"][:3] == ["queue", "buffer", "chunk"]
    assert "put_timeout" in core["capabilities"]
    for row in rows.values():
        assert row["installed"] == BUILTIN_TARGETS[row["name"]].installed()


def test_list_targets_says_how_to_install_a_missing_one(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(BUILTIN_TARGETS, "janus", dataclasses.replace(
        BUILTIN_TARGETS["janus"], distribution="no-such-dist-xyz"))
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["list", "--targets"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith("janus"))
    assert "not installed" in line and "stageflow-stress[targets]" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def _compare(targets: list[str]) -> dict[str, Any]:
    cell = {"status": "pass", "throughput_cps": 12345.6, "p50_ms": 123.45, "p99_ms": 1234.56,
            "lost": 0, "dropped": 315, "findings": 2, "skipped": []}
    skipped = {**cell, "status": "skipped", "skipped": ["part:buffer"]}
    return {"suite": "transform007", "quick": True, "seed": 0,
            "targets": [{"name": t, "version": "1.8.9", "run_id": "r", "summary": {}}
                        for t in targets],
            "rows": [{"scenario": "queue_overflow", **{t: cell for t in targets}},
                     {"scenario": "buffer_overflow",
                      **{t: (skipped if i < 6 else cell) for i, t in enumerate(targets)}}]}


def test_compare_of_eight_targets_fits_80_columns_without_truncation() -> None:
    console = Console(width=80, record=True, force_terminal=False)
    for table in render_tables(_compare(NAMES)):
        console.print(table)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    for name in NAMES:  # every target named in full, in the summary and each scenario
        assert text.count(f" {name} ") >= 3
    assert "12,346" in text and "123.45/1234.56" in text and "0/315" in text
    assert "lack part:buffer" in text


def test_fuzz_keeps_hypothesis_under_the_results_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "out"
    code = main(["fuzz", "--target", "stageflow_core", "--machine", "queue",
                 "--max-examples", "5", "--budget", "20", "--no-verify", "--no-ledger",
                 "--results-dir", str(results)])
    assert code in (0, 1)
    assert not (tmp_path / ".hypothesis").exists()
    latest = orjson.loads((results / "fuzz-latest.json").read_bytes())["fuzz"]
    assert latest["target"]["name"] == "stageflow_core"
    out = capsys.readouterr().out
    assert str(results / "fuzz-latest.json") in out.replace("\n", "")
    assert str(results / "hypothesis") in out.replace("\n", "")


def test_hypothesis_home_is_the_results_dir_only_while_fuzzing(tmp_path: Path) -> None:
    from hypothesis.configuration import storage_directory

    from harness.commands.fuzz import hypothesis_home

    before = storage_directory(intent_to_write=False).home_directory
    with hypothesis_home(tmp_path / "hypothesis"):
        assert storage_directory("x", intent_to_write=False).path == \
            tmp_path / "hypothesis" / "x"
    assert storage_directory(intent_to_write=False).home_directory == before
