"""The ``pipecat`` pipeline target: a real Pipecat pipeline around our service models.

The pipeline is Pipecat's own: a ``Pipeline`` of an input transport, our VAD, STT, LLM
and TTS models as ``FrameProcessor``s, and an output transport, run by Pipecat's
``PipelineWorker`` under its ``WorkerRunner``. Input audio is pushed as
``InputAudioRawFrame``s through the input transport at real-time pace; the output
transport's own ``MediaSender`` buffers and paces the bot's audio and writes it, chunk by
chunk, to a *device*: a sound-card buffer of one playout chunk that the harness's playout
clock reads, and whose writes wait while it is full, as a real device's do. A barge-in
is Pipecat's: the VAD processor calls ``broadcast_interruption()`` when the user starts
speaking.

Installed with the ``pipecat`` extra (``pip install '.[pipecat]'``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import time
import warnings
from typing import Any

from harness.contract import Declaration, Semantics
from harness.errors import HarnessError

__all__ = ["PIPECAT_SEMANTICS", "pipecat_factory", "pipecat_version"]

_HINT = "install the pipecat extra: pip install '.[pipecat]'"

PIPECAT_SEMANTICS = Semantics([
    Declaration("pipeline.barge_in", "play_current_write",
                where="pipecat/transports/base_output.py, MediaSender.handle_interruptions",
                quote="Keep the audio task running but drain all interruptible frames, so ... "
                      "the frame being written and the pending uninterruptible ones are ... "
                      "still delivered."),
    Declaration("pipeline.close_deadline", True,
                where="pipecat/pipeline/worker.py, PipelineWorker.__init__",
                quote="cancel_timeout_secs: Timeout (in seconds) to wait for cancellation to "
                      "happen cleanly."),
])
"""What Pipecat says about the clauses the voice scenarios judge (its own words)."""


def pipecat_version() -> str:
    """The installed pipecat-ai version.

    :raises HarnessError: not installed.
    """
    try:
        return importlib.metadata.version("pipecat-ai")
    except importlib.metadata.PackageNotFoundError:
        raise HarnessError(f"target 'pipecat': pipecat-ai is not installed ({_HINT})") from None


def pipecat_factory() -> Any:
    """The factory of the ``pipecat`` target (imports Pipecat).

    :raises HarnessError: pipecat-ai cannot be imported.
    """
    pipecat_version()
    try:
        with warnings.catch_warnings():  # Pipecat's own imports (audioop) warn on 3.11+
            warnings.simplefilter("ignore", DeprecationWarning)
            import loguru

            loguru.logger.remove()  # Pipecat logs every frame event at DEBUG on stderr
            _classes()
            import pipecat.pipeline.worker
            import pipecat.workers.runner  # noqa: F401
    except Exception as exc:
        raise HarnessError(f"target 'pipecat': cannot import pipecat: {type(exc).__name__}: "
                           f"{exc} ({_HINT})") from None
    return PipecatVoicePipeline


class _Device:
    """A sound card's output buffer: ``write`` waits while it holds ``depth`` bytes."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.data = bytearray()
        self.room = asyncio.Event()
        self.room.set()

    async def write(self, pcm: bytes) -> None:
        while len(self.data) >= self.depth:
            self.room.clear()
            await self.room.wait()
        self.data += pcm

    def read(self, nbytes: int) -> bytes:
        out = bytes(self.data[:nbytes])
        del self.data[:nbytes]
        if len(self.data) < self.depth:
            self.room.set()
        return out


_CLASSES: dict[str, Any] = {}


