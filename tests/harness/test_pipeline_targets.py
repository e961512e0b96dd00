"""Pipeline targets: the protocol check, the voice scenarios against ours and a user's."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.runner import run_scenario
from harness.targets import load_target
from scenarios.registry import get_scenario

pytestmark = pytest.mark.timeout(60)


def _verdicts(entry: dict) -> dict[str, dict]:
    return {v["name"]: v for v in entry["invariants"]}


def test_a_factory_without_the_protocol_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(HarnessError) as caught:
        load_target("pipeline:pipeline_toys:incomplete")
    message = str(caught.value)
    assert "\n" not in message
    assert "without read_output, interrupt, statistics" in message


def test_the_cli_exits_2_on_an_incomplete_pipeline(tmp_path: Path, capsys) -> None:
    code = main(["run", "voice_latency", "--quick", "--no-ledger", "--target",
                 "pipeline:pipeline_toys:incomplete", "--results-dir", str(tmp_path)])
    assert code == 2
    assert "read_output" in capsys.readouterr().err


def test_a_pipeline_only_target_skips_the_queue_scenarios() -> None:
    target = load_target("pipeline:pipeline_toys:ours")
    entry = run_scenario(get_scenario("baseline"), target, quick=True, seed=1)
    assert entry["status"] == "skipped"


def test_voice_latency_against_ours_reports_voice_to_voice_and_its_breakdown() -> None:
    target = load_target("stageflow_core")
    entry = run_scenario(get_scenario("voice_latency"), target, quick=True, seed=1)
    assert entry["status"] == "pass", entry["invariants"]
    notes = entry["metrics"]["notes"]
    assert entry["metrics"]["latency_ms"]["count"] == entry["params"]["turns"]
    v2v, services = notes["v2v_ms"], notes["services_ms"]
    assert v2v["p50"] >= services["p50"]  # never below the services' own delays
    assert notes["vad_ms"]["p50"] == pytest.approx(entry["params"]["vad_hangover_ms"], abs=20)
    assert {"hops_ms", "playout_wait_ms", "stt_ms", "llm_ttft_ms", "tts_ttfb_ms"} <= set(notes)


def test_barge_in_response_is_split_into_the_machine_and_the_pipeline() -> None:
    target = load_target("stageflow_core")
    entry = run_scenario(get_scenario("voice_barge_in"), target, quick=True, seed=1)
    notes = entry["metrics"]["notes"]
    spoken_over = notes["barge_ins_over_speech"]
    assert spoken_over > 0
    # ours reports the playout cleared (stream.playback_interrupted): every barge-in has
    # its pipeline share, and the speaker is never silent before the pipeline cleared it
    assert notes["cleared_ms"]["count"] == notes["mic_late_ms"]["count"] == spoken_over
    assert notes["cleared_ms"]["max"] <= notes["response_ms"]["max"]
    assert notes["interrupt_ms"]["count"] == spoken_over
    assert notes["interrupt_ms"]["max"] <= notes["cleared_ms"]["max"]
    assert notes["loop_lag_ms"]["count"] == notes["speaker_late_ms"]["count"] == spoken_over
    assert notes["speaker_late_ms"]["p50"] >= 0  # a tick is never read before it is due
    quiet = notes["response_ms_quiet"]
    assert quiet is None or quiet["count"] <= spoken_over


def test_an_injected_crash_is_reported_with_the_stage_and_the_session_ends() -> None:
    target = load_target("stageflow_core")
    entry = run_scenario(get_scenario("voice_stage_crash"), target, quick=True, seed=1)
    verdicts = _verdicts(entry)
    assert verdicts["stage_error_reported[llm]"]["passed"], verdicts
    assert verdicts["shutdown_within_deadline"]["passed"]
    assert "stage 'llm' raised ServiceCrashed" in verdicts["stage_error_reported[llm]"]["detail"]


def test_a_user_stage_that_raises_is_a_finding_naming_the_stage() -> None:
    target = load_target("pipeline:pipeline_toys:broken_tts")
    entry = run_scenario(get_scenario("voice_latency"), target, quick=True, seed=1,
                         overrides={"turns": 1})
    assert entry["status"] == "fail"
    verdicts = _verdicts(entry)
    assert verdicts["shutdown_within_deadline"]["passed"]
    detail = verdicts["no_stage_error"]["detail"]
    assert "stage 'tts' raised ValueError: voice not found" in detail


def test_a_real_pipecat_pipeline_runs_the_voice_suite_and_ends_in_time() -> None:
    pytest.importorskip("pipecat", reason="the pipecat extra is not installed")
    target = load_target("pipecat")
    assert target.version == "1.14.0"
    entry = run_scenario(get_scenario("voice_shutdown"), target, quick=True, seed=1)
    verdicts = _verdicts(entry)
    assert verdicts["shutdown_within_deadline"]["passed"], verdicts
    assert entry["metrics"]["notes"]["ticks_with_bot_audio_before_hang_up"] > 0


@pytest.mark.parametrize(("semantics", "verdict"), [
    ("pipecat", "withdrawn"),   # declares the chunk being written is still played
    ("ours", "bug"),            # declares every queued chunk is discarded
    ("none", "improvement"),    # silent: our recommendation only
])
def test_a_slow_barge_in_is_judged_by_what_the_pipeline_declares(semantics: str,
                                                                  verdict: str) -> None:
    from harness.contract import Semantics
    from harness.defects import DefectKey, judge
    from harness.pipecat_target import PIPECAT_SEMANTICS
    from harness.targets import BUILTIN_SEMANTICS

    declared = {"pipecat": PIPECAT_SEMANTICS, "ours": BUILTIN_SEMANTICS["stageflow_core"],
                "none": Semantics()}[semantics]
    key = DefectKey("Pipeline", "interrupt (bot speaking)", "silenced")
    assert judge(key, declared).verdict == verdict


def test_edges_over_their_bound_are_a_bug_whatever_is_declared() -> None:
    from harness.defects import DefectKey, judge

    assert judge(DefectKey("Pipeline", "edges", "bounds")).verdict == "bug"


def test_pipecats_declarations_are_quoted_from_its_own_files() -> None:
    pytest.importorskip("pipecat", reason="the pipecat extra is not installed")
    import importlib.util
    from pathlib import Path

    from harness.pipecat_target import PIPECAT_SEMANTICS

    root = Path(next(iter(importlib.util.find_spec("pipecat").submodule_search_locations)))
    for clause in PIPECAT_SEMANTICS:
        decl = PIPECAT_SEMANTICS[clause]
        text = " ".join((root.parent / decl.where.split(",")[0]).read_text().split())
        for fragment in decl.quote.split(" ... "):
            assert " ".join(fragment.split()) in text, (clause, fragment)


def test_slow_hops_are_an_improvement_never_a_bug() -> None:
    from harness.defects import DefectKey, judge
    from harness.pipecat_target import PIPECAT_SEMANTICS

    key = DefectKey("Pipeline", "hops", "overhead")
    assert judge(key, PIPECAT_SEMANTICS).verdict == "improvement"
