"""``stageflow-stress selftest``: bad input, exit codes, and no ledger written."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harness.cli import main
from harness.selftest import QUICK, MemberResult, SelftestReport


@pytest.mark.parametrize("argv", [
    ["selftest", "no_such_member"],
    ["selftest", "--min-recall", "1.5"],
    ["selftest", "--max-false", "-1"],
    ["selftest", "--jobs", "-2"],
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err


@pytest.mark.timeout(240)
def test_a_seeded_member_found_as_its_clause_passes_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # a ledger or results file would land here
    argv = ["selftest", "--quick", "--jobs", "1", "--json", "close_forgets_putters"]
    assert main(argv) == 0
    doc = orjson.loads(capsys.readouterr().out)["selftest"]
    (member,) = doc["members"]
    assert member["found"] is True and doc["recall"] == 1.0 and doc["passed"] is True
    assert member["found_as"][0]["key"]["operation"] == "close (blocked producer)"
    assert [p.name for p in tmp_path.rglob("*.json")] == []  # no ledger, no results


def _result(name: str, *, clean: bool, found: bool = False, bugs: int = 0,
            error: str | None = None) -> MemberResult:
    breaks = None if clean else {"component": "ChunkQueue", "property": "fifo"}
    bug = {"check": "x", "title": "t"}
    return MemberResult(name=name, spec=name, clean=clean, breaks=breaks,
                        bugs=[bug] * bugs, found_as=[bug] if found else [], error=error)


@pytest.mark.parametrize(("members", "passed"), [
    ([_result("a", clean=False, found=True), _result("c", clean=True)], True),
    ([_result("a", clean=False, found=False), _result("c", clean=True)], False),
    ([_result("a", clean=False, found=True), _result("c", clean=True, bugs=1)], False),
    ([_result("a", clean=False, found=True, error="boom")], False),
])
def test_the_verdict_needs_recall_no_false_finding_and_no_crash(
        members: list[MemberResult], passed: bool) -> None:
    report = SelftestReport(members=members, budget=QUICK)
    assert report.passed(min_recall=0.95, max_false=0) is passed
    assert report.as_dict()["false_findings"] == sum(len(m.false_findings) for m in members)


def test_list_names_every_member(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--list"]) == 0
    out = capsys.readouterr().out
    assert "lost_wakeup" in out and "stdlib_queue" in out


def test_running_a_buffer_scenario_on_a_queue_only_target_is_exit_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    target = "harness.selftest.corpus.clean:stdlib_queue"
    assert main(["run", "buffer_overflow", "--target", target, "--no-ledger"]) == 2
    err = capsys.readouterr().err.strip()
    assert "buffer_overflow" in err and "buffer" in err and len(err.splitlines()) == 1


@pytest.mark.timeout(60)
def test_a_block_only_queue_runs_the_blocking_phase_of_queue_overflow() -> None:
    import scenarios  # noqa: F401
    from harness.runner import run_scenario
    from harness.targets import load_target
    from scenarios.registry import get_scenario

    target = load_target("harness.selftest.corpus.clean:stdlib_queue")
    entry = run_scenario(get_scenario("queue_overflow"), target, quick=True, seed=1)
    assert entry["status"] != "skipped"
    assert entry["skipped"][0]["capability"] == "overflow:drop_oldest"
    hang = next(v for v in entry["invariants"] if v["name"] == "no_hang")
    assert not hang["passed"]  # no put timeout: the producer waits for ever (BUG-038)
    assert hang["defects"][0]["level"] == "recommended"  # a timeout is our advice


@pytest.mark.timeout(60)
def test_a_buffer_scenario_skips_on_a_queue_only_target_with_a_reason() -> None:
    import scenarios  # noqa: F401
    from harness.runner import run_scenario
    from harness.targets import load_target
    from scenarios.registry import get_scenario

    target = load_target("harness.selftest.corpus.clean:stdlib_queue")
    entry = run_scenario(get_scenario("buffer_underrun"), target, quick=True, seed=1)
    assert entry["status"] == "skipped"
    assert entry["skipped"][0]["part"] == "buffer" and entry["skipped"][0]["reason"]