def _classes() -> dict[str, Any]:
    """Build the Pipecat processor classes once (Pipecat is imported lazily)."""
    if _CLASSES:
        return _CLASSES
    from pipecat.frames.frames import (
        CancelFrame,
        EndFrame,
        ErrorFrame,
        InputAudioRawFrame,
        InterimTranscriptionFrame,
        LLMFullResponseEndFrame,
        LLMFullResponseStartFrame,
        LLMTextFrame,
        StartFrame,
        TranscriptionFrame,
        TTSAudioRawFrame,
        TTSStartedFrame,
        TTSStoppedFrame,
        UserStartedSpeakingFrame,
        UserStoppedSpeakingFrame,
    )
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
    from pipecat.transports.base_input import BaseInputTransport
    from pipecat.transports.base_output import BaseOutputTransport

    class Input(BaseInputTransport):
        def __init__(self, params: Any) -> None:
            super().__init__(params)
            self.ready = asyncio.Event()

        async def start(self, frame: StartFrame) -> None:
            await super().start(frame)
            await self.set_transport_ready(frame)
            self.ready.set()

    class Output(BaseOutputTransport):
        def __init__(self, params: Any, device: _Device, on_event: Any) -> None:
            super().__init__(params)
            self.device = device
            self.on_event = on_event

        async def start(self, frame: StartFrame) -> None:
            await super().start(frame)
            await self.set_transport_ready(frame)

        async def process_frame(self, frame: Any, direction: Any) -> None:
            if isinstance(frame, TTSAudioRawFrame):  # reaches Pipecat's output buffering
                self.on_event("voice.audio_written", {"t_ns": time.perf_counter_ns(),
                                                      "nbytes": len(frame.audio)})
            await super().process_frame(frame, direction)

        async def write_audio_frame(self, frame: Any) -> bool:
            await self.device.write(frame.audio)
            return True

    class Vad(FrameProcessor):
        def __init__(self, services: Any) -> None:
            super().__init__()
            self.services = services

        async def process_frame(self, frame: Any, direction: Any) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, InputAudioRawFrame):
                decision = await self.services.vad.detect(frame.audio)
                if decision == "start":
                    await self.broadcast_interruption()  # barge-in, Pipecat's way
                    await self.push_frame(UserStartedSpeakingFrame())
                await self.push_frame(frame, direction)
                if decision == "stop":
                    await self.push_frame(UserStoppedSpeakingFrame())
                return
            await self.push_frame(frame, direction)

    class Stt(FrameProcessor):
        def __init__(self, services: Any) -> None:
            super().__init__()
            self.services = services
            self.speaking = False

        async def process_frame(self, frame: Any, direction: Any) -> None:
            await super().process_frame(frame, direction)
            stt = self.services.stt
            if isinstance(frame, UserStartedSpeakingFrame):
                self.speaking = True
                stt.reset()
            elif isinstance(frame, UserStoppedSpeakingFrame):
                self.speaking = False
                await self.push_frame(frame, direction)
                text = await stt.finish()
                await self.push_frame(TranscriptionFrame(text, "user", ""))
                return
            elif isinstance(frame, InputAudioRawFrame):
                if self.speaking:
                    partial = await stt.audio(frame.audio)
                    if partial is not None:
                        await self.push_frame(InterimTranscriptionFrame(partial, "user", ""))
                return  # audio stops here
            await self.push_frame(frame, direction)

    class Llm(FrameProcessor):
        def __init__(self, services: Any) -> None:
            super().__init__()
            self.services = services

        async def process_frame(self, frame: Any, direction: Any) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, TranscriptionFrame):
                await self.push_frame(LLMFullResponseStartFrame())
                async for token in self.services.llm.respond(frame.text):
                    await self.push_frame(LLMTextFrame(token))
                await self.push_frame(LLMFullResponseEndFrame())
                return
            if isinstance(frame, InterimTranscriptionFrame):
                return
            await self.push_frame(frame, direction)

    class Tts(FrameProcessor):
        def __init__(self, services: Any, sample_rate: int) -> None:
            super().__init__()
            self.services = services
            self.sample_rate = sample_rate
            self.first = True

        async def process_frame(self, frame: Any, direction: Any) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, LLMFullResponseStartFrame):
                self.first = True
                await self.push_frame(TTSStartedFrame())
            elif isinstance(frame, LLMFullResponseEndFrame):
                await self.push_frame(TTSStoppedFrame())
            elif isinstance(frame, LLMTextFrame):
                first, self.first = self.first, False
                async for pcm in self.services.tts.synthesize(frame.text, first=first):
                    await self.push_frame(TTSAudioRawFrame(pcm, self.sample_rate, 1))
                return
            await self.push_frame(frame, direction)

    _CLASSES.update(Input=Input, Output=Output, Vad=Vad, Stt=Stt, Llm=Llm, Tts=Tts,
                    InputAudioRawFrame=InputAudioRawFrame, ErrorFrame=ErrorFrame,
                    EndFrame=EndFrame, CancelFrame=CancelFrame,
                    FrameDirection=FrameDirection)
    return _CLASSES


