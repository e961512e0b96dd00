"""Templates: voice chat with barge-in, IoT fan-in with windows, real-time transform."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from stageflow_core import AudioChunk
from stageflow_core.templates import (
    SpeechEnded,
    TextChunk,
    Transcript,
    TumblingWindow,
    VoiceChat,
    Window,
    iot_fan_in,
    realtime_transform,
)

pytestmark = pytest.mark.timeout(10)

LOUD = b"\x00\x40" * 320  # 20 ms at 16 kHz, mono PCM_16
QUIET = bytes(640)


async def energy_vad_factory():
    state = {"speaking": False}

    async def vad(chunk: AudioChunk) -> str | None:
        loud = any(chunk.data)
        if loud and not state["speaking"]:
            state["speaking"] = True
            return "start"
        if not loud and state["speaking"]:
            state["speaking"] = False
            return "stop"
        return None

    return vad


async def stt(item):
    if isinstance(item, SpeechEnded):
        yield Transcript("hello", True, item.turn)


def make_llm(gate: asyncio.Event | None = None):
    async def llm(transcript: Transcript):
        for word in ("hi", "there"):
            if gate is not None:
                await gate.wait()
            yield word

    return llm


async def tts(text: TextChunk):
    yield AudioChunk(data=b"\x01\x00" * 1600)  # 100 ms of bot audio per piece


async def test_voice_chat_answers_a_turn_with_audio() -> None:
    chat = VoiceChat(vad=await energy_vad_factory(), stt=stt, llm=make_llm(), tts=tts)
    async with chat:
        for data in (LOUD, LOUD, QUIET):
            await chat.duplex.send_input(AudioChunk(data=data))
        async with asyncio.timeout(5):
            while chat.duplex.outbound.current_bytes < 6400:
                await asyncio.sleep(0.001)
        assert chat.duplex.read_output(20) == b"\x01\x00" * 320
    assert chat.barge_ins == 0


async def test_user_speech_during_the_reply_barges_in() -> None:
    gate = asyncio.Event()
    chat = VoiceChat(vad=await energy_vad_factory(), stt=stt, llm=make_llm(gate), tts=tts)
    chat.start()
    for data in (LOUD, QUIET):
        await chat.duplex.send_input(AudioChunk(data=data))
    gate.set()
    async with asyncio.timeout(5):
        while chat.duplex.outbound.current_bytes == 0:
            await asyncio.sleep(0.001)
    await chat.duplex.send_input(AudioChunk(data=LOUD))  # the user speaks over the bot
    async with asyncio.timeout(5):
        while chat.barge_ins == 0:
            await asyncio.sleep(0.001)
    assert chat.duplex.outbound.current_bytes == 0
    assert chat.duplex.statistics().interruptions == 1
    report = await chat.close(timeout=0.5)
    assert report.abandoned == ()


async def test_a_hang_up_mid_reply_ends_within_the_deadline() -> None:
    async def endless_llm(transcript: Transcript):
        while True:
            await asyncio.sleep(0.001)
            yield "blah"

    chat = VoiceChat(vad=await energy_vad_factory(), stt=stt, llm=endless_llm, tts=tts)
    chat.start()
    for data in (LOUD, QUIET):
        await chat.duplex.send_input(AudioChunk(data=data))
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    report = await chat.close(timeout=0.3)
    assert loop.time() - t0 < 1.0
    assert "llm" in report.cancelled
    assert chat.duplex.is_closed


@dataclass(frozen=True)
class Reading:
    sensor: int
    t_ms: float
    value: float


async def test_iot_fan_in_windows_readings_from_many_sensors() -> None:
    windows: list[Window] = []

    async def sink(window: Window) -> None:
        windows.append(window)

    pipeline = iot_fan_in(sink=sink, window_ms=100, time_ms=lambda r: r.t_ms,
                          overflow="block")
    pipeline.start()

    async def sensor(n: int) -> None:
        for k in range(10):  # readings of the same instant from every sensor, in turn
            await pipeline.put(Reading(n, k * 25.0, float(k)))
            await asyncio.sleep(0)

    await asyncio.gather(*(sensor(n) for n in range(4)))
    await pipeline.close(timeout=2)
    assert sum(len(w.items) for w in windows) == 40
    assert [w.start_ms for w in windows] == [0.0, 100.0, 200.0]
    assert all(r.t_ms < w.start_ms + 100 for w in windows for r in w.items)


async def test_tumbling_window_keeps_late_items_in_the_current_window() -> None:
    window = TumblingWindow(10, time_ms=float)
    assert await window(0) is None
    closed = await window(15)
    assert closed == Window(0.0, 10.0, (0,))
    assert await window(3) is None and window.late == 1
    assert await window.flush() == Window(10.0, 10.0, (15, 3))


async def test_realtime_transform_keeps_fresh_items_and_counts_drops() -> None:
    gate = asyncio.Event()

    async def slow_square(x: int) -> int:
        await gate.wait()
        return x * x

    pipeline = realtime_transform(slow_square, max_items=4)
    pipeline.start()
    for i in range(10):
        await pipeline.put(i)
    gate.set()
    await pipeline.close()
    out = [x async for x in pipeline]
    dropped = pipeline.statistics().stage("transform").input.dropped
    assert len(out) + dropped == 10 and dropped > 0
    assert out[-1] == 81  # the newest survives


def test_tumbling_window_refuses_a_bad_length() -> None:
    with pytest.raises(ValueError, match="length_ms"):
        TumblingWindow(0, time_ms=float)
