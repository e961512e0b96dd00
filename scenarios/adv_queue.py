"""The adversarial suite, queue side: general faults applied to whatever target is chosen.

Every scenario reaches the queue only through ``ctx.target``, asks for capabilities
instead of assuming them, and leaves the general invariants (none lost, none duplicated,
FIFO per producer, no hang, bounds) to the harness; what a scenario adds is the fault,
scheduled and seeded, and the per-window metrics (``metrics.notes.fault_windows``).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

from mocks.consumers import drain_nowait, fast_consumer, slow_consumer, stalled_consumer
from mocks.faults import FaultWindow, RaisingEmitter, SlowEmitter, burst, stall_during
from mocks.producers import open_loop_producer, outcome_classifier, probe_full
from mocks.rates import ConstantRate
from mocks.trace import split_sequence
from scenarios._common import chunk_maker, chunk_pool, close_queue, full_probe, queue_policy
from scenarios.adv_windows import window_report
from scenarios.context import ScenarioContext, has_part
from scenarios.registry import define_suite, scenario

__all__ = [
    "adv_cancel_storm",
    "adv_close_under_load",
    "adv_emitter_faults",
    "adv_overflow_bursts",
    "adv_stalled_consumer",
]

SUITE = "adversarial"
define_suite(SUITE, "fault injection: stalls, close under load, cancellation storms, "
                    "faulty telemetry, bursts, malformed chunks, extreme configurations, "
                    "barge-in")

_AUDIO = {"sample_rate": 16_000, "channels": 1, "fmt": "pcm_16", "chunk_ms": 20.0}


def _maker(ctx: ScenarioContext) -> Callable[[int, int], Any]:
    pool = chunk_pool(kind="speech", count=32, seed=ctx.seed_for("signal"), **_AUDIO)
    return chunk_maker(ctx.target, pool, **_AUDIO)


def _classify(ctx: ScenarioContext, full_outcome: str = "timeout") -> Any:
    return outcome_classifier(closed_errors=ctx.target.closed_errors,
                              full_errors=ctx.target.full_errors, full_outcome=full_outcome)


def _bounded_put(ctx: ScenarioContext, queue: Any, timeout_ms: float) -> Any:
    """``put(timeout=)`` where the target has it, else the plain put (which may hang)."""
    if ctx.target.capabilities.put_timeout:
        return functools.partial(queue.put, timeout=timeout_ms / 1000.0)
    return queue.put


async def _wait_all(tasks: list[asyncio.Task[Any]], within_s: float) -> int:
    """Wait up to ``within_s`` for ``tasks``; returns how many are still running."""
    pending = [t for t in tasks if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=within_s)
    return sum(1 for t in tasks if not t.done())


@scenario(
    name="adv_stalled_consumer",
    category="reliability",
    hypotheses=("H1", "H5", "H7", "H8"),
    quick={"chunks": 300, "rate_cps": 500.0, "max_size": 20, "stall_start_ms": 150.0,
           "stall_ms": 200.0, "put_timeout_ms": 10.0, "tail_chunks": 30, "deadline_s": 4.0},
    full={"chunks": 3000, "rate_cps": 1000.0, "max_size": 100, "stall_start_ms": 1000.0,
          "stall_ms": 1000.0, "put_timeout_ms": 20.0, "tail_chunks": 200, "deadline_s": 15.0},
    positive=("chunks", "rate_cps", "max_size", "stall_ms", "put_timeout_ms", "tail_chunks",
              "deadline_s"),
    suites=(SUITE,),
    requires=("part:queue",),
)
async def adv_stalled_consumer(ctx: ScenarioContext) -> None:
    """A consumer stalls for a scheduled window, then for good: the producer must time out
    or be told, never hang; after the window, latency must recover."""
    p = ctx.params
    make_chunk = _maker(ctx)
    # 1. a scheduled stall: metrics before, during and after it
    queue = ctx.target.make_queue(p["max_size"], overflow=queue_policy(ctx.target),
                                  event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"], name="stall")
    gate = asyncio.Event()
    gate.set()
    window = FaultWindow(p["stall_start_ms"], p["stall_ms"])
    start = time.perf_counter_ns()
    consumer = ctx.spawn(stalled_consumer(queue, consumer=0, trace=ctx.trace, stall=gate,
                                          end_errors=ctx.target.closed_errors),
                         name="stall-consumer")
    ctx.spawn(stall_during(gate, window, start_ns=start, seed=ctx.seed_for("stall")),
              name="stall-schedule")
    report = await ctx.spawn(open_loop_producer(
        producer=0, count=p["chunks"], rate=ConstantRate(p["rate_cps"]),
        make_chunk=make_chunk, put=_bounded_put(ctx, queue, p["put_timeout_ms"]),
        trace=ctx.trace, start_ns=start, outcome_of=_classify(ctx),
        full=full_probe(queue, p["max_size"], policy=queue_policy(ctx.target))),
        name="stall-producer")
    gate.set()
    await close_queue(queue, ctx=ctx, name="stall")
    await consumer
    ctx.note("fault_windows", [window_report(ctx.trace, window, start_ns=start,
                                             fault="consumer stalled")])
    ctx.note("stall.timeouts", report.timeouts)
    # 2. the consumer never comes back (there is none): every put beyond capacity must end
    queue = ctx.target.make_queue(p["max_size"], overflow=queue_policy(ctx.target),
                                  event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"], name="stalled_for_good")
    report = await ctx.spawn(burst(
        producer=1, count=p["max_size"] + p["tail_chunks"], make_chunk=make_chunk,
        put=_bounded_put(ctx, queue, p["put_timeout_ms"]), trace=ctx.trace,
        outcome_of=_classify(ctx),
        full=full_probe(queue, p["max_size"], policy=queue_policy(ctx.target))),
        name="stuck-producer")
    told = report.timeouts + report.rejected + report.closed + report.dropped
    ctx.expect("producer_told_when_consumer_stalls", told >= p["tail_chunks"],
               f"{told} of {p['tail_chunks']} puts beyond capacity ended with an error or a "
               "drop", hypotheses=("H1", "H5"))
    await close_queue(queue, ctx=ctx, name="stalled_for_good")
    drain_nowait(queue, consumer=1, trace=ctx.trace)


async def _closed_full_put(ctx: ScenarioContext, queue: Any,
                           make_chunk: Callable[[int, int], Any]) -> None:
    """A put on the closed queue that is still full must be refused as closed (raise one of
    the target's closed errors, or return False where it declares that), at once."""
    declared = ctx.semantics.value("queue.closed_put")
    put = asyncio.ensure_future(queue.put(make_chunk(999, 0)))
    done, _ = await asyncio.wait({put}, timeout=0.5)
    if not done:
        put.cancel()
        await asyncio.wait({put})
        got = "still waiting after 0.5 s"
    elif put.exception() is not None:
        exc = put.exception()
        got = "closed" if isinstance(exc, ctx.target.closed_errors) else \
            f"raised {type(exc).__name__}"
    else:
        got = "returned False" if put.result() is False else f"returned {put.result()!r}"
    ok = got == "closed" or (got == "returned False" and declared == "return_false")
    ctx.expect("closed_full_put_refused", ok,
               f"a put on the closed, full queue {got}", hypotheses=("H5",),
               defects=[("ChunkQueue", "put (closed queue)", "outcome")])


@scenario(
    name="adv_close_under_load",
    category="reliability",
    hypotheses=("H5", "H6"),
    quick={"producers": 4, "consumers": 3, "max_size": 8, "burst": 12, "close_grace_ms": 200.0,
           "deadline_s": 3.0},
    full={"producers": 16, "consumers": 8, "max_size": 32, "burst": 64,
          "close_grace_ms": 500.0, "deadline_s": 10.0},
    positive=("producers", "consumers", "max_size", "burst", "close_grace_ms", "deadline_s"),
    suites=(SUITE,),
    requires=("part:queue",),
)
async def adv_close_under_load(ctx: ScenarioContext) -> None:
    """close() while several producers are blocked on a full queue and several consumers
    on an empty one: every waiter must end; queued chunks are still delivered."""
    p = ctx.params
    make_chunk = _maker(ctx)
    full = ctx.target.make_queue(p["max_size"], overflow=queue_policy(ctx.target),
                                  event_emitter=ctx.trace.emitter)
    empty = ctx.target.make_queue(p["max_size"], overflow=queue_policy(ctx.target),
                                  event_emitter=ctx.trace.emitter)
    ctx.watch_queue(full, max_size=p["max_size"], name="full")
    ctx.watch_queue(empty, max_size=p["max_size"], name="empty")
    gate = asyncio.Event()  # the full queue's consumer is stalled until after close()
    drainer = ctx.spawn(stalled_consumer(full, consumer=0, trace=ctx.trace, stall=gate,
                                         end_errors=ctx.target.closed_errors),
                        name="full-drainer")
    no_room = full_probe(full, p["max_size"], policy=queue_policy(ctx.target))
    producers = [ctx.spawn(burst(producer=i, count=p["burst"], make_chunk=make_chunk,
                                 put=full.put, trace=ctx.trace, concurrent=True,
                                 outcome_of=_classify(ctx), full=no_room),
                           name=f"blocked-producer-{i}")
                 for i in range(p["producers"])]
    consumers = [ctx.spawn(fast_consumer(empty, consumer=10 + i, trace=ctx.trace,
                                         end_errors=ctx.target.closed_errors),
                           name=f"blocked-consumer-{i}")
                 for i in range(p["consumers"])]
    for _ in range(50):  # let every producer block and every consumer wait
        await asyncio.sleep(0)
    ctx.note("full_before_close", len(full))
    await close_queue(full, ctx=ctx, name="full")
    await close_queue(empty, ctx=ctx, name="empty")
    await _closed_full_put(ctx, full, make_chunk)
    again: list[str] = []
    for queue in (full, empty):  # a second close() (a teardown after an error path)
        try:
            await close_queue(queue)
        except Exception as exc:
            again.append(f"{type(exc).__name__}: {exc}")
    ctx.expect("second_close_harmless", not again,
               f"close() again on a closed queue raised {again[0]}" if again else
               "close() again on both closed queues did nothing", hypotheses=("H5",),
               defects=[("ChunkQueue", "close", "unexpected_error")],
               clause="queue.close_idempotent")
    grace = p["close_grace_ms"] / 1000.0
    producers_left = await _wait_all(producers, grace)
    consumers_left = await _wait_all(consumers, grace)
    ctx.expect("close_wakes_blocked_producers", producers_left == 0,
               f"{producers_left} of {len(producers)} producers still blocked "
               f"{p['close_grace_ms']:g} ms after close()", hypotheses=("H5",),
               defects=[("ChunkQueue", "close (blocked producer)", "no_hang")])
    ctx.expect("close_wakes_blocked_consumers", consumers_left == 0,
               f"{consumers_left} of {len(consumers)} consumers still waiting "
               f"{p['close_grace_ms']:g} ms after close()", hypotheses=("H5",),
               defects=[("ChunkQueue", "close (blocked consumer)", "no_hang")])
    for task in consumers:  # reported above; a hang report would say the same again
        task.cancel()
    gate.set()
    await drainer
    for task in producers:
        task.cancel()
    await _wait_all([*producers, *consumers], 1.0)


WOKEN_PRODUCERS = 1_000_000
"""Producer ids of the cancel-as-woken phase (the storm's are below)."""


async def _cancel_as_woken(ctx: ScenarioContext, make_chunk: Callable[[int, int], Any],
                           classify: Any) -> None:
    """Each blocked call is cancelled in the same event-loop iteration as the non-blocking
    call that wakes it, before it resumes — what a timeout or a task group does when it
    fires at that moment: a put on a full queue is given room by ``get_nowait()``, a get on
    an empty queue is handed an item by ``put_nowait()``. The call either completes, or ends
    cancelled having queued or taken nothing: a cancelled put's item is never delivered, the
    item meant for a cancelled get stays for the next get."""
    p = ctx.params
    target = ctx.target
    trace = ctx.trace
    if not getattr(target.capabilities, "get_nowait", True):
        ctx.note("woken", "the queue has no get_nowait to wake a put or to look for the item "
                          "a cancelled get was handed: not run")
        return
    policy = queue_policy(target)
    queue = target.make_queue(1, overflow=policy, event_emitter=trace.emitter)
    ctx.watch_queue(queue, max_size=1, name="woken")
    puts = policy == "block"
    gets = bool(target.capabilities.put_nowait)
    delivered = lost = 0

    async def one_put(producer: int, seq: int) -> None:
        began = time.perf_counter_ns()
        try:
            result = await queue.put(make_chunk(producer, seq))
        except asyncio.CancelledError:
            trace.sent(producer, seq, began, began, time.perf_counter_ns(), "cancelled", seq > 0)
            raise
        except Exception as exc:
            trace.sent(producer, seq, began, began, time.perf_counter_ns(), classify(exc, None),
                       seq > 0)
            return
        trace.sent(producer, seq, began, began, time.perf_counter_ns(), classify(None, result),
                   seq > 0)

    def drain() -> set[tuple[int, int]]:
        taken = set()
        for _ in range(4):
            try:
                item = queue.get_nowait()
            except Exception:
                break
            if item is not None:
                producer, seq = split_sequence(item.sequence)
                trace.received(3, producer, seq, time.perf_counter_ns())
                taken.add((producer, seq))
        return taken

    async def settle(task: asyncio.Future[Any]) -> None:
        for _ in range(8):
            await asyncio.sleep(0)
        await _wait_all([task], 0.5)  # a call that is never woken is the hang checks' case

    for round_index in range(p["woken_rounds"]):
        producer = WOKEN_PRODUCERS + 2 * round_index
        if puts:
            await one_put(producer, 0)  # fills the queue: one slot
            put = asyncio.ensure_future(one_put(producer, 1))
            for _ in range(8):  # the put waits for room
                await asyncio.sleep(0)
            if not put.done():
                head = queue.get_nowait()  # room for the waiting put, and at once, before
                put.cancel()  # it resumes, its cancellation
                if head is not None:
                    trace.received(3, *split_sequence(head.sequence), time.perf_counter_ns())
                await settle(put)
                delivered += int(put.cancelled() and (producer, 1) in drain())
            drain()  # an empty queue for the next round
        if gets:
            get = asyncio.ensure_future(queue.get())
            for _ in range(8):  # the get waits for an item
                await asyncio.sleep(0)
            if not get.done():
                began = time.perf_counter_ns()
                try:  # an item for the waiting get, and at once its cancellation
                    outcome = classify(None, queue.put_nowait(make_chunk(producer + 1, 0)))
                except Exception as exc:
                    outcome = classify(exc, None)
                get.cancel()
                trace.sent(producer + 1, 0, began, began, time.perf_counter_ns(), outcome, False)
                await settle(get)
                if get.done() and not get.cancelled() and get.exception() is None:
                    item = get.result()
                    got = split_sequence(item.sequence) if item is not None else None
                    if got is not None:
                        trace.received(3, *got, time.perf_counter_ns())
                    taken = {got} if got is not None else set()
                else:
                    taken = drain()
                lost += int(outcome == "queued" and (producer + 1, 0) not in taken)
    await close_queue(queue, ctx=ctx, name="woken")
    rounds = p["woken_rounds"]
    if puts:
        ctx.expect("woken_put_cancelled_not_delivered", delivered == 0,
                   f"{delivered} of {rounds} puts cancelled as they were given room "
                   "delivered their item anyway (a retrying producer sends it twice)",
                   hypotheses=("H5",), defects=[("ChunkQueue", "cancel (blocked put)", "outcome")])
    else:
        ctx.note("woken.puts", f"a {policy} queue never makes a put wait: not run")
    if gets:
        ctx.expect("woken_get_cancelled_loses_nothing", lost == 0,
                   f"{lost} of {rounds} items handed to a get cancelled as it was woken were "
                   "lost: neither that get nor the next one returned them",
                   hypotheses=("H5",), defects=[("ChunkQueue", "cancel (blocked get)", "no_loss")])
    else:
        ctx.note("woken.gets", "the queue has no put_nowait to hand a waiting get an item at "
                               "once: not run")


@scenario(
    name="adv_cancel_storm",
    category="correctness",
    hypotheses=("H5", "H6"),
    quick={"rounds": 20, "puts_per_round": 12, "gets_per_round": 6, "max_size": 4,
           "cancel_probability": 0.5, "woken_rounds": 10, "deadline_s": 4.0},
    full={"rounds": 200, "puts_per_round": 32, "gets_per_round": 16, "max_size": 8,
          "cancel_probability": 0.5, "woken_rounds": 50, "deadline_s": 15.0},
    positive=("rounds", "puts_per_round", "gets_per_round", "max_size", "woken_rounds",
              "deadline_s"),
    suites=(SUITE,),
    requires=("part:queue",),
)
async def adv_cancel_storm(ctx: ScenarioContext) -> None:
    """Blocked puts and gets are cancelled as they are woken, then at random (seeded): no
    chunk may be lost, duplicated, or delivered although its put was cancelled."""
    p = ctx.params
    rng = ctx.rng
    make_chunk = _maker(ctx)
    await _cancel_as_woken(ctx, make_chunk, _classify(ctx))
    queue = ctx.target.make_queue(p["max_size"], overflow=queue_policy(ctx.target),
                                  event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"], name="storm")
    classify = _classify(ctx)
    trace = ctx.trace
    cancelled_puts: set[tuple[int, int]] = set()
    no_room = full_probe(queue, p["max_size"], policy=queue_policy(ctx.target))

    async def one_put(producer: int) -> None:
        chunk = make_chunk(producer, 0)
        began = time.perf_counter_ns()
        was_full = probe_full(no_room)
        try:
            result = await queue.put(chunk)
        except asyncio.CancelledError:
            trace.sent(producer, 0, began, began, time.perf_counter_ns(), "cancelled",
                       was_full)
            cancelled_puts.add((producer, 0))
            raise
        except Exception as exc:
            trace.sent(producer, 0, began, began, time.perf_counter_ns(), classify(exc, None),
                       was_full)
            return
        trace.sent(producer, 0, began, began, time.perf_counter_ns(), classify(None, result),
                   was_full)

    def record(item: Any, consumer: int) -> None:
        if item is None:
            return
        producer, seq = split_sequence(item.sequence)
        trace.received(consumer, producer, seq, time.perf_counter_ns())

    async def spins(n: int) -> None:
        for _ in range(n):
            await asyncio.sleep(0)

    puts: list[asyncio.Task[Any]] = []
    cancelled_gets = 0
    for round_index in range(p["rounds"]):
        base = round_index * p["puts_per_round"]
        batch = [asyncio.ensure_future(one_put(base + i)) for i in range(p["puts_per_round"])]
        puts += batch
        gets = [asyncio.ensure_future(queue.get()) for _ in range(p["gets_per_round"])]
        await spins(int(rng.integers(0, 4)))
        for task in [*batch, *gets]:
            if not task.done() and rng.random() < p["cancel_probability"]:
                task.cancel()
                cancelled_gets += task in gets
        await spins(int(rng.integers(1, 4)))
        for task in gets:
            if task.done() and not task.cancelled() and task.exception() is None:
                record(task.result(), 0)
            elif not task.done():
                task.cancel()
                cancelled_gets += 1
                await asyncio.wait({task})
                if not task.cancelled() and task.exception() is None:
                    record(task.result(), 0)
    for _ in range(4 * len(puts) + 4):  # drain: every put still waiting gets room
        if all(t.done() for t in puts) and len(queue) == 0:
            break
        try:
            item = queue.get_nowait()
        except Exception:
            await spins(2)
            continue
        record(item, 1)
        await spins(1)
    await close_queue(queue, ctx=ctx, name="storm")
    stuck = await _wait_all(puts, 0.5)
    ctx.expect("puts_end_after_storm", stuck == 0,
               f"{stuck} puts still blocked after the queue was drained and closed",
               hypotheses=("H5",),
               defects=[("ChunkQueue", "close (blocked producer)", "no_hang")])
    receipts = trace.receipts
    resurrected = sum(1 for r in receipts if (int(r["producer"]), int(r["seq"])) in
                      cancelled_puts)
    ctx.expect("cancelled_put_not_delivered", resurrected == 0,
               f"{resurrected} chunks were delivered although their put was cancelled "
               "(a retrying producer would send them twice)", hypotheses=("H5",),
               defects=[("ChunkQueue", "cancel (blocked put)", "outcome")])
    if cancelled_gets and stuck == 0:  # every accepted chunk was drained after the storm
        sends = trace.sends
        accepted = {(int(s["producer"]), int(s["seq"])) for s in sends
                    if s["outcome"] == "queued" and int(s["producer"]) < WOKEN_PRODUCERS}
        taken = {(int(r["producer"]), int(r["seq"])) for r in receipts}
        vanished = len(accepted - taken)
        ctx.expect("cancelled_get_loses_nothing", vanished == 0,
                   f"{vanished} accepted chunks were never delivered after {cancelled_gets} "
                   "gets were cancelled, the queue drained and closed", hypotheses=("H5",),
                   defects=[("ChunkQueue", "cancel (blocked get)", "no_loss")])
    ctx.note("cancelled_puts", len(cancelled_puts))
    ctx.note("cancelled_gets", cancelled_gets)


@scenario(
    name="adv_emitter_faults",
    category="reliability",
    hypotheses=("H4", "H5"),
    quick={"chunks": 400, "rate_cps": 1000.0, "max_size": 20, "consumer_delay_ms": 1.5,
           "fault_start_ms": 100.0, "fault_ms": 150.0, "raise_probability": 0.5,
           "slow_ms": 0.2, "deadline_s": 4.0, "saturation_lag_ms": 250.0},
    full={"chunks": 4000, "rate_cps": 1000.0, "max_size": 50, "consumer_delay_ms": 1.5,
          "fault_start_ms": 1000.0, "fault_ms": 1500.0, "raise_probability": 0.5,
          "slow_ms": 0.2, "deadline_s": 15.0, "saturation_lag_ms": 250.0},
    positive=("chunks", "rate_cps", "max_size", "fault_ms", "deadline_s"),
    suites=(SUITE,),
    requires=("part:queue",),
)
async def adv_emitter_faults(ctx: ScenarioContext) -> None:
    """The telemetry emitter raises and is slow during a scheduled window: the data path
    (queue and, where the target has one, buffer) must not notice, and every drop must
    still be counted. The queue drops oldest where it can, else blocks (bounded put)."""
    p = ctx.params
    make_chunk = _maker(ctx)
    start = time.perf_counter_ns()
    window = FaultWindow(p["fault_start_ms"], p["fault_ms"], p["raise_probability"])
    slow = SlowEmitter(None, p["slow_ms"], window=FaultWindow(p["fault_start_ms"],
                                                              p["fault_ms"]),
                       start_ns=start, seed=ctx.seed_for("slow"))
    faulty = RaisingEmitter(slow, window=window, start_ns=start, seed=ctx.seed_for("raise"))
    record = ctx.trace.emitter

    def emit(name: str, payload: dict[str, Any]) -> None:
        record(name, payload)  # the harness sees every event; then the faulty observer
        faulty(name, payload)

    policies = ctx.target.capabilities.overflow_policies
    policy = "drop_oldest" if "drop_oldest" in policies else sorted(policies)[0]
    queue = ctx.target.make_queue(p["max_size"], overflow=policy, event_emitter=emit)
    ctx.watch_queue(queue, max_size=p["max_size"], name="faulty_telemetry")
    buffer = None
    if has_part(ctx.target, "buffer"):
        buffer = ctx.target.make_buffer(target_duration_ms=40.0, max_duration_ms=100.0,
                                        sample_rate=_AUDIO["sample_rate"],
                                        channels=_AUDIO["channels"], event_emitter=emit)
        ctx.watch_buffer(buffer, max_ms=100.0, name="faulty_telemetry")
    else:
        ctx.skip("buffer", "the target has no buffer: only its queue's telemetry is faulted")
    ctx.note("faulty_telemetry.policy", policy)
    put = queue.put if policy != "block" else _bounded_put(ctx, queue, 50.0)
    escaped: list[str] = []

    async def playout() -> None:
        delay = p["consumer_delay_ms"] / 1000.0
        while True:
            try:
                item = await queue.get()
            except ctx.target.end_errors:  # the stream's end, as the target declares it
                return
            if item is None:
                return
            producer, seq = split_sequence(item.sequence)
            ctx.trace.received(0, producer, seq, time.perf_counter_ns())
            if buffer is not None:
                try:
                    buffer.add_chunk(item)
                    buffer.read(10.0)
                except RuntimeError as exc:  # the emitter's fault leaked into the data path
                    escaped.append(str(exc))
            await asyncio.sleep(delay)

    consumer = ctx.spawn(playout(), name="playout")
    report = await ctx.spawn(open_loop_producer(
        producer=0, count=p["chunks"], rate=ConstantRate(p["rate_cps"]),
        make_chunk=make_chunk, put=put, trace=ctx.trace, start_ns=start,
        outcome_of=_classify(ctx),
        full=full_probe(queue, p["max_size"], policy=policy)), name="producer")
    await close_queue(queue, ctx=ctx, name="faulty_telemetry")
    await consumer
    ctx.expect("telemetry_faults_isolated", report.errors == 0 and not escaped,
               f"{report.errors} puts and {len(escaped)} buffer calls raised the emitter's "
               f"error ({faulty.raised} emitter faults injected)", hypotheses=("H4", "H5"),
               clause="events.emitter_isolated")
    ctx.note("emitter.raised", faulty.raised)
    ctx.note("emitter.delayed", slow.delayed)
    ctx.note("fault_windows", [window_report(ctx.trace, window, start_ns=start,
                                             fault="emitter raises / is slow")])


@scenario(
    name="adv_overflow_bursts",
    category="reliability",
    hypotheses=("H1", "H5", "H8"),
    quick={"max_size": 16, "burst_factor": 10, "consumer_delay_ms": 0.2,
           "put_timeout_ms": 5.0, "deadline_s": 5.0},
    full={"max_size": 100, "burst_factor": 10, "consumer_delay_ms": 0.2,
          "put_timeout_ms": 5.0, "deadline_s": 20.0},
    positive=("max_size", "burst_factor", "put_timeout_ms", "deadline_s"),
    suites=(SUITE,),
    requires=("part:queue",),
)
async def adv_overflow_bursts(ctx: ScenarioContext) -> None:
    """Bursts far above capacity under each overflow policy the target has: every chunk
    is delivered, dropped with an event or refused; the queue drains back to empty."""
    p = ctx.params
    make_chunk = _maker(ctx)
    results: dict[str, Any] = {}
    policies = sorted(ctx.target.capabilities.overflow_policies)
    for index, policy in enumerate(policies):
        queue = ctx.target.make_queue(p["max_size"], overflow=policy,
                                      event_emitter=ctx.trace.emitter)
        ctx.watch_queue(queue, max_size=p["max_size"], name=f"burst_{policy}")
        consumer = ctx.spawn(slow_consumer(queue, consumer=index, trace=ctx.trace,
                                           delay_ms=p["consumer_delay_ms"],
                                           end_errors=ctx.target.closed_errors),
                             name=f"{policy}-consumer")
        put = _bounded_put(ctx, queue, p["put_timeout_ms"]) if policy == "block" else queue.put
        started = time.perf_counter_ns()
        report = await ctx.spawn(burst(
            producer=index, count=p["max_size"] * p["burst_factor"], make_chunk=make_chunk,
            put=put, trace=ctx.trace,
            outcome_of=_classify(ctx, "timeout" if policy == "block" else "rejected"),
            full=full_probe(queue, p["max_size"], policy=policy)),
            name=f"{policy}-burst")
        burst_end = time.perf_counter_ns()
        while len(queue) and time.perf_counter_ns() - burst_end < 2e9:
            await asyncio.sleep(0.001)
        drained = time.perf_counter_ns()
        await close_queue(queue, ctx=ctx, name=f"burst_{policy}")
        await consumer
        results[policy] = {
            "sent": report.sent, "queued": report.queued, "dropped": report.dropped,
            "timeouts": report.timeouts, "rejected": report.rejected,
            "burst_ms": round((burst_end - started) / 1e6, 3),
            "recovery_ms": round((drained - burst_end) / 1e6, 3),
        }
    ctx.note("policies", results)

