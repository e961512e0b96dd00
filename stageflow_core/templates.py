"""Pipeline templates: voice chat with barge-in, IoT fan-in, real-time transform.

Each template wires a :class:`~stageflow_core.pipeline.Pipeline` from your stage
functions, with bounded edges sized and policied for its use; see docs/pipelines.md for
runnable examples.

- :class:`VoiceChat`: mic -> VAD -> speech-to-text -> LLM -> text-to-speech -> speaker,
  through a :class:`~stageflow_core.duplex.StreamingAudioDuplex`. When the VAD reports
  that the user started speaking while the bot is responding, the template interrupts:
  the LLM and TTS edges are flushed, their work in flight cancelled and the playback
  buffer cleared, in one call.
- :func:`iot_fan_in`: N sensors -> aggregate -> tumbling windows -> sink.
- :func:`realtime_transform`: source -> transform -> sink, dropping the oldest input
  when the transform falls behind (freshness first).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from stageflow_core.audio import AudioChunk
from stageflow_core.duplex import StreamingAudioDuplex
from stageflow_core.events import EventEmitter
from stageflow_core.pipeline import InterruptReport, Pipeline, ShutdownReport, Stage

__all__ = [
    "SpeechEnded",
    "SpeechStarted",
    "TextChunk",
    "Transcript",
    "TumblingWindow",
    "VoiceChat",
    "Window",
    "iot_fan_in",
    "realtime_transform",
]


# -- voice chat ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The VAD heard the user start speaking (turn ``turn``)."""

    turn: int


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """The VAD decided the user stopped speaking (turn ``turn``)."""

    turn: int


@dataclass(frozen=True, slots=True)
class Transcript:
    """Text recognised in turn ``turn``; ``final`` once the utterance is complete."""

    text: str
    final: bool
    turn: int


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A piece of the bot's reply to turn ``turn``, on its way to speech synthesis."""

    text: str
    turn: int


VadFunction = Callable[[AudioChunk], Awaitable[str | None]]
"""``await vad(chunk)`` -> ``"start"`` (speech began), ``"stop"`` (speech ended) or None."""
SttFunction = Callable[[Any], AsyncIterator[Transcript]]
"""An async generator over ``AudioChunk`` / ``SpeechStarted`` / ``SpeechEnded`` items,
yielding :class:`Transcript` (partials, then a final one after ``SpeechEnded``)."""
LlmFunction = Callable[[Transcript], AsyncIterator[str]]
"""An async generator: the final transcript in, the reply's text pieces out."""
TtsFunction = Callable[[TextChunk], AsyncIterator[AudioChunk]]
"""An async generator: a piece of reply text in, audio chunks (session format) out."""


class VoiceChat:
    """A voice agent's pipeline with barge-in, built on a :class:`StreamingAudioDuplex`.

    Stages (names in quotes, the edges' defaults in brackets)::

        duplex.inbound -> "vad" [mic, the duplex's queue] -> "stt" [64, drop_oldest]
          -> "llm" [8, block] -> "tts" [64, drop_oldest] -> "speaker" [64, block]
          -> duplex.outbound (read it with duplex.read_output on the playout clock)

    The capture side calls ``duplex.send_input(chunk)``; the speaker side calls
    ``duplex.read_output(20)`` every 20 ms. The VAD stage forwards audio to the STT only
    while the user speaks, plus ``SpeechStarted``/``SpeechEnded`` markers; only final
    transcripts reach the LLM. Barge-in: a ``"start"`` from the VAD while the bot is
    responding (LLM or TTS busy or queued, or playback pending) calls
    :meth:`interrupt`. ``on_audio(chunk, trimmed_bytes)``, when given, is called after
    each chunk written to the playback buffer.

    :raises TypeError, ValueError: as :class:`Stage` and :class:`StreamingAudioDuplex`.
    """

    def __init__(
        self,
        *,
        vad: VadFunction,
        stt: SttFunction,
        llm: LlmFunction,
        tts: TtsFunction,
        duplex: StreamingAudioDuplex | None = None,
        stt_max_chunks: int = 64,
        llm_max_items: int = 8,
        tts_max_items: int = 64,
        speaker_max_chunks: int = 64,
        speaker_overflow: str = "block",
        on_audio: Callable[[AudioChunk, int], None] | None = None,
        event_emitter: EventEmitter | None = None,
    ) -> None:
        self.duplex = duplex if duplex is not None else StreamingAudioDuplex(
            event_emitter=event_emitter)
        self._vad = vad
        self._llm = llm
        self._on_audio = on_audio
        self._turn = 0
        self._in_speech = False
        self.barge_ins = 0
        """Interruptions triggered by the user speaking over the bot."""
        self.pipeline = Pipeline(
            [
                Stage("vad", self._vad_stage),
                Stage("stt", stt, max_size=stt_max_chunks, overflow="drop_oldest"),
                Stage("llm", self._llm_stage, max_size=llm_max_items),
                Stage("tts", tts, max_size=tts_max_items, overflow="drop_oldest"),
                Stage("speaker", self._speaker_stage, max_size=speaker_max_chunks,
                      overflow=speaker_overflow),
            ],
            source=self.duplex.inbound,
            output_size=1,
            playout=self.duplex,
            event_emitter=event_emitter,
        )

    async def _vad_stage(self, chunk: AudioChunk) -> AsyncIterator[Any]:
        decision = await self._vad(chunk)
        if decision == "start" and not self._in_speech:
            self._in_speech = True
            self._turn += 1
            if self.responding():
                self.barge_ins += 1
                self.interrupt()
            yield SpeechStarted(self._turn)
        if self._in_speech:
            yield chunk
        if decision == "stop" and self._in_speech:
            self._in_speech = False
            yield SpeechEnded(self._turn)

    async def _llm_stage(self, transcript: Transcript) -> AsyncIterator[TextChunk]:
        if not transcript.final:
            return
        async for text in self._llm(transcript):
            yield TextChunk(text, transcript.turn)

    async def _speaker_stage(self, chunk: AudioChunk) -> None:
        trimmed = self.duplex.write_output(chunk)
        if self._on_audio is not None:
            self._on_audio(chunk, trimmed)

    def responding(self) -> bool:
        """Whether the bot is responding: LLM/TTS/speaker work queued or in flight, or
        playback pending."""
        # counters only: this runs between the user speaking and the speaker going silent
        return self.pipeline.is_busy("llm") or self.duplex.outbound.current_bytes > 0

    def interrupt(self) -> InterruptReport:
        """Stop the bot's reply now: flush the LLM, TTS and speaker edges, cancel their
        work in flight and clear the playback buffer."""
        return self.pipeline.interrupt("llm")

    def start(self) -> None:
        """Start the stages (from a running event loop)."""
        self.pipeline.start()

    async def close(self, *, drain: bool = False, timeout: float = 1.0) -> ShutdownReport:
        """End the session within ``timeout`` seconds: by default cancel the reply in
        progress (a hang-up), with ``drain`` finish it first. Then the duplex is closed."""
        report = await self.pipeline.close(drain=drain, timeout=timeout)
        self.duplex.close_nowait()
        return report

    async def __aenter__(self) -> VoiceChat:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


