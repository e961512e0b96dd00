"""queue_overflow: a producer faster than its consumer, once dropping and once blocking."""

from __future__ import annotations

import asyncio
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


DROPPING_POLICIES = ("drop_oldest", "drop_newest")


async def _dropping_phase(ctx: ScenarioContext, make_chunk: Any, policy: str) -> None:
    """Phase B (run first): a dropping queue (``drop_oldest``, else ``drop_newest``), slow
    consumer. Every chunk must be delivered or reported dropped; where the queue has a
    monitor, it must count the drops."""
    p = ctx.params
    target = ctx.target
    queue = target.make_queue(p["max_size"], overflow=policy,
                              event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"], name="dropping")
    consumer = ctx.spawn(slow_consumer(queue, consumer=0, trace=ctx.trace,
                                       delay_ms=p["consumer_delay_ms"],
                                       end_errors=target.closed_errors), name="drop-consumer")
    report = await ctx.spawn(open_loop_producer(
        producer=0, count=p["chunks"], rate=ConstantRate(p["rate_cps"]),
        make_chunk=make_chunk, put=queue.put, trace=ctx.trace,
        start_ns=time.perf_counter_ns(),
        full=full_probe(queue, p["max_size"], policy=policy),
        outcome_of=outcome_classifier(closed_errors=target.closed_errors,
                                      full_errors=target.full_errors),
    ), name="drop-producer")
    await close_queue(queue, ctx=ctx, name="dropping")
    taken = await consumer
    not_policy = ("closed",) if policy == "drop_newest" else ("drop_newest", "closed")
    drop_events = sum(1 for name, payload, _t in ctx.trace.events
                      if name == "stream.chunk_dropped"
                      and payload.get("reason") not in not_policy)
    undelivered = p["chunks"] - taken
    if undelivered == 0:  # the consumer kept up: nothing about overflow was tested
        ctx.invalid(f"dropping phase: the consumer kept up with all {p['chunks']} chunks, "
                    "no overflow happened")
    monitor = _monitor_drops(queue)
    if monitor is None:
        ctx.note("dropping.monitor", "the queue has no monitor counting drops: not judged")
    elif ctx.declares("queue.drop_events"):
        ctx.expect("monitor_counts_drops", monitor == drop_events,
                   f"monitor counted {monitor} dropped items, {drop_events} chunk_dropped "
                   "events", hypotheses=("H3",), clause="queue.monitor_counts_drops")
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
    crashed: list[int] = []  # when the consumer died: a fault window until the close
    consumer.add_done_callback(lambda task: crashed.append(time.perf_counter_ns())
                               if not task.cancelled() and task.exception() else None)
    producer = ctx.spawn(open_loop_producer(
        producer=1, count=p["blocking_chunks"], rate=ConstantRate(p["rate_cps"]),
        make_chunk=make_chunk, put=put, trace=ctx.trace, start_ns=time.perf_counter_ns(),
        full=full_probe(queue, p["max_size"]),
        outcome_of=outcome_classifier(closed_errors=target.closed_errors,
                                      full_errors=target.full_errors),
    ), name="block-producer")
    if target.capabilities.put_timeout:
        # every put ends by its timeout: the producer's worst case is all of them timing out
        bound_s = p["blocking_chunks"] * (1 / p["rate_cps"] + p["put_timeout_ms"] / 1000) + 1.0
        done, _ = await asyncio.wait({producer}, timeout=min(bound_s, ctx.remaining_s() / 2))
        ctx.expect("put_timeout_honoured", bool(done),
                   f"put(timeout={p['put_timeout_ms'] / 1000:g}) still waiting "
                   f"{bound_s:.1f} s into the blocking phase" if not done else
                   "every put(timeout=) ended", hypotheses=("H1",),
                   defects=[("ChunkQueue", "put(timeout) (full queue)", "put_timeout")])
        if not done:  # reported here; the runner's hang report would say it again
            producer.cancel()
            await asyncio.wait({producer})
            if not consumer.done():
                consumer.cancel()
            await close_queue(queue, ctx=ctx, name="blocking")
            drain_nowait(queue, consumer=DRAIN_CONSUMER, trace=ctx.trace)
            return
    report = await producer
    if not consumer.done():
        consumer.cancel()
    await close_queue(queue, ctx=ctx, name="blocking")
    if crashed:
        ctx.trace.fault("consumer crashed", crashed[0], max(crashed[0], time.perf_counter_ns()))
    drained = drain_nowait(queue, consumer=DRAIN_CONSUMER, trace=ctx.trace)
    throttles = sum(1 for name, _p, _t in ctx.trace.events[events_before:]
                    if name == "stream.throttle_started")
    if getattr(queue, "monitor", None) is not None:  # throttling is a monitor's business
        ctx.expect("backpressure_signalled", throttles >= 1,
                   f"{throttles} stream.throttle_started events while the queue filled up",
                   hypotheses=("H3", "H4"), clause="queue.throttle_events")
    # only a put with a timeout can tell its producer; a plain put waits (BUG-038: the
    # runner reports the hang, judged as our recommendation of a timeout)
    if target.capabilities.put_timeout:
        ctx.expect("overflow_reported_to_producer", report.timeouts + report.rejected > 0,
                   f"blocking phase: {report.timeouts} puts timed out, {report.rejected} "
                   f"rejected, {report.queued} queued after the consumer died",
                   hypotheses=("H1",))
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
    requires=("part:queue",),
)
async def queue_overflow(ctx: ScenarioContext) -> None:
    """Producer faster than consumer: dropping, every chunk is delivered or reported
    dropped; blocking, a consumer that dies must not hang the producer (BUG-038).

    Each phase runs when the queue has its policy (a block-only queue runs the blocking
    one, a drop-newest-only queue the dropping one)."""
    pool = chunk_pool(kind="speech", count=64, seed=ctx.seed_for("signal"), **_AUDIO)
    make_chunk = chunk_maker(ctx.target, pool, **_AUDIO)
    policies = ctx.target.capabilities.overflow_policies
    dropping = next((p for p in DROPPING_POLICIES if p in policies), None)
    if dropping is None:
        ctx.skip("overflow:drop_oldest", "dropping phase: the queue has no dropping policy")
    else:
        await _dropping_phase(ctx, make_chunk, dropping)
    if "block" in policies:
        await _blocking_phase(ctx, make_chunk)
    else:
        ctx.skip("overflow:block", "blocking phase: the queue never blocks a put")
