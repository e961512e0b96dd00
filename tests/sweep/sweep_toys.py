"""Toy scenarios for the sweep tests. Importing this module registers them; the executors'
workers import it by name (``modules=("sweep_toys",)``), so this directory must be on the
workers' path (``PYTHONPATH``, see conftest.py).

``sweep_burst`` is deterministic in its counts whatever the machine's speed: ``count``
chunks are put into a ``drop_oldest`` queue of ``max_size`` before anyone reads, so exactly
``count - max_size`` are dropped (each with an event) and ``max_size`` delivered. With
``die`` its process kills itself (SIGKILL) before it reports; with ``wedge`` it blocks the
event loop in a busy loop that never yields. It notes its raw latency samples
(``latency_ns``), so a test can pool them itself and compare with the merged histograms.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from mocks.consumers import fast_consumer
from mocks.producers import open_loop_producer, outcome_classifier
from mocks.rates import ConstantRate
from scenarios._common import chunk_maker, chunk_pool, close_queue, never_full
from scenarios.registry import scenario

_AUDIO = {"sample_rate": 16_000, "channels": 1, "fmt": "pcm_16", "chunk_ms": 20.0}


@scenario(name="sweep_burst", category="correctness", hypotheses=("H5",),
          quick={"count": 60, "max_size": 20, "rate_cps": 20_000.0, "die": False,
                 "wedge": False, "deadline_s": 4.0,
                 # its counts do not depend on keeping the schedule: never `invalid`, even on
                 # a machine too busy to send 20,000 chunks/s on time
                 "saturation_fraction": 1.0},
          positive=("count", "max_size", "rate_cps", "deadline_s"))
async def sweep_burst(ctx: Any) -> None:
    """A burst into a drop_oldest queue nobody reads until it is over, then a drain."""
    p = ctx.params
    if p["die"]:
        os.kill(os.getpid(), signal.SIGKILL)
    if p["wedge"]:
        end = time.perf_counter_ns() + int(60e9)
        while time.perf_counter_ns() < end:  # never yields: only a process kill ends it
            pass
    target = ctx.target
    queue = target.make_queue(p["max_size"], overflow="drop_oldest",
                              event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"])
    make_chunk = chunk_maker(target, chunk_pool(kind="noise", count=8,
                                                seed=ctx.seed_for("signal"), **_AUDIO), **_AUDIO)
    await ctx.spawn(open_loop_producer(
        producer=0, count=p["count"], rate=ConstantRate(p["rate_cps"]), make_chunk=make_chunk,
        put=queue.put, trace=ctx.trace, start_ns=time.perf_counter_ns(), full=never_full,
        outcome_of=outcome_classifier(closed_errors=target.closed_errors,
                                      full_errors=target.full_errors)), name="producer")
    consumer = ctx.spawn(fast_consumer(queue, consumer=0, trace=ctx.trace,
                                       end_errors=target.closed_errors), name="consumer")
    await close_queue(queue, ctx=ctx)
    await consumer
    rows = ctx.trace.deliveries()
    matched = rows[rows["intended_ns"] >= 0]
    ctx.note("latency_ns", (matched["recv_ns"] - matched["intended_ns"]).tolist())


class LeakyTarget:
    """stageflow_core, except that every chunk it makes is also kept for ever (a copy of
    its bytes in a module-level list): a leak of ~700 B per chunk for the soak tests."""

    def __init__(self) -> None:
        from harness.targets import load_target

        self._inner = load_target("stageflow_core")
        self.name = "leaky"
        self.version = "0"
        self.capabilities = self._inner.capabilities
        self.closed_errors = self._inner.closed_errors
        self.full_errors = self._inner.full_errors

    def make_queue(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.make_queue(*args, **kwargs)

    def make_buffer(self, **kwargs: Any) -> Any:
        return self._inner.make_buffer(**kwargs)

    def make_chunk(self, data: bytes, **kwargs: Any) -> Any:
        KEPT.append(bytearray(data))  # the leak
        return self._inner.make_chunk(data, **kwargs)


KEPT: list[bytearray] = []


def leaky_target() -> LeakyTarget:
    return LeakyTarget()
