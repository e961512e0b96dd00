"""What Stageflow 0.5.1 (``stageflow``) and this project's library (``stageflow_core``) say
they do, each declaration quoted from their own docstrings and code.

Both are :class:`~harness.targets.module.ModuleTarget` s: their objects already have the
harness's API, so no adapter sits between them and the scenarios.
"""

from __future__ import annotations

from harness.contract import Declaration, Semantics

__all__ = ["BUILTIN_SEMANTICS", "STAGEFLOW_CORE_SEMANTICS", "STAGEFLOW_SEMANTICS"]

_SF = "stageflow/helpers/streaming.py"

STAGEFLOW_SEMANTICS = Semantics([
    Declaration("queue.full_put", "block", where=f"{_SF}, ChunkQueue class docstring",
                quote="await queue.put(chunk)  # Blocks if full"),
    Declaration("queue.overflow_policies", frozenset({"block", "drop_oldest"}),
                where=f"{_SF}, ChunkQueue.__init__ docstring",
                quote="drop_on_overflow: If True, drop oldest items on overflow instead of "
                      "blocking."),
    Declaration("queue.closed_put", "return_false",
                where=f"{_SF}, ChunkQueue.put (docstring and first line)",
                quote="Returns: True if added, False if dropped. / if self._closed: "
                      "return False"),
    Declaration("queue.end_of_stream", "return_none", where=f"{_SF}, ChunkQueue.get docstring",
                quote="Returns: The item, or None if queue is closed."),
    Declaration("queue.none_item", "end_marker",
                where=f"{_SF}, ChunkQueue.__anext__ and close()",
                quote="if item is None: raise StopAsyncIteration"),
    Declaration("queue.close_wakes_getters", True, where=f"{_SF}, ChunkQueue.get docstring",
                quote="Returns: The item, or None if queue is closed."),
    Declaration("queue.close_delivers_pending", True, where=f"{_SF}, ChunkQueue.close code",
                quote="Try to signal end without blocking or dropping items"),
    Declaration("monitor.throttle_marks", True,
                where=f"{_SF}, BackpressureMonitor.__init__ docstring",
                quote="high_water_mark: Queue fill % to trigger throttling. low_water_mark: "
                      "Queue fill % to stop throttling."),
    Declaration("buffer.overflow_trim", "fixed_step", where=f"{_SF}, StreamingBuffer.add_chunk",
                quote="Drop oldest data if over max ... # Drop 50ms"),
    Declaration("buffer.readiness", "duration", where=f"{_SF}, StreamingBuffer.is_ready/is_full",
                quote="Check if buffer has reached target level (duration_ms >= target)"),
    Declaration("buffer.underrun_events", True, where=f"{_SF}, StreamingBuffer.read",
                quote="# Detect underrun (requested more than available) ... "
                      "stream.buffer_underrun ... stream.buffer_recovered"),
    Declaration("buffer.overflow_events", True, where=f"{_SF}, StreamingBuffer.add_chunk",
                quote='"stream.buffer_overflow", { "bytes_dropped": dropped,'),
])
"""Stageflow 0.5.1 (PyPI ``stageflow-core``), from its docstrings and, where they are
silent, the code's own comments. Silent (so judged by our recommendations, as
improvements): close waking blocked producers, a second close(), drop events for every
drop, events while a put waits, argument validation."""

_Q = "stageflow_core/queue.py"
_B = "stageflow_core/buffer.py"

