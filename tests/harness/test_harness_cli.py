"""``stageflow-stress run`` and ``list``: exit codes 0/1/2/3, results written only on success."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harness.cli import main
from harness.results import load_results

TOYS = ["--scenarios", "harness_toys"]


def _run(tmp_path: Path, *argv: str) -> int:
    return main(["run", *argv, *TOYS, "--quick", "--seed", "3", "--no-ledger",
                 "--results-dir", str(tmp_path / "results")])


def _results(tmp_path: Path) -> list[str]:
    directory = tmp_path / "results"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_all_passing_exits_0_and_writes_the_run_and_latest(tmp_path: Path) -> None:
    assert _run(tmp_path, "toy_stream", "--target", "harness_toys:good_target") == 0
    names = _results(tmp_path)
    assert "latest.json" in names and len(names) == 2
    doc = load_results(tmp_path / "results" / "latest.json")
    assert doc["seed"] == 3
    assert doc["target"]["name"] == "toy-good"
    assert doc["scenarios"][0]["metrics"]["delivered"] == 60
    assert doc["reference"]["asyncio_queue_items_per_s"] > 0
    assert doc["summary"]["passed"] == 1


def test_a_broken_invariant_exits_1(tmp_path: Path) -> None:
    assert _run(tmp_path, "toy_stream", "--target", "harness_toys:lossy_target") == 1
    doc = load_results(tmp_path / "results" / "latest.json")
    scenario = doc["scenarios"][0]
    assert scenario["status"] == "fail"
    lost = next(i for i in scenario["invariants"] if i["name"] == "none_lost")
    assert lost["reproduction"].startswith("stageflow-stress run toy_stream --target "
                                           "harness_toys:lossy_target --seed 3 --quick")
    assert doc["hypotheses"]["H5"]["status"] == "refuted"


def test_invalid_run_without_failures_exits_3(tmp_path: Path) -> None:
    assert _run(tmp_path, "toy_invalid", "--target", "harness_toys:good_target") == 3


def test_a_skipped_capability_alone_exits_0(tmp_path: Path) -> None:
    assert _run(tmp_path, "toy_requires", "--target", "harness_toys:good_target") == 0
    doc = load_results(tmp_path / "results" / "latest.json")
    assert doc["scenarios"][0]["status"] == "skipped"
    assert (doc["summary"]["skipped"], doc["summary"]["invalid"]) == (1, 0)


def test_a_skip_does_not_hide_an_invalid_run(tmp_path: Path) -> None:
    assert _run(tmp_path, "toy_requires", "toy_invalid", "--target",
                "harness_toys:good_target") == 3


def test_summary_table_shows_a_skip_and_the_capability(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path, "toy_requires", "--target", "harness_toys:good_target")
    out = capsys.readouterr().out
    assert "skipped" in out.split("toy_requires", 1)[1].splitlines()[0]
    assert "toy_requires: skipped: the target lacks duplex" in out


@pytest.mark.parametrize("argv, message", [
    (["no_such_scenario"], "unknown scenario 'no_such_scenario'"),
    (["--suite", "nope"], "unknown suite 'nope'"),
    (["toy_stream", "--target", "no_such_module_xyz"], "cannot import no_such_module_xyz"),
    (["toy_stream", "--target", "harness_toys:not_a_target"], "without name, version"),
    (["toy_stream", "--param", "rate_cps=-5"], "'rate_cps' must be > 0, got -5"),
    (["toy_stream", "--param", "count=0"], "'count' must be > 0, got 0"),
    (["toy_stream", "--param", "nonsense=1"], "no selected scenario has a parameter"),
    (["toy_stream", "--repeat", "0"], "--repeat must be >= 1"),
    (["toy_stream", "--timeout", "-1"], "--timeout must be > 0"),
])
def test_bad_input_exits_2_with_one_line_and_no_results(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert _run(tmp_path, *argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert _results(tmp_path) == []


def test_a_module_that_fails_to_import_exits_2(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--scenarios", "no_such_scenarios_module", "--no-ledger",
                 "--results-dir", str(tmp_path / "results")])
    assert code == 2
    assert "--scenarios no_such_scenarios_module: cannot import" in capsys.readouterr().err
    assert _results(tmp_path) == []


@pytest.mark.parametrize("what", ["results directory", "ledger"])
def test_unwritable_directory_exits_2_naming_it_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str) -> None:
    blocker = tmp_path / "file"  # nobody, root included, can make a directory inside a file
    blocker.write_text("not a directory")
    unwritable = blocker / "dir"
    if what == "results directory":
        dirs = ["--results-dir", str(unwritable), "--no-ledger"]
    else:
        dirs = ["--results-dir", str(tmp_path / "results"), "--ledger-dir", str(unwritable)]
    code = main(["run", "toy_stream", *TOYS, "--target", "harness_toys:good_target", *dirs])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{what} {unwritable}" in err
    assert err.count("\n") == 1
    assert _results(tmp_path) == []


def test_json_prints_the_results_document_on_stdout(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, "toy_stream", "--target", "harness_toys:good_target", "--json") == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["run_id"] and doc["scenarios"][0]["name"] == "toy_stream"


def test_summary_table_names_scenario_and_status(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path, "toy_stream", "--target", "harness_toys:lossy_target")
    out = capsys.readouterr().out
    assert "toy_stream" in out and "fail" in out
    assert "none_lost: 6 chunks lost" in out


def _run_with_ledgers(tmp_path: Path, *extra: str) -> int:
    return main(["run", "toy_stream", *TOYS, "--target", "harness_toys:lossy_target",
                 "--quick", "--seed", "3", "--results-dir", str(tmp_path / "results"),
                 "--ledger-dir", str(tmp_path / "ledgers"), *extra])


def test_run_says_what_the_ledger_merge_did_after_the_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_with_ledgers(tmp_path) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("findings: 1 new (BUG-001), 0 fixed")
    assert str(tmp_path / "ledgers" / "bugs.json") in last
    assert _run_with_ledgers(tmp_path) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("findings: 0 new, 1 seen again (BUG-001), 0 fixed")


def test_with_json_the_ledger_line_goes_to_stderr(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_with_ledgers(tmp_path, "--json") == 1
    captured = capsys.readouterr()
    assert orjson.loads(captured.out)["scenarios"][0]["status"] == "fail"
    assert "findings: 1 new (BUG-001)" in captured.err


def test_list_shows_the_transform007_suite_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    assert data["suites"]["transform007"]["scenarios"] == [
        "baseline", "queue_overflow", "buffer_overflow", "buffer_underrun", "high_load"]
    by_name = {s["name"]: s for s in data["scenarios"]}
    assert by_name["queue_overflow"]["hypotheses"] == ["H1", "H3", "H4", "H5"]
    assert by_name["high_load"]["category"] == "performance"


def test_list_table_shows_summaries_that_fit_80_columns(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["list", "--suite", "transform007"]) == 0
    out = capsys.readouterr().out
    assert "Producer faster than consumer" in out
    assert "BUG-038" not in out  # the rest of queue_overflow's description: list SCENARIO
    assert max(len(line) for line in out.splitlines()) <= 80
    assert len(out.splitlines()) < 60


def test_list_scenario_shows_its_full_description_and_parameters(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["list", "queue_overflow"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "must not hang the producer (BUG-038)" in out
    assert "H3: BackpressureMonitor triggers appropriately" in out
    assert "blocking_chunks: 120 / 400" in out


def test_list_json_keeps_the_full_description_beside_the_summary(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "queue_overflow", "--json"]) == 0
    (scenario,) = orjson.loads(capsys.readouterr().out)["scenarios"]
    assert scenario["summary"] == "Producer faster than consumer"
    assert scenario["description"].endswith("must not hang the producer (BUG-038).")


def test_list_unknown_scenario_exits_2_naming_the_known_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "nope"]) == 2
    assert "unknown scenario 'nope' (known: " in capsys.readouterr().err


def test_list_unknown_suite_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--suite", "nope"]) == 2
    assert "unknown suite 'nope'" in capsys.readouterr().err


def test_pyproject_scenario_modules_are_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.stageflow-stress]\nscenario_modules = ["harness_toys"]\n')
    monkeypatch.chdir(tmp_path)
    assert main(["list", "--json"]) == 0
    names = [s["name"] for s in orjson.loads(capsys.readouterr().out)["scenarios"]]
    assert "toy_stream" in names


def test_bad_pyproject_scenario_modules_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.stageflow-stress]\nscenario_modules = "harness_toys"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["list"]) == 2
    assert "scenario_modules must be a list" in capsys.readouterr().err
