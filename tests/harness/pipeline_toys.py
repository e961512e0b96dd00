"""Pipeline target factories for the tests (``--target pipeline:pipeline_toys:NAME``)."""

from __future__ import annotations

from typing import Any

from harness.pipeline_targets import StageflowVoicePipeline


class Incomplete:
    """Feeds and starts, but cannot be read, interrupted or inspected."""

    async def start(self) -> None: ...

    async def feed(self, pcm: bytes) -> None: ...

    async def close(self, timeout: float) -> None: ...


def incomplete(services: Any, config: Any, on_event: Any) -> Incomplete:
    return Incomplete()


class BrokenTts(StageflowVoicePipeline):
    """Our template whose TTS stage raises on its first text (a user's bug)."""

    async def _tts(self, text: Any):
        raise ValueError("voice not found: 'en-XX'")
        yield  # an async generator


def broken_tts(services: Any, config: Any, on_event: Any) -> BrokenTts:
    return BrokenTts(services, config, on_event)


def ours(services: Any, config: Any, on_event: Any) -> StageflowVoicePipeline:
    return StageflowVoicePipeline(services, config, on_event)