STAGEFLOW_CORE_SEMANTICS = Semantics([
    Declaration("queue.full_put", "block_with_timeout", where=f"{_Q}, ChunkQueue.put",
                quote=":raises QueueFull: the timeout expired, or full under ``reject``."),
    Declaration("queue.overflow_policies",
                frozenset({"block", "drop_oldest", "drop_newest", "reject"}),
                where=f"{_Q}, module docstring",
                quote="block / drop_oldest / drop_newest / reject (table)"),
    Declaration("queue.closed_put", "raise", where=f"{_Q}, ChunkQueue.put docstring",
                quote=":raises QueueClosed: the queue is closed, also while this put waited."),
    Declaration("queue.end_of_stream", "return_none", where=f"{_Q}, ChunkQueue.get docstring",
                quote=":returns: the item, or None once the queue is closed and drained."),
    Declaration("queue.none_item", "refused", where=f"{_Q}, ChunkQueue.put_nowait docstring",
                quote=":raises TypeError: ``item`` is None (the end-of-stream marker)."),
    Declaration("queue.close_delivers_pending", True, where=f"{_Q}, ChunkQueue docstring",
                quote="consumers receive the remaining items, then ``get()`` returns ``None``"),
    Declaration("queue.close_wakes_getters", True, where=f"{_Q}, ChunkQueue.close_nowait",
                quote="Close the queue (idempotent): refuse new puts and wake every waiter."),
    Declaration("queue.close_wakes_putters", True, where=f"{_Q}, ChunkQueue.close_nowait",
                quote="Waiting puts raise ``QueueClosed``"),
    Declaration("queue.close_idempotent", True, where=f"{_Q}, ChunkQueue.close_nowait",
                quote="Close the queue (idempotent)"),
    Declaration("queue.drop_events", True, where=f"{_Q}, module docstring",
                quote="a put that returns hands its item to the queue, which then delivers "
                      "it or reports it in exactly one ``stream.chunk_dropped`` event"),
    Declaration("queue.blocked_events", True, where="docs/architecture.md, Telemetry events",
                quote="`stream.producer_blocked` | a `put` starts to wait (emitted before "
                      "waiting)"),
    Declaration("queue.validates_config", True, where=f"{_Q}, ChunkQueue docstring",
                quote=":raises ValueError: ``max_size`` < 1, unknown ``overflow``"),
    Declaration("buffer.validates_chunks", True, where=f"{_B}, StreamingBuffer docstring",
                quote="A chunk whose sample rate, channels or format differ from the "
                      "buffer's ... is refused with ``ValueError`` and the buffer is "
                      "unchanged."),
    Declaration("buffer.validates_config", True, where=f"{_B}, StreamingBuffer docstring",
                quote=":raises ValueError: negative, NaN or infinite durations"),
    Declaration("buffer.underrun_events", True, where=f"{_B}, StreamingBuffer docstring",
                quote="``stream.buffer_underrun`` (a read came back short, once per "
                      "episode), ``stream.buffer_recovered`` (first full read after)"),
    Declaration("buffer.overflow_events", True, where=f"{_B}, StreamingBuffer docstring",
                quote="Each trim is counted and emits ``stream.buffer_overflow``."),
    Declaration("buffer.overflow_trim", "minimal", where=f"{_B}, StreamingBuffer docstring",
                quote="On overflow it trims exactly the oldest excess"),
    Declaration("buffer.readiness", "whole_frames", where=f"{_B}, StreamingBuffer.is_ready",
                quote="whole frames, rounded up, at most the capacity"),
    *(Declaration(clause, True, where="docs/backpressure.md and the stageflow_core docstrings")
      for clause in ("queue.validates_input", "buffer.validates_input",
                     "chunk.validates_config", "monitor.validates_config",
                     "monitor.validates_input", "monitor.throttle_marks",
                     "functions.validates_input")),
    Declaration("queue.event_payloads", "ours", where="docs/backpressure.md, events"),
    Declaration("buffer.event_payloads", "ours", where="docs/backpressure.md, events"),
    Declaration("events.emitter_failures", "visible", where="stageflow_core/events.py",
                quote="An exception raised by the emitter is caught, counted in "
                      ":attr:`errors` and logged once"),
    Declaration("pipeline.close_deadline", True,
                where="stageflow_core/pipeline.py, module docstring (Shutdown)",
                quote="It returns within ``timeout`` (plus scheduling), whatever the stages do"),
    Declaration("pipeline.barge_in", "discard_all",
                where="stageflow_core/pipeline.py, module docstring (Interruption)",
                quote="flushes every edge from a stage onwards and the output queue, clears "
                      "the playout buffer"),
    Declaration("pipeline.bounded_edges", True,
                where="stageflow_core/pipeline.py, module docstring (Bounded)",
                quote="Every edge holds at most its ``max_size`` items"),
])
"""This project's library, from its docstrings (docs/architecture.md for the events)."""

BUILTIN_SEMANTICS = {"stageflow": STAGEFLOW_SEMANTICS,
                     "stageflow_core": STAGEFLOW_CORE_SEMANTICS}
"""The two module targets' declarations by name (the library adapters carry their own)."""
