"""steady_queue: one steady open-loop stream through one queue, for sweeps and soaks."""

from __future__ import annotations

import functools
import time
from typing import Any

from mocks.consumers import fast_consumer, slow_consumer
from mocks.producers import open_loop_producer, outcome_classifier
from mocks.rates import JitteredRate
from scenarios._common import chunk_maker, chunk_pool, close_queue, full_probe
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["OVERFLOW_POLICIES", "steady_queue"]

OVERFLOW_POLICIES = ("block", "drop_oldest", "drop_newest", "reject")
_AUDIO = {"sample_rate": 16_000, "channels": 1, "fmt": "pcm_16", "chunk_ms": 20.0}


@scenario(
    name="steady_queue",
    category="performance",
    hypotheses=("H1", "H5"),
    quick={"rate_cps": 1_000.0, "duration_s": 1.0, "max_size": 50, "overflow": "block",
           "consumer_delay_ms": 0.0, "jitter": 0.1, "put_timeout_ms": 200.0,
           "deadline_s": 6.0},
    full={"rate_cps": 2_000.0, "duration_s": 10.0, "max_size": 100, "overflow": "block",
          "consumer_delay_ms": 0.0, "jitter": 0.1, "put_timeout_ms": 200.0,
          "deadline_s": 20.0},
    positive=("rate_cps", "duration_s", "max_size", "put_timeout_ms", "deadline_s"),
    choices={"overflow": OVERFLOW_POLICIES},
    duration="duration_s",
    tags=("sweep", "soak"),
    requires=("part:queue",),
)
async def steady_queue(ctx: ScenarioContext) -> None:
    """A steady open-loop stream (``rate_cps`` for ``duration_s``) through one queue of
    ``max_size`` with overflow policy ``overflow``, drained by one consumer that spends
    ``consumer_delay_ms`` on each chunk: every chunk is delivered or reported dropped or
    refused. Made to be swept (latency over max_size x rate, drops per policy, the knee
    where the consumer stops keeping up) and soaked (``run --duration``)."""
    p = ctx.params
    target = ctx.target
    policy = p["overflow"]
    queue = target.make_queue(p["max_size"], overflow=policy, event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"])
    make_chunk = chunk_maker(target, chunk_pool(kind="speech", count=64,
                                                seed=ctx.seed_for("signal"), **_AUDIO), **_AUDIO)
    if p["consumer_delay_ms"] > 0:
        consume: Any = slow_consumer(queue, consumer=0, trace=ctx.trace,
                                     delay_ms=p["consumer_delay_ms"],
                                     end_errors=target.closed_errors)
    else:
        consume = fast_consumer(queue, consumer=0, trace=ctx.trace,
                                end_errors=target.closed_errors)
    consumer = ctx.spawn(consume, name="consumer-0")
    put = queue.put
    if policy == "block" and target.capabilities.put_timeout:
        put = functools.partial(queue.put, timeout=p["put_timeout_ms"] / 1000.0)
    count = max(1, round(p["rate_cps"] * p["duration_s"]))
    report = await ctx.spawn(open_loop_producer(
        producer=0, count=count,
        rate=JitteredRate(p["rate_cps"], jitter=p["jitter"], seed=ctx.seed_for("rate")),
        make_chunk=make_chunk, put=put, trace=ctx.trace, start_ns=time.perf_counter_ns(),
        full=full_probe(queue, p["max_size"], policy=policy),
        outcome_of=outcome_classifier(closed_errors=target.closed_errors,
                                      full_errors=target.full_errors,
                                      full_outcome="timeout" if policy == "block" else "rejected"),
    ), name="producer-0")
    await close_queue(queue, ctx=ctx)
    taken = await consumer
    ctx.note("chunks_scheduled", count)
    ctx.note("delivered", taken)
    ctx.note("refused", report.timeouts + report.rejected)
    ctx.note("max_schedule_lag_ms", round(report.max_schedule_lag_ms, 3))
