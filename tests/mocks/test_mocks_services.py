"""Service models: seeded delays, VAD on the speech-like signal, STT/LLM/TTS pacing, faults."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from mocks.faults import FaultWindow
from mocks.services import (
    Delay,
    LlmModel,
    ServiceCrashed,
    ServiceFault,
    SttModel,
    TtsModel,
    VadModel,
)
from mocks.signals import SignalSource

pytestmark = pytest.mark.timeout(10)


def test_a_fixed_delay_never_draws() -> None:
    rng = np.random.default_rng(0)
    assert [Delay(30.0).draw(rng) for _ in range(3)] == [30.0, 30.0, 30.0]


def test_a_lognormal_delay_has_its_median_and_p95_and_replays_by_seed() -> None:
    draws = np.array([Delay(100.0, 300.0).draw(np.random.default_rng(7)) for _ in range(1)])
    again = np.array([Delay(100.0, 300.0).draw(np.random.default_rng(7)) for _ in range(1)])
    assert draws.tolist() == again.tolist()
    rng = np.random.default_rng(1)
    many = np.array([Delay(100.0, 300.0).draw(rng) for _ in range(20_000)])
    assert 95 < np.median(many) < 105
    assert 280 < np.percentile(many, 95) < 320


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"median_ms": -1.0}, "median_ms"),
    ({"median_ms": 10.0, "p95_ms": 5.0}, "p95_ms"),
])
def test_bad_delays_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Delay(**kwargs)


def test_bad_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        ServiceFault("explode")


async def test_vad_starts_on_speech_and_stops_after_the_hangover() -> None:
    events: list[str] = []
    vad = VadModel(start_ms=40, hangover_ms=100, on_event=lambda n, p: events.append(n))
    speech = SignalSource("tone", sample_rate=16000, channels=1, fmt="pcm_16", chunk_ms=20)
    decisions = [await vad.detect(speech.next_chunk()) for _ in range(3)]
    decisions += [await vad.detect(bytes(640)) for _ in range(5)]
    assert decisions == [None, "start", None, None, None, None, None, "stop"]
    assert events == ["service.vad.start", "service.vad.stop"]


async def test_stt_gives_partials_while_speaking_and_a_final_after() -> None:
    stt = SttModel(partial_every_ms=40, partial=Delay(1.0), final=Delay(5.0))
    outputs = [await stt.audio(bytes(640)) for _ in range(4)]
    assert [o is not None for o in outputs] == [False, True, False, True]
    t0 = time.perf_counter()
    assert await stt.finish() == "utterance 1"
    assert time.perf_counter() - t0 >= 0.005


async def test_llm_paces_tokens_after_the_first() -> None:
    llm = LlmModel(ttft=Delay(10.0), tokens_per_s=200.0, reply_tokens=5)
    t0 = time.perf_counter()
    stamps = []
    async for _token in llm.respond("hi"):
        stamps.append(time.perf_counter() - t0)
    assert len(stamps) == 5
    assert stamps[0] >= 0.010
    assert stamps[-1] - stamps[0] >= 4 * 0.005


async def test_tts_produces_audio_faster_than_real_time_in_bursts() -> None:
    tts = TtsModel(ttfb=Delay(5.0), speed=4.0, ms_per_token=100.0, chunk_ms=20.0,
                   burst_ms=40.0)
    t0 = time.perf_counter()
    chunks = [c async for c in tts.synthesize("a b", first=True)]
    took = time.perf_counter() - t0
    assert len(chunks) == 10 and all(len(c) == 640 and any(c) for c in chunks)
    assert 0.055 <= took < 0.2  # 5 ms TTFB + 200 ms of audio at 4x real time


async def test_a_crash_fault_raises_inside_its_window() -> None:
    llm = LlmModel(ttft=Delay(0.0), faults=[ServiceFault("crash", FaultWindow(0, 1e6))])
    with pytest.raises(ServiceCrashed, match="llm crashed"):
        async for _ in llm.respond("x"):
            pass
    assert llm.faults_fired["crash"] == 1


async def test_a_stall_fault_waits_until_cancelled() -> None:
    stt = SttModel(faults=[ServiceFault("stall")])
    task = asyncio.ensure_future(stt.finish())
    await asyncio.sleep(0.02)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_slow_fault_multiplies_the_delay() -> None:
    stt = SttModel(final=Delay(10.0), faults=[ServiceFault("slow", factor=3.0)])
    t0 = time.perf_counter()
    await stt.finish()
    assert time.perf_counter() - t0 >= 0.030
