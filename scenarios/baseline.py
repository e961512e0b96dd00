"""baseline: a steady real-time stream through one queue, every chunk delivered in order."""

from __future__ import annotations

import time

from mocks.consumers import fast_consumer
from mocks.producers import open_loop_producer, outcome_classifier
from mocks.rates import JitteredRate
from scenarios._common import chunk_maker, chunk_pool, close_queue, full_probe, queue_policy
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["baseline"]

_AUDIO = {"sample_rate": 16_000, "channels": 1, "fmt": "pcm_16", "chunk_ms": 20.0}


@scenario(
    name="baseline",
    category="correctness",
    hypotheses=("H5",),
    quick={"chunks": 600, "rate_cps": 1_000.0, "jitter": 0.1, "max_size": 100,
           "deadline_s": 6.0},
    full={"chunks": 16_000, "rate_cps": 3_200.0, "jitter": 0.1, "max_size": 100,
          "deadline_s": 20.0},
    positive=("chunks", "rate_cps", "max_size", "deadline_s"),
    suites=("transform007",),
    requires=("part:queue",),
)
async def baseline(ctx: ScenarioContext) -> None:
    """Steady open-loop stream (report: ~3,200 chunks/s), one producer, one consumer: 100 %
    delivered, in order, none dropped, duplicated or refused."""
    p = ctx.params
    target = ctx.target
    policy = queue_policy(target)
    queue = target.make_queue(p["max_size"], overflow=policy, event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"])
    pool = chunk_pool(kind="speech", count=64, seed=ctx.seed_for("signal"), **_AUDIO)
    make_chunk = chunk_maker(target, pool, **_AUDIO)
    consumer = ctx.spawn(fast_consumer(queue, consumer=0, trace=ctx.trace,
                                       end_errors=target.closed_errors), name="consumer-0")
    producer = ctx.spawn(open_loop_producer(
        producer=0, count=p["chunks"],
        rate=JitteredRate(p["rate_cps"], jitter=p["jitter"], seed=ctx.seed_for("rate")),
        make_chunk=make_chunk, put=queue.put, trace=ctx.trace,
        start_ns=time.perf_counter_ns(), full=full_probe(queue, p["max_size"], policy=policy),
        outcome_of=outcome_classifier(closed_errors=target.closed_errors,
                                      full_errors=target.full_errors),
    ), name="producer-0")
    report = await producer
    await close_queue(queue, ctx=ctx)
    taken = await consumer
    ctx.note("max_schedule_lag_ms", report.max_schedule_lag_ms)
    ctx.expect(
        "all_delivered",
        report.queued == p["chunks"] and taken == p["chunks"],
        f"{taken} of {p['chunks']} chunks delivered ({report.queued} queued, "
        f"{report.dropped} dropped, {report.timeouts + report.rejected} refused, "
        f"{report.errors} errors)",
        hypotheses=("H5",),
    )