class PipecatVoicePipeline:
    """One voice session on a real Pipecat pipeline (see the module docstring)."""

    def __init__(self, services: Any, config: Any, on_event: Any) -> None:
        from pipecat.pipeline.pipeline import Pipeline
        from pipecat.pipeline.worker import PipelineParams, PipelineWorker
        from pipecat.transports.base_transport import TransportParams
        from pipecat.workers.runner import WorkerRunner

        c = _classes()
        self._c = c
        self._config = config
        rate = int(config.sample_rate)
        chunks_10ms = max(1, round(config.playout_ms / 10))
        params = TransportParams(
            audio_in_enabled=True, audio_in_sample_rate=rate, audio_in_passthrough=True,
            audio_out_enabled=True, audio_out_sample_rate=rate,
            audio_out_10ms_chunks=chunks_10ms)
        self._device = _Device(depth=chunks_10ms * rate // 100 * 2)  # one playout chunk
        self._input = c["Input"](params)
        self._vad = c["Vad"](services)
        self._output = c["Output"](params, self._device, on_event)
        self._processors = [self._input, self._vad, c["Stt"](services), c["Llm"](services),
                            c["Tts"](services, rate), self._output]
        self._worker = PipelineWorker(
            Pipeline(self._processors),
            params=PipelineParams(audio_in_sample_rate=rate, audio_out_sample_rate=rate),
            idle_timeout_secs=None, enable_rtvi=False, enable_turn_tracking=False,
            check_dangling_tasks=False,
            # Pipecat waits this long for a clean cancel, then forces it: leave room for the
            # forced part inside the deadline close() will be given.
            cancel_timeout_secs=max(0.1, float(getattr(config, "close_timeout_s", 1.0)) - 0.2))
        self._runner = WorkerRunner(handle_sigint=False)
        self._errors: list[dict[str, str]] = []

        @self._worker.event_handler("on_pipeline_error")
        async def on_error(_worker: Any, frame: Any) -> None:
            processor = getattr(frame, "processor", None)
            self._errors.append({"stage": _stage_name(processor),
                                 "error": str(getattr(frame, "error", frame))})

        self._task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        await self._runner.add_workers(self._worker)
        self._task = asyncio.get_running_loop().create_task(self._runner.run(),
                                                            name="pipecat-runner")
        ready = asyncio.ensure_future(self._input.ready.wait())
        await asyncio.wait({ready, self._task}, timeout=10.0,
                           return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            raise RuntimeError("the Pipecat pipeline did not start within 10 s")

    async def feed(self, pcm: bytes) -> None:
        frame = self._c["InputAudioRawFrame"](audio=pcm, sample_rate=self._config.sample_rate,
                                              num_channels=1)
        await self._input.push_audio_frame(frame)

    def read_output(self, duration_ms: float) -> bytes:
        nbytes = int(duration_ms * self._config.sample_rate / 1000) * 2
        return self._device.read(nbytes)

    async def interrupt(self) -> None:
        await self._vad.broadcast_interruption()

    async def close(self, timeout: float) -> dict[str, Any]:
        started = time.perf_counter()
        abandoned: list[str] = []
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._worker.cancel(reason="session closed"), timeout)
        if self._task is not None:
            left = max(0.0, timeout - (time.perf_counter() - started))
            await asyncio.wait({self._task}, timeout=left)
            if not self._task.done():
                abandoned.append("pipecat-runner")
            elif not self._task.cancelled() and self._task.exception() is not None:
                self._errors.append({"stage": "runner",
                                     "error": repr(self._task.exception())})
        return {"abandoned": abandoned, "took_ms": (time.perf_counter() - started) * 1000}

    def statistics(self) -> dict[str, Any]:
        return {"errors": list(self._errors), "device_bytes": len(self._device.data)}


def _stage_name(processor: Any) -> str:
    name = type(processor).__name__ if processor is not None else "unknown"
    return {"Vad": "vad", "Stt": "stt", "Llm": "llm", "Tts": "tts", "Input": "input",
            "Output": "output"}.get(name, name)
