"""stageflow_core: asyncio streaming primitives that never hang, never lose data silently
and stay fast.

A drop-in superset of ``stageflow.helpers.streaming`` (Stageflow 0.5.1): change the import,
keep the code. See docs/backpressure.md (blocking vs dropping) and docs/tuning.md.
"""

from stageflow_core.audio import (
    AudioChunk,
    AudioFormat,
    StreamConfig,
    calculate_audio_duration_ms,
    encode_audio_for_logging,
)
from stageflow_core.buffer import BufferStatistics, StreamingBuffer
from stageflow_core.duplex import DuplexStatistics, StreamingAudioDuplex
from stageflow_core.events import EventEmitter, IsolatedEmitter
from stageflow_core.monitor import BackpressureMonitor, BackpressureStats, MonitorStatistics
from stageflow_core.pipeline import (
    InterruptReport,
    Pipeline,
    PipelineStatistics,
    ShutdownReport,
    Stage,
    StageError,
    StageFunction,
    StageStatistics,
)
from stageflow_core.queue import (
    ChunkQueue,
    OverflowPolicy,
    QueueClosed,
    QueueEmpty,
    QueueFull,
    QueueStatistics,
)

__all__ = [
    "AudioChunk",
    "AudioFormat",
    "BackpressureMonitor",
    "BackpressureStats",
    "BufferStatistics",
    "ChunkQueue",
    "DuplexStatistics",
    "EventEmitter",
    "InterruptReport",
    "IsolatedEmitter",
    "MonitorStatistics",
    "OverflowPolicy",
    "Pipeline",
    "PipelineStatistics",
    "QueueClosed",
    "QueueEmpty",
    "QueueFull",
    "QueueStatistics",
    "ShutdownReport",
    "Stage",
    "StageError",
    "StageFunction",
    "StageStatistics",
    "StreamConfig",
    "StreamingAudioDuplex",
    "StreamingBuffer",
    "calculate_audio_duration_ms",
    "encode_audio_for_logging",
]

__version__ = "0.1.0"