# -- IoT fan-in ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Window:
    """The items of one tumbling window ``[start_ms, start_ms + length_ms)``."""

    start_ms: float
    length_ms: float
    items: tuple[Any, ...]


class TumblingWindow:
    """A stage function grouping items into fixed, back-to-back windows by their time.

    ``time_ms(item)`` gives an item's time; an item at or past the current window's end
    closes it (emitted as a :class:`Window`) and opens the window it falls in (empty
    windows in between are not emitted). An item older than the current window (its
    window was already emitted: sensors are not in lockstep) joins the current window
    and is counted in ``late`` — never dropped. :meth:`flush` emits the last, partial
    window at end of stream (give it to the stage as ``finish``).

    :raises ValueError: ``length_ms`` <= 0.
    """

    def __init__(self, length_ms: float, *, time_ms: Callable[[Any], float]) -> None:
        if not length_ms > 0:
            raise ValueError(f"length_ms must be > 0, got {length_ms!r}")
        self.length_ms = float(length_ms)
        self._time_ms = time_ms
        self._start: float | None = None
        self._items: list[Any] = []
        self.late = 0
        """Items that arrived after their window was emitted (put in the current one)."""

    async def __call__(self, item: Any) -> Window | None:
        t = float(self._time_ms(item))
        if self._start is None:
            self._start = t - t % self.length_ms
        if t < self._start:
            self.late += 1  # its window is gone: it joins the current one
            self._items.append(item)
            return None
        closed = None
        if t >= self._start + self.length_ms:
            closed = self._emit()
            self._start = t - t % self.length_ms
        self._items.append(item)
        return closed

    def _emit(self) -> Window | None:
        if not self._items or self._start is None:
            return None
        window = Window(self._start, self.length_ms, tuple(self._items))
        self._items = []
        return window

    async def flush(self) -> Window | None:
        """The last, partial window (None when empty)."""
        return self._emit()


async def _identity(item: Any) -> Any:
    return item


def iot_fan_in(
    *,
    sink: Callable[[Window], Awaitable[Any]],
    window_ms: float,
    time_ms: Callable[[Any], float],
    aggregate: Callable[[Any], Awaitable[Any]] | None = None,
    max_readings: int = 1024,
    overflow: str = "drop_oldest",
    event_emitter: EventEmitter | None = None,
) -> Pipeline:
    """N sensors -> ``aggregate`` -> tumbling windows of ``window_ms`` -> ``sink``.

    Every sensor task feeds the same input with ``await pipeline.put(reading)`` (a
    ``ChunkQueue`` takes many producers); ``aggregate`` (default: pass through) validates
    or normalises one reading, returning None to discard it; ``time_ms(reading)`` places
    it in a window; ``sink(window)`` stores or sends each window. The input edge holds
    ``max_readings`` and, by default, drops the oldest reading when the pipeline falls
    behind (counted and reported); pass ``overflow="block"`` to slow the sensors instead.
    ``close()`` (drain) emits the last partial window.
    """
    window = TumblingWindow(window_ms, time_ms=time_ms)
    return Pipeline(
        [
            Stage("aggregate", aggregate or _identity, max_size=max_readings,
                  overflow=overflow),
            Stage("window", window, max_size=max_readings, finish=window.flush),
            Stage("sink", sink, max_size=64),
        ],
        output_size=1,
        event_emitter=event_emitter,
    )


# -- real-time transform ------------------------------------------------------------------

def realtime_transform(
    transform: Callable[[Any], Awaitable[Any]] | Callable[[Any], AsyncIterator[Any]],
    *,
    sink: Callable[[Any], Awaitable[Any]] | None = None,
    max_items: int = 32,
    overflow: str = "drop_oldest",
    output_size: int = 64,
    event_emitter: EventEmitter | None = None,
) -> Pipeline:
    """source -> ``transform`` -> ``sink``.

    Feed it with ``put``; without ``sink`` read the results with ``get`` / ``async for``.
    The input edge holds ``max_items`` and by default drops the oldest item when the
    transform falls behind, so the output stays fresh (every drop counted and reported).
    """
    stages = [Stage("transform", transform, max_size=max_items, overflow=overflow)]
    if sink is not None:
        stages.append(Stage("sink", sink, max_size=max_items))
    return Pipeline(stages, output_size=output_size, event_emitter=event_emitter)
