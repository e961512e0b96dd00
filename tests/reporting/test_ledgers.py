"""Ledger files: the seeded facts, validation on load, refusal of corrupt files."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from harness.errors import EXIT_USAGE, HarnessError
from harness.ledgers import load_ledger, load_ledgers, save_ledger

from .conftest import REPO

SEEDS = {
    "bug": ("BUG-038", "ChunkQueue.put() blocks indefinitely when queue is full"),
    "dx": ("DX-038", "ChunkQueue documentation unclear about blocking behavior"),
    "improvement": ("IMP-054", "StreamingBuffer lacks buffer level query method"),
    "strength": ("STR-052", "Well-designed streaming primitives with backpressure monitoring"),
}


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_seed_entry_is_a_manual_fact_about_stageflow_0_5_1(kind: str) -> None:
    ledger = load_ledgers(REPO)[kind]
    entry = next(e for e in ledger.entries if e["id"] == SEEDS[kind][0])
    assert entry["title"] == SEEDS[kind][1]
    assert entry["target"] == {"name": "stageflow", "version": "0.5.1"}
    assert entry["source"] == "manual"
    assert entry["origin"] == "TRANSFORM-007 report"
    assert entry["our_library"]["name"] == "stageflow_core"
    assert entry["our_library"]["answer"]


def test_seed_bug_038_carries_the_report_facts() -> None:
    entry = load_ledgers(REPO)["bug"].entries[0]
    assert (entry["severity"], entry["category"], entry["component"]) == (
        "medium", "Reliability", "ChunkQueue")
    assert "ChunkQueue(max_size=5)" in entry["reproduction"]
    assert "QueueFull" in entry["expected"]
    assert "timeout" in entry["our_library"]["answer"]


def test_dx_scores_are_the_reports_for_stageflow_0_5_1() -> None:
    scores = load_ledgers(REPO)["dx"].doc["scores"]
    assert len(scores) == 1
    score_set = scores[0]
    assert score_set["target"] == {"name": "stageflow", "version": "0.5.1"}
    assert score_set["source"] == "manual"
    assert {c["name"]: c["score"] for c in score_set["categories"]} == {
        "Discoverability": 4, "Clarity": 4, "Documentation": 3, "Error Messages": 4,
        "Debugging": 4, "Boilerplate": 5, "Flexibility": 4, "Performance": 5,
    }
    assert score_set["overall"] == 4.1


def test_corrupt_json_is_refused_with_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bugs.json"
    path.write_text('{\n  "version": 1,\n  "entries": [\n    {"id": "BUG-001",}\n  ]\n}\n')
    with pytest.raises(HarnessError) as caught:
        load_ledger(path, "bug")
    assert caught.value.exit_code == EXIT_USAGE
    assert re.search(rf"{re.escape(str(path))}:4:\d+: ledger is not valid JSON", str(caught.value))


def _entry(**overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": "BUG-001", "type": "bug", "title": "t", "status": "open", "severity": "low",
        "target": {"name": "x", "version": "1"},
    }
    entry.update(overrides)
    return entry


def _write(path: Path, entries: list[dict[str, object]], **top: object) -> Path:
    path.write_bytes(orjson.dumps({"version": 1, "entries": entries, **top},
                                  option=orjson.OPT_INDENT_2))
    return path


def test_mistyped_field_is_refused_with_its_line_and_path(tmp_path: Path) -> None:
    path = _write(tmp_path / "bugs.json", [_entry(), _entry(id="BUG-002", severity="urgent")])
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "urgent" in text)
    with pytest.raises(HarnessError, match=rf":{line}:\d+: entries\[1\]\.severity: severity "
                                           r"'urgent' is not one of critical"):
        load_ledger(path, "bug")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (_entry(id="BUG-1"), "is not an ID like BUG-001"),
        (_entry(id="DX-001"), "is not an ID like BUG-001"),
        (_entry(type="dx"), "does not belong in this ledger"),
        (_entry(status="closed"), "'closed' is not one of open, fixed, wontfix, withdrawn, merged"),
        (_entry(target="stageflow"), "expected an object"),
        (_entry(title=""), "expected a non-empty string"),
        (_entry(evidence=[1]), "expected an object, got a list"),
        (_entry(first_seen=5), "expected a string or null"),
        (_entry(fingerprint="abc"), "generated entry (has a fingerprint) is missing 'check'"),
    ],
)
def test_bad_entry_is_refused_naming_the_reason(
    tmp_path: Path, entry: dict[str, object], reason: str
) -> None:
    path = _write(tmp_path / "bugs.json", [entry])
    with pytest.raises(HarnessError, match=re.escape(reason)):
        load_ledger(path, "bug")


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "bugs.json", [_entry(), _entry()])
    with pytest.raises(HarnessError, match=r"duplicate id 'BUG-001' \(also entries\[0\]\)"):
        load_ledger(path, "bug")


def test_unknown_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bugs.json"
    path.write_text('{"version": 2, "entries": []}')
    with pytest.raises(HarnessError, match=r"unknown version 2"):
        load_ledger(path, "bug")


def test_bad_dx_score_is_refused(tmp_path: Path) -> None:
    scores = [{"target": {"name": "x", "version": "1"}, "scale": 5,
               "categories": [{"name": "Clarity", "score": 7}]}]
    path = _write(tmp_path / "dx.json", [], scores=scores)
    with pytest.raises(HarnessError, match=r"scores\[0\]\.categories\[0\]\.score: score must be"):
        load_ledger(path, "dx")


def test_missing_ledger_is_empty_and_not_created_when_nothing_changes(tmp_path: Path) -> None:
    ledger = load_ledger(tmp_path / "bugs.json", "bug")
    assert ledger.entries == []
    assert save_ledger(ledger) is False
    assert not (tmp_path / "bugs.json").exists()


def test_next_id_continues_after_the_highest_number(tmp_path: Path) -> None:
    path = _write(tmp_path / "bugs.json", [_entry(id="BUG-038"), _entry(id="BUG-007")])
    assert load_ledger(path, "bug").next_id() == "BUG-039"


def test_unchanged_ledger_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "bugs.json"
    path.write_text('{"version":1,"entries":[{"id":"BUG-001","type":"bug","title":"t",'
                    '"status":"open","severity":"low","target":{"name":"x","version":"1"}}]}')
    before = path.read_bytes()
    assert save_ledger(load_ledger(path, "bug")) is False
    assert path.read_bytes() == before
