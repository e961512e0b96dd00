"""Service models of a voice agent: VAD, speech-to-text, LLM, text-to-speech.

Framework-neutral: each model is a small object with async methods over plain values
(PCM bytes, text), so the same models run inside our pipeline template, a Pipecat
pipeline or a user's own (each adapter wraps them in its framework's stage type).

- :class:`VadModel`: energy VAD on the audio it is given (the speech-like test signal):
  ``"start"`` after ``start_ms`` of speech, ``"stop"`` after ``hangover_ms`` of silence.
- :class:`SttModel`: a partial transcript every ``partial_every_ms`` of speech (after a
  ``partial`` delay), the final one ``final`` after the end of speech.
- :class:`LlmModel`: first token after ``ttft``, then ``tokens_per_s``.
- :class:`TtsModel`: first audio after ``ttfb``, then audio ``speed`` times faster than
  real time (below 1: slower), in bursts of ``burst_ms``.

Delays are seeded distributions (:class:`Delay`: fixed, or log-normal from a median and
a P95). Faults (:class:`ServiceFault`): ``stall`` (a call waits ``stall_ms``, by default
until cancelled), ``slow`` (every delay times ``factor``), ``crash`` (a call raises
:class:`ServiceCrashed`), ``burst`` (outputs held ``hold_ms``, then released together),
``jitter`` (up to ``jitter_ms`` added to every delay), each inside a
:class:`~mocks.faults.FaultWindow` measured from the model's start.

Every model reports what it does as events through ``on_event(name, payload)`` (hand it
``trace.emitter``): ``service.<model>.<what>`` with ``t_ns`` and the time it spent, so a
scenario can split an end-to-end latency into the services' own delays and the rest.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mocks import _checks
from mocks._clock import sleep_until
from mocks.faults import FaultWindow
from mocks.signals import SignalSource, chunk_frames

__all__ = [
    "FAULT_KINDS",
    "Delay",
    "LlmModel",
    "ServiceCrashed",
    "ServiceFault",
    "SttModel",
    "TtsModel",
    "VadModel",
    "VoiceServices",
]

FAULT_KINDS = ("stall", "slow", "crash", "burst", "jitter")
_Z95 = 1.6448536269514722  # standard normal quantile of 0.95
OnEvent = Callable[[str, dict[str, Any]], None]


class ServiceCrashed(RuntimeError):
    """Raised by a model call when a ``crash`` fault fires."""


@dataclass(frozen=True)
class Delay:
    """A latency distribution in milliseconds: fixed at ``median_ms``, or log-normal with
    that median and ``p95_ms`` as its 95th percentile.

    :raises ValueError: negative or NaN values, ``p95_ms`` below ``median_ms``.
    """

    median_ms: float
    p95_ms: float | None = None

    def __post_init__(self) -> None:
        _checks.non_negative("median_ms", self.median_ms)
        if self.p95_ms is not None:
            _checks.non_negative("p95_ms", self.p95_ms)
            if self.p95_ms < self.median_ms:
                raise ValueError(f"p95_ms ({self.p95_ms:g}) must be >= median_ms "
                                 f"({self.median_ms:g})")

    @property
    def fixed(self) -> bool:
        """No spread: every draw is ``median_ms``."""
        return self.p95_ms is None or self.p95_ms == self.median_ms or self.median_ms == 0

    def draw(self, rng: np.random.Generator) -> float:
        """One delay in ms (no draw from ``rng`` when fixed)."""
        if self.fixed:
            return float(self.median_ms)
        assert self.p95_ms is not None
        sigma = math.log(self.p95_ms / self.median_ms) / _Z95
        return float(self.median_ms * math.exp(sigma * rng.standard_normal()))


@dataclass(frozen=True)
class ServiceFault:
    """A fault of one kind (:data:`FAULT_KINDS`) inside ``window`` (from the model's start).

    :raises ValueError: unknown kind, ``factor`` <= 0, negative ``stall_ms``,
        ``jitter_ms`` or ``hold_ms``.
    """

    kind: str
    window: FaultWindow = field(default_factory=FaultWindow.always)
    factor: float = 2.0
    """``slow``: delays are multiplied by it (TTS speed divided)."""
    stall_ms: float = math.inf
    """``stall``: how long a call waits (inf: until it is cancelled)."""
    jitter_ms: float = 5.0
    """``jitter``: uniform extra delay in [0, jitter_ms]."""
    hold_ms: float = 200.0
    """``burst``: outputs are held this long, then released together."""

    def __post_init__(self) -> None:
        _checks.one_of("kind", self.kind, FAULT_KINDS)
        _checks.positive("factor", self.factor)
        _checks.non_negative("stall_ms", self.stall_ms, allow_inf=True)
        _checks.non_negative("jitter_ms", self.jitter_ms)
        _checks.non_negative("hold_ms", self.hold_ms)


class _Model:
    """Shared by the models: seeded draws, faults, the clock and the events."""

    kind = "service"

    def __init__(self, *, seed: int, faults: Sequence[ServiceFault], on_event: OnEvent | None,
                 name: str | None) -> None:
        self.seed = _checks.integer("seed", seed, minimum=0)
        self.rng = np.random.default_rng(self.seed)
        self._fault_rng = np.random.default_rng(self.seed + 1)
        self.faults = tuple(faults)
        for fault in self.faults:
            if not isinstance(fault, ServiceFault):
                raise TypeError(f"faults must be ServiceFault, got {type(fault).__name__}")
        self.on_event = on_event
        self.name = name or self.kind
        self.start_ns = time.perf_counter_ns()
        self.calls = 0
        self.faults_fired: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)

    def restart_clock(self, start_ns: int | None = None) -> None:
        """Measure fault windows from ``start_ns`` (now when omitted)."""
        self.start_ns = time.perf_counter_ns() if start_ns is None else start_ns
        if hasattr(self, "position_ms"):
            self.position_ms = 0.0

    def _fires(self, kind: str) -> ServiceFault | None:
        now = time.perf_counter_ns()
        for fault in self.faults:
            if fault.kind == kind and fault.window.active(now, self.start_ns, self._fault_rng):
                self.faults_fired[kind] += 1
                return fault
        return None

    def _event(self, what: str, **payload: Any) -> None:
        if self.on_event is not None:
            payload.setdefault("t_ns", time.perf_counter_ns())
            self.on_event(f"service.{self.name}.{what}", payload)

    async def _enter(self) -> None:
        """Start of a call: ``crash`` raises, ``stall`` waits."""
        self.calls += 1
        if self._fires("crash") is not None:
            self._event("crashed")
            raise ServiceCrashed(f"{self.name} crashed (injected fault, call {self.calls})")
        stall = self._fires("stall")
        if stall is not None:
            self._event("stalled", stall_ms=stall.stall_ms)
            if math.isinf(stall.stall_ms):
                await asyncio.Event().wait()  # until cancelled
            await asyncio.sleep(stall.stall_ms / 1000)

    def _scaled(self, ms: float) -> float:
        slow = self._fires("slow")
        if slow is not None:
            ms *= slow.factor
        jitter = self._fires("jitter")
        if jitter is not None:
            ms += float(self._fault_rng.uniform(0.0, jitter.jitter_ms))
        return ms

    async def _wait(self, ms: float) -> float:
        """Wait ``ms`` (after slow/jitter faults) on the monotonic clock; the ms waited."""
        ms = self._scaled(ms)
        if ms <= 0:
            return 0.0
        start = time.perf_counter_ns()
        await sleep_until(start + round(ms * 1e6))
        return (time.perf_counter_ns() - start) / 1e6

    async def _hold(self) -> None:
        burst = self._fires("burst")
        if burst is not None and burst.hold_ms > 0:
            self._event("burst", hold_ms=burst.hold_ms)
            await asyncio.sleep(burst.hold_ms / 1000)


class VadModel(_Model):
    """Energy voice-activity detection over 16-bit PCM.

    A chunk is speech when its RMS exceeds ``threshold`` (fraction of full scale).
    ``detect`` returns ``"start"`` once ``start_ms`` of consecutive speech is heard,
    ``"stop"`` once ``hangover_ms`` of consecutive silence follows speech, else None;
    each call first waits ``delay`` (the model's processing time).
    """

    kind = "vad"

    def __init__(self, *, sample_rate: int = 16000, threshold: float = 0.02,
                 start_ms: float = 40.0, hangover_ms: float = 400.0,
                 delay: Delay = Delay(0.0), seed: int = 0,
                 faults: Sequence[ServiceFault] = (), on_event: OnEvent | None = None,
                 name: str | None = None) -> None:
        super().__init__(seed=seed, faults=faults, on_event=on_event, name=name)
        self.sample_rate = _checks.integer("sample_rate", sample_rate, minimum=1)
        self.threshold = _checks.non_negative("threshold", threshold)
        self.start_ms = _checks.non_negative("start_ms", start_ms)
        self.hangover_ms = _checks.non_negative("hangover_ms", hangover_ms)
        self.delay = delay
        self.speaking = False
        self.position_ms = 0.0
        """Audio fed so far: the end of the last chunk, in ms of the input stream."""
        self._speech_ms = 0.0
        self._silence_ms = 0.0

    def is_speech(self, pcm: bytes) -> bool:
        """Whether one chunk of PCM_16 audio is loud enough to be speech."""
        if not pcm:
            return False
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
        return bool(np.sqrt(np.mean(samples * samples)) > self.threshold)

    async def detect(self, pcm: bytes) -> str | None:
        """Feed one chunk; ``"start"``, ``"stop"`` or None (see the class docstring).

        The events' ``took_ms`` is the whole call: the delay and the energy measurement."""
        started = time.perf_counter_ns()
        await self._enter()
        if self.delay.median_ms:
            await self._wait(self.delay.draw(self.rng))
        ms = len(pcm) / 2 / self.sample_rate * 1000.0
        self.position_ms += ms
        speech = self.is_speech(pcm)
        took = (time.perf_counter_ns() - started) / 1e6
        if speech:
            self._speech_ms += ms
            self._silence_ms = 0.0
            if not self.speaking and self._speech_ms >= self.start_ms:
                self.speaking = True
                self._event("start", took_ms=took, position_ms=self.position_ms)
                return "start"
        else:
            self._silence_ms += ms
            self._speech_ms = 0.0
            if self.speaking and self._silence_ms >= self.hangover_ms:
                self.speaking = False
                self._event("stop", took_ms=took, position_ms=self.position_ms)
                return "stop"
        return None


class SttModel(_Model):
    """Streaming speech-to-text: partials while the user speaks, a final at the end.

    ``audio(pcm)`` counts speech; every ``partial_every_ms`` of it, it waits ``partial``
    and returns a partial transcript (else None at once). ``finish()`` waits ``final`` and
    returns the final transcript, ``"utterance <n>"``. ``reset()`` starts an utterance.
    """

    kind = "stt"

    def __init__(self, *, sample_rate: int = 16000, partial_every_ms: float = 200.0,
                 partial: Delay = Delay(20.0), final: Delay = Delay(150.0), seed: int = 0,
                 faults: Sequence[ServiceFault] = (), on_event: OnEvent | None = None,
                 name: str | None = None) -> None:
        super().__init__(seed=seed, faults=faults, on_event=on_event, name=name)
        self.sample_rate = _checks.integer("sample_rate", sample_rate, minimum=1)
        self.partial_every_ms = _checks.positive("partial_every_ms", partial_every_ms)
        self.partial = partial
        self.final = final
        self.utterances = 0
        self._heard_ms = 0.0
        self._next_partial_ms = self.partial_every_ms

    def reset(self) -> None:
        """A new utterance begins."""
        self._heard_ms = 0.0
        self._next_partial_ms = self.partial_every_ms

    async def audio(self, pcm: bytes) -> str | None:
        """Feed speech audio; a partial transcript when one is due."""
        await self._enter()
        self._heard_ms += len(pcm) / 2 / self.sample_rate * 1000.0
        if self._heard_ms < self._next_partial_ms:
            return None
        self._next_partial_ms += self.partial_every_ms
        took = await self._wait(self.partial.draw(self.rng))
        await self._hold()
        self._event("partial", took_ms=took)
        return f"utterance {self.utterances + 1} ({self._heard_ms:.0f} ms heard)"

    async def finish(self) -> str:
        """The end of speech: the final transcript, after the ``final`` delay."""
        started = time.perf_counter_ns()
        await self._enter()
        await self._wait(self.final.draw(self.rng))
        await self._hold()
        self.utterances += 1
        took = (time.perf_counter_ns() - started) / 1e6
        self._event("final", took_ms=took, start_ns=started)
        self.reset()
        return f"utterance {self.utterances}"


class LlmModel(_Model):
    """A streaming LLM: the first token after ``ttft``, then ``tokens_per_s``, for
    ``reply_tokens`` tokens."""

    kind = "llm"

    def __init__(self, *, ttft: Delay = Delay(200.0), tokens_per_s: float = 50.0,
                 reply_tokens: int = 12, seed: int = 0,
                 faults: Sequence[ServiceFault] = (), on_event: OnEvent | None = None,
                 name: str | None = None) -> None:
        super().__init__(seed=seed, faults=faults, on_event=on_event, name=name)
        self.ttft = ttft
        self.tokens_per_s = _checks.positive("tokens_per_s", tokens_per_s)
        self.reply_tokens = _checks.integer("reply_tokens", reply_tokens, minimum=1)
        self.replies = 0

    async def respond(self, prompt: str) -> AsyncIterator[str]:
        """The reply to ``prompt``, token by token (``"word "``)."""
        started = time.perf_counter_ns()
        self._event("start", prompt=prompt)
        await self._enter()
        await self._wait(self.ttft.draw(self.rng))
        await self._hold()
        self.replies += 1
        self._event("first_token", took_ms=(time.perf_counter_ns() - started) / 1e6,
                    start_ns=started)
        yield f"reply{self.replies} "
        gap_ms = 1000.0 / self.tokens_per_s
        for k in range(1, self.reply_tokens):
            await self._wait(gap_ms)
            yield f"w{k} "
        self._event("done", tokens=self.reply_tokens)


class TtsModel(_Model):
    """Streaming text-to-speech producing PCM_16 mono audio.

    Each text piece becomes ``ms_per_token`` of speech-like audio per whitespace-separated
    token, cut into ``chunk_ms`` chunks. The first piece of a reply (``first=True``) waits
    ``ttfb``; audio is then produced ``speed`` times faster than real time (0.5: half
    real-time speed), ``burst_ms`` of audio at a time.
    """

    kind = "tts"

    def __init__(self, *, sample_rate: int = 16000, ttfb: Delay = Delay(150.0),
                 speed: float = 4.0, ms_per_token: float = 240.0, chunk_ms: float = 20.0,
                 burst_ms: float = 100.0, seed: int = 0,
                 faults: Sequence[ServiceFault] = (), on_event: OnEvent | None = None,
                 name: str | None = None) -> None:
        super().__init__(seed=seed, faults=faults, on_event=on_event, name=name)
        self.sample_rate = _checks.integer("sample_rate", sample_rate, minimum=1)
        self.ttfb = ttfb
        self.speed = _checks.positive("speed", speed)
        self.ms_per_token = _checks.positive("ms_per_token", ms_per_token)
        self.chunk_ms = _checks.positive("chunk_ms", chunk_ms)
        self.burst_ms = _checks.positive("burst_ms", burst_ms)
        if chunk_frames(self.chunk_ms, self.sample_rate) < 1:
            raise ValueError(f"chunk_ms {chunk_ms!r} is shorter than one frame")
        self._voice = SignalSource("speech", sample_rate=self.sample_rate, channels=1,
                                   fmt="pcm_16", chunk_ms=self.chunk_ms, seed=self.seed)
        self.audio_ms = 0.0

    def _chunk(self) -> bytes:
        data = self._voice.next_chunk()
        # a voice never fully silent (the speech signal has pauses): keep every byte audible
        return data if any(data) else (b"\x10\x00" * (len(data) // 2))

    async def synthesize(self, text: str, *, first: bool = False) -> AsyncIterator[bytes]:
        """Audio chunks (PCM_16 mono bytes) for ``text``."""
        started = time.perf_counter_ns()
        await self._enter()
        if first:
            self._event("start", text=text)
            await self._wait(self.ttfb.draw(self.rng))
        await self._hold()
        tokens = max(1, len(text.split()))
        chunks = max(1, round(tokens * self.ms_per_token / self.chunk_ms))
        per_burst = max(1, round(self.burst_ms / self.chunk_ms))
        for k in range(chunks):
            if k and k % per_burst == 0:
                await self._wait(per_burst * self.chunk_ms / self.speed)
            chunk = self._chunk()
            if k == 0 and first:
                self._event("first_audio", took_ms=(time.perf_counter_ns() - started) / 1e6,
                            start_ns=started)
            self.audio_ms += self.chunk_ms
            yield chunk
            await asyncio.sleep(0)  # chunks arrive one by one, as from a network stream
        tail = (chunks % per_burst or per_burst) * self.chunk_ms / self.speed
        await self._wait(tail)  # the last burst's synthesis time


@dataclass
class VoiceServices:
    """The four models of one voice session, handed to a pipeline target's factory."""

    vad: VadModel
    stt: SttModel
    llm: LlmModel
    tts: TtsModel

    def restart_clock(self, start_ns: int | None = None) -> None:
        """Measure every model's fault windows from ``start_ns`` (now when omitted)."""
        start = time.perf_counter_ns() if start_ns is None else start_ns
        for model in (self.vad, self.stt, self.llm, self.tts):
            model.restart_clock(start)
