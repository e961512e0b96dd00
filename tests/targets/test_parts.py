"""Parts are independent; what a target lacks is asked, not crashed on; bad targets are one
line (exit 2) before any scenario runs."""

from __future__ import annotations

import dataclasses

import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.targets import (
    BUILTIN_TARGETS,
    CapabilityMissing,
    Chunk,
    load_target,
    missing_requirements,
)

pytestmark = pytest.mark.timeout(60)


def test_a_queue_only_target_has_a_queue_and_nothing_else() -> None:
    target = load_target("target_fixtures:queue_only")
    assert target.parts == frozenset({"queue"})
    assert target.has("queue") and not target.has("buffer") and not target.has("chunk")
    with pytest.raises(CapabilityMissing) as missing:
        target.make_buffer(target_duration_ms=20, max_duration_ms=100, sample_rate=16_000,
                           channels=1)
    assert missing.value.capability == "part:buffer"
    for make, part in ((target.make_duplex, "duplex"), (target.make_pipeline, "pipeline")):
        with pytest.raises(CapabilityMissing, match=f"part:{part}"):
            make()


def test_without_a_chunk_part_chunks_are_the_harness_record() -> None:
    chunk = load_target("target_fixtures:queue_only").make_chunk(
        b"\1\2", sample_rate=8_000, channels=1, sequence=7)
    assert chunk == Chunk(b"\1\2", 8_000, 1, "pcm_16", 0.0, 7)


def test_missing_requirements_asks_parts_policies_and_capabilities() -> None:
    target = load_target("target_fixtures:queue_only")
    assert missing_requirements(target, ("part:queue", "part:buffer", "overflow:block",
                                         "overflow:drop_oldest", "close", "get_nowait")) == \
        ["part:buffer", "overflow:drop_oldest", "close"]


@pytest.mark.parametrize(("factory", "words"), [
    ("closeless", "its queue has no 'close' (declared by capability 'close')"),
    ("no_buffer_maker", "declares part 'buffer', but make_buffer() raised CapabilityMissing"),
])
def test_a_declared_part_without_what_it_needs_is_one_line(factory: str, words: str) -> None:
    with pytest.raises(HarnessError) as error:
        load_target(f"target_fixtures:{factory}")
    assert words in str(error.value)
    assert "\n" not in str(error.value)


def test_the_cli_refuses_it_before_any_scenario_runs(
        tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "baseline", "--target", "target_fixtures:closeless", "--quick",
                 "--no-ledger", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "'close'" in err
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written


def test_a_builtin_whose_package_is_missing_names_the_extra(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    absent = dataclasses.replace(BUILTIN_TARGETS["anyio"], distribution="no-such-dist-xyz")
    monkeypatch.setitem(BUILTIN_TARGETS, "anyio", absent)
    code = main(["fuzz", "--target", "anyio", "--no-ledger"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "pip install 'stageflow-stress[targets]'" in err


def test_livekit_needs_only_its_channel_file() -> None:
    if not BUILTIN_TARGETS["livekit"].installed():
        pytest.skip(BUILTIN_TARGETS["livekit"].install)
    target = load_target("livekit")
    assert target.channel.Chan.__module__ in ("livekit.agents.utils.aio.channel",
                                              "stageflow_stress_livekit_channel")
    assert target.version == "1.8.9"


def test_a_scenario_that_needs_an_end_of_stream_skips_a_queue_without_close() -> None:
    from harness.runner import run_scenario
    from scenarios.registry import get_scenario

    entry = run_scenario(get_scenario("baseline"), load_target("target_fixtures:queue_only"),
                         quick=True, seed=1)
    assert entry["status"] in ("skipped", "invalid")  # invalid: a machine too busy to keep up
    assert [s["capability"] for s in entry["skipped"]] == ["close"]
    assert entry["error"] is None
    assert all(v["passed"] for v in entry["invariants"]), entry["invariants"]
