"""StreamingAudioDuplex: one full-duplex audio session (mic in, speaker out, barge-in)."""

from __future__ import annotations

from dataclasses import dataclass

from stageflow_core._checks import check_int, check_number
from stageflow_core.audio import AudioChunk, AudioFormat
from stageflow_core.buffer import BufferStatistics, StreamingBuffer, chunk_view
from stageflow_core.events import EventEmitter, make_emitter
from stageflow_core.queue import ChunkQueue, OverflowPolicy, QueueClosed, QueueStatistics

__all__ = ["DuplexStatistics", "StreamingAudioDuplex"]


@dataclass(frozen=True, slots=True)
class DuplexStatistics:
    """A frozen snapshot of both directions of a :class:`StreamingAudioDuplex`."""

    inbound: QueueStatistics
    """The mic -> pipeline queue."""
    outbound: BufferStatistics
    """The pipeline -> speaker playback buffer."""
    interruptions: int
    """Calls to ``interrupt()`` (barge-ins)."""
    bytes_flushed: int
    """Playback bytes discarded by interruptions."""
    closed: bool
    """Whether ``close()`` was called."""


class StreamingAudioDuplex:
    """A full-duplex audio session with barge-in.

    - Inbound (mic -> pipeline): a :class:`ChunkQueue` of :class:`AudioChunk`.
      ``send_input`` / ``send_input_nowait`` on the capture side, ``receive_input`` (or
      ``async for chunk in duplex.inbound``) on the pipeline side.
    - Outbound (pipeline -> speaker): a :class:`StreamingBuffer`. ``write_output`` on the
      pipeline side, ``read_output`` on the playout clock.
    - ``interrupt()`` (the user spoke over playback): discards pending playback and emits
      ``stream.playback_interrupted`` with ``bytes_flushed``.
    - ``close()``: ends the session. Pending input can still be received (then
      ``receive_input`` returns None), pending playback can still be read; sending input
      or writing output afterwards raises :class:`QueueClosed`.

    Both directions carry audio in the session's sample rate, channels and format; a
    chunk that differs is refused with ``ValueError``. The playback buffer is deep by
    default (``playback_max_ms`` 30 s) because a text-to-speech stage usually writes faster
    than real time and trimming would cut speech; memory grows only with what is buffered.

    :raises TypeError, ValueError: as ``ChunkQueue`` and ``StreamingBuffer`` for their
        arguments.
    """

    __slots__ = (
        "_bytes_flushed",
        "_channels",
        "_closed",
        "_emit",
        "_format",
        "_inbound",
        "_interruptions",
        "_outbound",
        "_rate",
    )

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        channels: int = 1,
        format: AudioFormat | str = AudioFormat.PCM_16,
        inbound_max_chunks: int = 100,
        inbound_overflow: OverflowPolicy | str = OverflowPolicy.BLOCK,
        playback_target_ms: float = 100,
        playback_max_ms: float = 30_000,
        event_emitter: EventEmitter | None = None,
    ) -> None:
        check_int("inbound_max_chunks", inbound_max_chunks, minimum=1)
        target_ms = check_number("playback_target_ms", playback_target_ms)
        max_ms = check_number("playback_max_ms", playback_max_ms)
        if target_ms > max_ms:
            raise ValueError(
                f"playback_target_ms ({target_ms:g}) must be <= playback_max_ms ({max_ms:g})"
            )
        self._outbound = StreamingBuffer(
            target_duration_ms=playback_target_ms,
            max_duration_ms=playback_max_ms,
            sample_rate=sample_rate,
            channels=channels,
            format=format,
            event_emitter=event_emitter,
        )
        self._inbound: ChunkQueue[AudioChunk] = ChunkQueue(
            inbound_max_chunks, overflow=inbound_overflow, event_emitter=event_emitter
        )
        self._rate = self._outbound.sample_rate
        self._channels = self._outbound.channels
        self._format = self._outbound.format
        self._emit = make_emitter(event_emitter, "StreamingAudioDuplex")
        self._interruptions = 0
        self._bytes_flushed = 0
        self._closed = False

    @property
    def inbound(self) -> ChunkQueue[AudioChunk]:
        """The mic -> pipeline queue."""
        return self._inbound

    @property
    def outbound(self) -> StreamingBuffer:
        """The pipeline -> speaker playback buffer."""
        return self._outbound

    @property
    def is_closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    # -- inbound ------------------------------------------------------------------------

    def _check_input(self, chunk: AudioChunk) -> None:
        chunk_view(chunk, self._rate, self._channels, self._format,
                   self._outbound.frame_bytes, "StreamingAudioDuplex.send_input")

    async def send_input(self, chunk: AudioChunk, *, timeout: float | None = None) -> bool:
        """Queue captured audio for the pipeline (``ChunkQueue.put`` semantics).

        :raises ValueError: the chunk's format differs from the session's.
        :raises QueueFull, QueueClosed: as ``ChunkQueue.put``.
        """
        self._check_input(chunk)
        return await self._inbound.put(chunk, timeout=timeout)

    def send_input_nowait(self, chunk: AudioChunk) -> bool:
        """Queue captured audio without waiting (``ChunkQueue.put_nowait`` semantics)."""
        self._check_input(chunk)
        return self._inbound.put_nowait(chunk)

    async def receive_input(self) -> AudioChunk | None:
        """The next captured chunk; None once the session is closed and input drained."""
        return await self._inbound.get()

    # -- outbound -----------------------------------------------------------------------

    def write_output(self, chunk: AudioChunk) -> int:
        """Append audio for playback; returns bytes trimmed by overflow.

        :raises QueueClosed: the session is closed.
        :raises ValueError: the chunk's format differs from the session's.
        """
        if self._closed:
            raise QueueClosed("write_output on a closed StreamingAudioDuplex")
        return self._outbound.add_chunk(chunk)

    def read_output(self, duration_ms: float = 20) -> bytes:
        """Take up to ``duration_ms`` of playback audio (``StreamingBuffer.read``)."""
        return self._outbound.read(duration_ms)

    def interrupt(self) -> int:
        """Barge-in: discard all pending playback; returns the bytes flushed.

        Counted and reported as ``stream.playback_interrupted`` (``bytes_flushed``,
        ``duration_ms_flushed``) even when nothing was pending.
        """
        flushed_ms = self._outbound.duration_ms
        flushed = self._outbound.clear()
        self._interruptions += 1
        self._bytes_flushed += flushed
        if self._emit is not None:
            self._emit.emit(
                "stream.playback_interrupted",
                {"bytes_flushed": flushed, "duration_ms_flushed": flushed_ms},
            )
        return flushed

    # -- lifecycle ----------------------------------------------------------------------

    def close_nowait(self) -> None:
        """End the session (idempotent); see the class docstring."""
        self._closed = True
        self._inbound.close_nowait()

    async def close(self) -> None:
        """End the session (idempotent); see the class docstring."""
        self.close_nowait()

    def statistics(self) -> DuplexStatistics:
        """A frozen snapshot of both directions."""
        return DuplexStatistics(
            inbound=self._inbound.statistics(),
            outbound=self._outbound.statistics(),
            interruptions=self._interruptions,
            bytes_flushed=self._bytes_flushed,
            closed=self._closed,
        )
