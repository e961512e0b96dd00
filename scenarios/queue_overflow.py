"""queue_overflow: a producer faster than its consumer, once dropping and once blocking."""

from __future__ import annotations

import functools
import time
from typing import Any

from mocks.consumers import crashing_consumer, drain_nowait, slow_consumer
from mocks.producers import open_loop_producer, outcome_classifier
from mocks.rates import ConstantRate
from scenarios._common import chunk_maker, chunk_pool, close_queue, full_probe
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["queue_overflow"]

_AUDIO = {"sample_rate": 16_000, "channels": 1, "fmt": "pcm_16", "chunk_ms": 20.0}
DRAIN_CONSUMER = 99  # receipts taken by the scenario's own final drain


def _monitor_drops(queue: Any) -> int | None:
    try:
        return int(queue.monitor.stats.dropped_items)
    except Exception:
        return None


async def _dropping_phase(ctx: ScenarioContext, make_chunk: Any) -> None:
    """Phase B (run first): ``drop_oldest`` queue, slow consumer. Every chunk must be
    delivered or dropped with an event; the monitor must count the drops and throttle."""
    p = ctx.params
    target = ctx.target
    queue = target.make_queue(p["max_size"], overflow="drop_oldest",
                              event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"], name="dropping")
    consumer = ctx.spawn(slow_consumer(queue, consumer=0, trace=ctx.trace,
                                       delay_ms=p["consumer_delay_ms"],
                                       end_errors=target.closed_errors), name="drop-consumer")
    report = await ctx.spawn(open_loop_producer(
        producer=0, count=p["chunks"], rate=ConstantRate(p["rate_cps"]),
        make_chunk=make_chunk, put=queue.put, trace=ctx.trace,
        start_ns=time.perf_counter_ns(),
        full=full_probe(queue, p["max_size"], policy="drop_oldest"),
        outcome_of=outcome_classifier(closed_errors=target.closed_errors,
                                      full_errors=target.full_errors),
    ), name="drop-producer")
    await close_queue(queue, ctx=ctx, name="dropping")
    taken = await consumer
    drop_events = sum(1 for name, payload, _t in ctx.trace.events
                      if name == "stream.chunk_dropped"
                      and payload.get("reason") not in ("drop_newest", "closed"))
    undelivered = p["chunks"] - taken
    if undelivered == 0:  # the consumer kept up: nothing about overflow was tested
        ctx.invalid(f"dropping phase: the consumer kept up with all {p['chunks']} chunks, "
                    "no overflow happened")
    monitor = _monitor_drops(queue)
    ctx.expect("monitor_counts_drops", monitor is not None and monitor == drop_events,
               f"monitor counted {monitor} dropped items, {drop_events} chunk_dropped events",
               hypotheses=("H3",))
    ctx.note("dropping.delivered", taken)
    ctx.note("dropping.drop_events", drop_events)
    ctx.note("dropping.queued", report.queued)


async def _blocking_phase(ctx: ScenarioContext, make_chunk: Any) -> None:
    """Phase A: ``block`` queue whose consumer dies after a while. With ``put(timeout=)``
    every put must complete or time out (each with ``stream.producer_timeout``); with only
    a plain put (BUG-038) the producer blocks for ever: the runner reports the hang."""
    p = ctx.params
    target = ctx.target
    events_before = len(ctx.trace.events)
    queue = target.make_queue(p["max_size"], event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"], name="blocking")
    if target.capabilities.put_timeout:
        put = functools.partial(queue.put, timeout=p["put_timeout_ms"] / 1000.0)
        ctx.note("blocking.put", f"put(timeout={p['put_timeout_ms'] / 1000.0:g})")
    else:
        put = queue.put
        ctx.note("blocking.put", "put() without timeout: the target has no put timeout")
    consumer = ctx.spawn(crashing_consumer(queue, consumer=1, trace=ctx.trace,
                                           crash_after=p["crash_after"],
                                           end_errors=target.closed_errors),
                         name="block-consumer", may_fail=True)
    report = await ctx.spawn(open_loop_producer(
        producer=1, count=p["blocking_chunks"], rate=ConstantRate(p["rate_cps"]),
        make_chunk=make_chunk, put=put, trace=ctx.trace, start_ns=time.perf_counter_ns(),
        full=full_probe(queue, p["max_size"]),
        outcome_of=outcome_classifier(closed_errors=target.closed_errors,
                                      full_errors=target.full_errors),
    ), name="block-producer")
    if not consumer.done():
        consumer.cancel()
    await close_queue(queue, ctx=ctx, name="blocking")
    drained = drain_nowait(queue, consumer=DRAIN_CONSUMER, trace=ctx.trace)
    throttles = sum(1 for name, _p, _t in ctx.trace.events[events_before:]
                    if name == "stream.throttle_started")
    ctx.expect("backpressure_signalled", throttles >= 1,
               f"{throttles} stream.throttle_started events while the queue filled up",
               hypotheses=("H3", "H4"))
    ctx.expect("overflow_reported_to_producer", report.timeouts + report.rejected > 0,
               f"blocking phase: {report.timeouts} puts timed out, {report.rejected} rejected, "
               f"{report.queued} queued after the consumer died", hypotheses=("H1",))
    ctx.note("blocking.timeouts", report.timeouts)
    ctx.note("blocking.queued", report.queued)
    ctx.note("blocking.drained_after_close", drained)


@scenario(
    name="queue_overflow",
    category="reliability",
    hypotheses=("H1", "H3", "H4", "H5"),
    quick={"chunks": 400, "blocking_chunks": 120, "rate_cps": 2_000.0, "max_size": 50,
           "consumer_delay_ms": 2.0, "crash_after": 40, "put_timeout_ms": 10.0,
           "deadline_s": 5.0},
    full={"chunks": 4_000, "blocking_chunks": 400, "rate_cps": 2_000.0, "max_size": 100,
          "consumer_delay_ms": 2.0, "crash_after": 150, "put_timeout_ms": 20.0,
          "deadline_s": 20.0},
    positive=("chunks", "blocking_chunks", "rate_cps", "max_size", "put_timeout_ms",
              "deadline_s"),
    suites=("transform007",),
)
async def queue_overflow(ctx: ScenarioContext) -> None:
    """Producer faster than consumer: with drop_oldest every chunk is delivered or dropped
    with an event; blocking, a consumer that dies must not hang the producer (BUG-038)."""
    pool = chunk_pool(kind="speech", count=64, seed=ctx.seed_for("signal"), **_AUDIO)
    make_chunk = chunk_maker(ctx.target, pool, **_AUDIO)
    await _dropping_phase(ctx, make_chunk)
    await _blocking_phase(ctx, make_chunk)
