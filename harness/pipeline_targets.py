"""Pipeline targets: the voice pipeline under test, built around our service models.

A pipeline target is a *factory* ``factory(services, config, on_event)`` returning an
object with the :class:`VoicePipeline` protocol (docs/pipelines.md, "The pipeline target
protocol"): ``start()``, ``feed(pcm)`` (one input audio frame, fed at real-time pace),
``read_output(duration_ms)`` (what the speaker plays next, called by the harness's
real-time playout clock), ``interrupt()``, ``close(timeout)`` and ``statistics()``.
``services`` are the scenario's seeded models (:class:`mocks.services.VoiceServices`),
which the pipeline must use as its VAD, STT, LLM and TTS, so every target is measured
with the same service delays.

Built in: ``stageflow_core`` (our :class:`~stageflow_core.templates.VoiceChat`) and
``pipecat`` (a real Pipecat pipeline, :mod:`harness.pipecat_target`); a user's own with
``--target pipeline:package.module:factory``.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from harness.errors import HarnessError
from mocks.services import VoiceServices

__all__ = [
    "PIPELINE_METHODS",
    "PipelineFactory",
    "StageflowVoicePipeline",
    "VoiceConfig",
    "VoicePipeline",
    "check_pipeline",
    "load_pipeline_factory",
]

PIPELINE_METHODS = ("start", "feed", "read_output", "interrupt", "close", "statistics")
"""What a pipeline object must have (see :class:`VoicePipeline`)."""

OnEvent = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class VoiceConfig:
    """The audio session a pipeline target is built for: mono PCM_16."""

    sample_rate: int = 16000
    chunk_ms: float = 20.0
    """Input frames are this long (the microphone's period)."""
    playout_ms: float = 20.0
    """The playout clock reads this much per tick."""
    close_timeout_s: float = 1.0
    """The deadline ``close`` will be given (a target may configure its own with it)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class VoicePipeline(Protocol):
    """A voice pipeline under test (one session)."""

    async def start(self) -> None:
        """Start processing; ``feed`` follows."""

    async def feed(self, pcm: bytes) -> None:
        """One input frame (``config.chunk_ms`` of mono PCM_16 at ``config.sample_rate``).
        Called on the microphone's real-time schedule; must not wait long."""

    def read_output(self, duration_ms: float) -> bytes:
        """Up to ``duration_ms`` of the bot's audio for the speaker, oldest first; fewer or
        no bytes when there is not that much to play. Called every ``config.playout_ms``
        by the harness's real-time playout clock."""
        ...

    async def interrupt(self) -> None:
        """Stop the bot's current reply now (as a barge-in does)."""

    async def close(self, timeout: float) -> dict[str, Any] | None:
        """End the session within ``timeout`` seconds, whatever is in flight."""
        ...

    def statistics(self) -> dict[str, Any]:
        """Counters: ``dropped`` ({edge: items}), ``flushed``, ``peaks`` and ``bounds``
        ({edge: items}), ``errors`` ([{"stage", "error"}]); any key may be missing."""
        ...


PipelineFactory = Callable[[VoiceServices, VoiceConfig, OnEvent], VoicePipeline]


def check_pipeline(obj: Any, spec: str) -> VoicePipeline:
    """``obj`` if it has every method of the protocol.

    :raises HarnessError: one line naming what is missing.
    """
    missing = [name for name in PIPELINE_METHODS if not callable(getattr(obj, name, None))]
    if missing:
        raise HarnessError(
            f"pipeline target {spec!r}: factory returned {type(obj).__name__} without "
            f"{', '.join(missing)} (the pipeline protocol: {', '.join(PIPELINE_METHODS)}; "
            "see docs/pipelines.md)")
    return obj


def load_pipeline_factory(spec: str) -> PipelineFactory:
    """Resolve ``package.module:factory`` to a factory that checks what it builds.

    The factory is tried once here (with default services, never started), so a factory
    that builds something without the protocol's methods is refused before any run.

    :raises HarnessError: unimportable module, no such callable, the factory raised,
        or what it returned lacks methods of the protocol.
    """
    module_name, sep, factory_name = spec.partition(":")
    if not sep or not module_name or not factory_name:
        raise HarnessError(f"pipeline target {spec!r}: expected package.module:factory")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise HarnessError(f"pipeline target {spec!r}: cannot import {module_name}: "
                           f"{type(exc).__name__}: {exc}") from None
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise HarnessError(f"pipeline target {spec!r}: {module_name} has no callable "
                           f"{factory_name!r}")

    def build(services: VoiceServices, config: VoiceConfig, on_event: OnEvent) -> VoicePipeline:
        try:
            made = factory(services, config, on_event)
        except Exception as exc:
            raise HarnessError(f"pipeline target {spec!r}: {factory_name}() raised "
                               f"{type(exc).__name__}: {exc}") from None
        return check_pipeline(made, spec)

    build(default_services(), VoiceConfig(), lambda _name, _payload: None)
    return build


def default_services(seed: int = 0) -> VoiceServices:
    """Models with their default delays (used to try a factory once)."""
    from mocks.services import LlmModel, SttModel, TtsModel, VadModel

    return VoiceServices(vad=VadModel(seed=seed), stt=SttModel(seed=seed),
                         llm=LlmModel(seed=seed), tts=TtsModel(seed=seed))


# -- ours: the VoiceChat template ----------------------------------------------------------

class StageflowVoicePipeline:
    """Our :class:`~stageflow_core.templates.VoiceChat` with the service models as its
    stage functions."""

    def __init__(self, services: VoiceServices, config: VoiceConfig, on_event: OnEvent,
                 *, module: Any = None) -> None:
        import stageflow_core
        from stageflow_core import templates

        core = module or stageflow_core
        self._core = core
        self._services = services
        self._config = config
        self._on_event = on_event
        duplex = core.StreamingAudioDuplex(
            sample_rate=config.sample_rate, inbound_max_chunks=50,
            inbound_overflow="drop_oldest", event_emitter=on_event)
        self._chat = templates.VoiceChat(
            vad=self._vad, stt=self._stt, llm=self._llm, tts=self._tts, duplex=duplex,
            on_audio=self._written, event_emitter=on_event)
        self._tts_turn = -1
        self._stt_turn = 0

    # the service models as stage functions
    async def _vad(self, chunk: Any) -> str | None:
        return await self._services.vad.detect(chunk.data)

    async def _stt(self, item: Any) -> AsyncIterator[Any]:
        from stageflow_core.templates import SpeechEnded, SpeechStarted, Transcript

        stt = self._services.stt
        if isinstance(item, SpeechStarted):
            stt.reset()
            self._stt_turn = item.turn
        elif isinstance(item, SpeechEnded):
            yield Transcript(await stt.finish(), True, item.turn)
        else:
            partial = await stt.audio(item.data)
            if partial is not None:
                yield Transcript(partial, False, self._stt_turn)

    async def _llm(self, transcript: Any) -> AsyncIterator[str]:
        async for token in self._services.llm.respond(transcript.text):
            yield token

    async def _tts(self, text: Any) -> AsyncIterator[Any]:
        first = text.turn != self._tts_turn
        self._tts_turn = text.turn
        async for pcm in self._services.tts.synthesize(text.text, first=first):
            yield self._core.AudioChunk(data=pcm, sample_rate=self._config.sample_rate)

    def _written(self, chunk: Any, trimmed: int) -> None:
        self._on_event("voice.audio_written",
                       {"t_ns": time.perf_counter_ns(), "nbytes": len(chunk.data),
                        "trimmed": trimmed})

    # the protocol
    async def start(self) -> None:
        self._chat.start()

    async def feed(self, pcm: bytes) -> None:
        self._chat.duplex.send_input_nowait(
            self._core.AudioChunk(data=pcm, sample_rate=self._config.sample_rate))

    def read_output(self, duration_ms: float) -> bytes:
        return self._chat.duplex.read_output(duration_ms)

    async def interrupt(self) -> None:
        self._chat.interrupt()

    async def close(self, timeout: float) -> dict[str, Any]:
        report = await self._chat.close(timeout=timeout)
        return {"drained": report.drained, "cancelled": list(report.cancelled),
                "abandoned": list(report.abandoned), "took_ms": report.took_ms}

    def statistics(self) -> dict[str, Any]:
        stats = self._chat.pipeline.statistics()
        duplex = self._chat.duplex.statistics()
        edges = {s.name: s.input for s in stats.stages}
        return {
            "dropped": {name: q.dropped for name, q in edges.items()},
            "flushed": {s.name: s.flushed for s in stats.stages},
            "peaks": {name: q.peak_size for name, q in edges.items()},
            "bounds": {name: q.max_size for name, q in edges.items()},
            "errors": [{"stage": e.stage, "error": f"{type(e.error).__name__}: {e.error}"}
                       for e in stats.errors],
            "busy_ms": {s.name: round(s.busy_ms, 3) for s in stats.stages},
            "items_in": {s.name: s.items_in for s in stats.stages},
            "barge_ins": self._chat.barge_ins,
            "playout_peak_ms": round(duplex.outbound.peak_duration_ms, 3),
            "playout_cleared_bytes": duplex.outbound.total_cleared,
            "state": stats.state,
        }


def stageflow_voice(services: VoiceServices, config: VoiceConfig,
                    on_event: OnEvent) -> VoicePipeline:
    """The factory of the built-in ``stageflow_core`` pipeline target."""
    return StageflowVoicePipeline(services, config, on_event)


# -- pipeline-only targets -----------------------------------------------------------------

class PipelineTarget:
    """A target that is a voice pipeline only: the queue and buffer scenarios skip it
    (``CapabilityMissing``), the voice scenarios build its pipeline per run."""

    closed_errors: tuple[type[BaseException], ...] = ()
    parts = frozenset({"pipeline"})

    def __init__(self, *, name: str, version: str, factory: PipelineFactory,
                 semantics: Any = None) -> None:
        import asyncio

        from harness.contract import Semantics
        from harness.targets import Capabilities

        self.name = name
        self.version = version
        self.capabilities = Capabilities(pipeline=True)
        self.semantics = semantics if semantics is not None else Semantics()
        """What the pipeline declares (``pipeline.*`` clauses), for judging its findings."""
        self.full_errors: tuple[type[BaseException], ...] = (asyncio.QueueFull,)
        self.make_voice_pipeline = factory

    def _missing(self, what: str) -> Any:
        from harness.targets import CapabilityMissing

        raise CapabilityMissing(what, self.name)

    def make_queue(self, *_: Any, **__: Any) -> Any:
        return self._missing("queue")

    def make_buffer(self, *_: Any, **__: Any) -> Any:
        return self._missing("buffer")

    def make_chunk(self, *_: Any, **__: Any) -> Any:
        return self._missing("chunk")

    def make_duplex(self, **_: Any) -> Any:
        return self._missing("duplex")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version,
                "capabilities": self.capabilities.as_dict(),
                "semantics": self.semantics.as_list()}


def load_pipeline_target(spec: str) -> PipelineTarget:
    """``pipecat`` or ``pipeline:package.module:factory`` as a target.

    :raises HarnessError: pipecat-ai not installed (the ``pipecat`` extra), or the user's
        factory cannot be loaded or builds something without the protocol's methods.
    """
    if spec == "pipecat":
        from harness.pipecat_target import PIPECAT_SEMANTICS, pipecat_factory, pipecat_version

        return PipelineTarget(name="pipecat", version=pipecat_version(),
                              factory=pipecat_factory(), semantics=PIPECAT_SEMANTICS)
    user = spec.removeprefix("pipeline:")
    factory = load_pipeline_factory(user)
    module = importlib.import_module(user.partition(":")[0])
    version = str(getattr(module, "__version__", "unknown"))
    return PipelineTarget(name=spec, version=version, factory=factory,
                          semantics=getattr(module, "SEMANTICS", None))
