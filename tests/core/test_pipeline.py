"""Pipeline: stages joined by bounded queues, interruption, bounded shutdown, statistics."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from stageflow_core import (
    AudioChunk,
    Pipeline,
    QueueClosed,
    Stage,
    StreamingAudioDuplex,
)

pytestmark = pytest.mark.timeout(10)


async def double(x: int) -> int:
    return 2 * x


async def twice(x: int):
    yield x
    yield x


async def drain(pipeline: Pipeline) -> list:
    return [item async for item in pipeline]


async def test_items_flow_through_every_stage_in_order() -> None:
    pipeline = Pipeline([Stage("double", double), Stage("twice", twice)])
    pipeline.start()
    for i in range(5):
        await pipeline.put(i)
    report = await pipeline.close()
    assert await drain(pipeline) == [0, 0, 2, 2, 4, 4, 6, 6, 8, 8]
    assert report.drained and report.cancelled == () and report.errors == ()


async def test_a_stage_returning_none_forwards_nothing() -> None:
    seen: list[int] = []

    async def sink(x: int) -> None:
        seen.append(x)

    async with Pipeline([Stage("sink", sink)]) as pipeline:
        await pipeline.put(1)
        await pipeline.put(2)
    assert seen == [1, 2]
    assert await pipeline.get() is None


async def test_statistics_count_items_time_and_high_water_mark() -> None:
    release = asyncio.Event()

    async def gated(x: int) -> int:
        await release.wait()
        return x

    pipeline = Pipeline([Stage("gated", gated, max_size=8)])
    pipeline.start()
    for i in range(6):
        pipeline.put_nowait(i)
    await asyncio.sleep(0)
    release.set()
    await pipeline.close()
    stats = pipeline.statistics().stage("gated")
    assert (stats.items_in, stats.items_out, stats.errors) == (6, 6, 0)
    assert stats.input.peak_size == 6
    assert stats.busy_ms > 0 and stats.max_item_ms <= stats.busy_ms


async def test_a_slow_stage_fills_a_drop_oldest_edge_and_every_drop_is_counted() -> None:
    gate = asyncio.Event()
    events: list[tuple[str, dict]] = []

    async def slow(x: int) -> int:
        await gate.wait()
        return x

    pipeline = Pipeline([Stage("fast", double), Stage("slow", slow, max_size=4,
                                                       overflow="drop_oldest")],
                        event_emitter=lambda n, p: events.append((n, p)))
    pipeline.start()
    for i in range(20):
        await pipeline.put(i)
    async with asyncio.timeout(5):
        while pipeline.statistics().stage("fast").items_out < 20:
            await asyncio.sleep(0)
    gate.set()
    await pipeline.close()
    out = await drain(pipeline)
    slow_edge = pipeline.statistics().stage("slow").input
    assert slow_edge.peak_size <= 4
    drops = [p for n, p in events if n == "stream.chunk_dropped"]
    assert len(out) + slow_edge.dropped == 20
    assert len(drops) == slow_edge.dropped > 0
    assert {p["stage"] for p in drops} == {"slow"}


async def test_interrupt_flushes_downstream_edges_and_cancels_work_in_flight() -> None:
    started = asyncio.Event()
    cancelled: list[int] = []

    async def speak(x: int) -> int:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(x)
            raise
        return x

    async def listen(x: int) -> int:
        return x

    duplex = StreamingAudioDuplex()
    duplex.write_output(AudioChunk(data=bytes(3200)))
    pipeline = Pipeline([Stage("listen", listen), Stage("speak", speak, max_size=8)],
                        playout=duplex)
    pipeline.start()
    for i in range(4):
        await pipeline.put(i)
    await asyncio.wait_for(started.wait(), 5)
    async with asyncio.timeout(5):
        while len(pipeline.edge("speak")) < 3:
            await asyncio.sleep(0)
    report = pipeline.interrupt("speak")
    assert report.flushed["speak"] == 3
    assert report.cancelled == ("speak",)
    assert report.playout_bytes == 3200 and duplex.outbound.current_bytes == 0
    await asyncio.sleep(0)
    assert cancelled == [0]
    stats = pipeline.statistics().stage("speak")
    assert (stats.flushed, stats.cancelled, stats.restarts) == (3, 1, 1)
    # the restarted stage takes what comes next
    async def echo_speak() -> None:
        await pipeline.put(9)

    await echo_speak()
    await pipeline.close(drain=False, timeout=0.5)
    assert pipeline.state == "closed"


async def test_interrupt_silences_the_speaker_before_anything_else() -> None:
    pipeline: Pipeline

    class Speaker:
        edges_at_clear: dict[str, int] = {}

        def clear(self) -> int:
            self.edges_at_clear = {"slow": len(pipeline.edge("slow")),
                                   "output": len(pipeline.output)}
            return 640

    async def stuck(x: int) -> int:
        await asyncio.sleep(60)
        return x

    speaker = Speaker()
    pipeline = Pipeline([Stage("slow", stuck, max_size=8)], playout=speaker)
    pipeline.start()
    for i in range(4):
        await pipeline.put(i)
    await asyncio.sleep(0)
    report = pipeline.interrupt()
    assert report.playout_bytes == 640
    assert speaker.edges_at_clear == {"slow": 3, "output": 0}  # cleared while queued
    assert report.flushed["slow"] == 3
    await pipeline.close(drain=False, timeout=0.5)


async def test_is_busy_says_whether_an_interrupt_from_a_stage_would_discard_work() -> None:
    gate = asyncio.Event()

    async def held(x: int) -> int:
        await gate.wait()
        return x

    pipeline = Pipeline([Stage("first", double), Stage("second", held)], output_size=8)
    assert not pipeline.is_busy() and not pipeline.is_busy("second")
    pipeline.start()
    await pipeline.put(1)
    async with asyncio.timeout(5):
        while not pipeline.statistics().stage("second").in_flight:
            await asyncio.sleep(0)
    assert pipeline.is_busy("second") and pipeline.is_busy(0)  # in flight
    gate.set()
    async with asyncio.timeout(5):
        while not len(pipeline.output):
            await asyncio.sleep(0)
    assert pipeline.is_busy("second")  # the output holds what an interrupt would flush
    assert await pipeline.get() == 2
    assert not pipeline.is_busy()
    with pytest.raises(KeyError):
        pipeline.is_busy("third")
    await pipeline.close()


async def test_interrupt_leaves_earlier_stages_alone() -> None:
    gate = asyncio.Event()

    async def held(x: int) -> int:
        await gate.wait()
        return x

    pipeline = Pipeline([Stage("first", held), Stage("second", double)])
    pipeline.start()
    for i in range(3):
        await pipeline.put(i)
    await asyncio.sleep(0)
    report = pipeline.interrupt("second")
    assert report.flushed == {"second": 0, "output": 0} and report.cancelled == ()
    gate.set()
    await pipeline.close()
    assert await drain(pipeline) == [0, 2, 4]


async def test_an_output_of_interrupted_work_never_reaches_the_next_edge() -> None:
    proceed = asyncio.Event()

    async def stubborn(x: int):
        yield x
        with contextlib.suppress(asyncio.CancelledError):  # swallows it and goes on
            await proceed.wait()
        yield x + 100

    pipeline = Pipeline([Stage("stubborn", stubborn)])
    pipeline.start()
    await pipeline.put(1)
    assert await asyncio.wait_for(pipeline.get(), 5) == 1
    pipeline.interrupt()
    await asyncio.sleep(0.01)
    await pipeline.close(timeout=0.5)
    assert await drain(pipeline) == []


async def test_close_drains_then_returns() -> None:
    async def slowish(x: int) -> int:
        await asyncio.sleep(0.001)
        return x

    pipeline = Pipeline([Stage("slowish", slowish, max_size=32)], output_size=64)
    pipeline.start()
    for i in range(20):
        await pipeline.put(i)
    report = await pipeline.close(timeout=5)
    assert report.drained
    assert await drain(pipeline) == list(range(20))


async def test_close_cancels_a_stalled_stage_within_its_deadline() -> None:
    async def stalled(x: int) -> int:
        await asyncio.Event().wait()
        return x

    pipeline = Pipeline([Stage("stalled", stalled, max_size=8)])
    pipeline.start()
    for i in range(5):
        await pipeline.put(i)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    report = await pipeline.close(timeout=0.3)
    assert loop.time() - t0 < 1.0
    assert not report.drained and report.cancelled == ("stalled",)
    assert report.discarded == {"stalled": 4}
    stats = pipeline.statistics().stage("stalled")
    assert stats.cancelled == 1 and stats.discarded == 4


async def test_close_wakes_a_producer_blocked_on_a_full_input() -> None:
    async def stalled(x: int) -> int:
        await asyncio.Event().wait()
        return x

    pipeline = Pipeline([Stage("stalled", stalled, max_size=1)])
    pipeline.start()
    await pipeline.put(1)
    await pipeline.put(2)
    blocked = asyncio.ensure_future(pipeline.put(3))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    await pipeline.close(timeout=0.2)
    with pytest.raises(QueueClosed):
        await asyncio.wait_for(blocked, 1)


async def test_a_stage_ignoring_cancellation_is_abandoned_not_awaited() -> None:
    deaf_until = asyncio.Event()

    async def deaf(x: int) -> int:
        while not deaf_until.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                continue
        return x

    pipeline = Pipeline([Stage("deaf", deaf)])
    pipeline.start()
    await pipeline.put(1)
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    report = await pipeline.close(timeout=0.2)
    assert loop.time() - t0 < 1.0
    assert report.abandoned == ("deaf",)
    deaf_until.set()  # let the abandoned task end before the test's loop closes
    await asyncio.sleep(0.05)


async def test_a_raising_stage_fails_the_pipeline_with_its_name() -> None:
    events: list[tuple[str, dict]] = []

    async def broken(x: int) -> int:
        if x == 2:
            raise RuntimeError("model crashed")
        return x

    async def stuck(x: int) -> int:
        await asyncio.Event().wait()
        return x

    pipeline = Pipeline([Stage("broken", broken), Stage("after", stuck)],
                        event_emitter=lambda n, p: events.append((n, p)))
    pipeline.start()
    for i in range(3):
        await pipeline.put(i)
    async with asyncio.timeout(5):
        while pipeline.state != "failed":
            await asyncio.sleep(0)
    with pytest.raises(QueueClosed):
        await pipeline.put(9)
    report = await pipeline.close(timeout=0.5)
    assert [str(e) for e in report.errors] == ["stage 'broken' raised RuntimeError: model crashed"]
    assert report.errors[0].stage == "broken"
    assert pipeline.state == "failed"
    failed = [p for n, p in events if n == "pipeline.stage_failed"]
    assert failed == [{"stage": "broken", "index": 0, "error": "RuntimeError: model crashed"}]
    assert await pipeline.get() is None


async def test_on_error_skip_counts_and_goes_on() -> None:
    async def picky(x: int) -> int:
        if x % 2:
            raise ValueError(f"odd {x}")
        return x

    async with Pipeline([Stage("picky", picky, on_error="skip")]) as pipeline:
        for i in range(6):
            await pipeline.put(i)
    assert await drain(pipeline) == [0, 2, 4]
    assert pipeline.statistics().stage("picky").errors == 3
    assert len(pipeline.errors) == 3


async def test_finish_emits_at_end_of_stream() -> None:
    window: list[int] = []

    async def collect(x: int) -> None:
        window.append(x)

    async def flush() -> list[int]:
        return list(window)

    async with Pipeline([Stage("window", collect, finish=flush)]) as pipeline:
        for i in range(3):
            await pipeline.put(i)
    assert await drain(pipeline) == [[0, 1, 2]]


async def test_a_source_queue_feeds_the_first_stage() -> None:
    duplex = StreamingAudioDuplex()
    pipeline = Pipeline([Stage("size", lambda_size)], source=duplex.inbound)
    pipeline.start()
    await duplex.send_input(AudioChunk(data=bytes(640)))
    assert await asyncio.wait_for(pipeline.get(), 5) == 640
    await pipeline.close()
    assert duplex.inbound.is_closed


async def lambda_size(chunk: AudioChunk) -> int:
    return len(chunk.data)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "", "fn": double}, "name"),
    ({"name": "x", "fn": lambda x: x}, "async function"),
    ({"name": "x", "fn": double, "max_size": 0}, "max_size"),
    ({"name": "x", "fn": double, "overflow": "sometimes"}, "overflow"),
    ({"name": "x", "fn": double, "on_error": "ignore"}, "on_error"),
])
def test_bad_stage_arguments_are_refused_by_name(kwargs: dict, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        Stage(**kwargs)


def test_bad_pipeline_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Pipeline([])
    with pytest.raises(ValueError, match="unique"):
        Pipeline([Stage("a", double), Stage("a", double)])
    with pytest.raises(TypeError, match="playout"):
        Pipeline([Stage("a", double)], playout=object())


async def test_interrupt_names_an_unknown_stage() -> None:
    pipeline = Pipeline([Stage("a", double)])
    with pytest.raises(KeyError, match="no stage 'b'"):
        pipeline.interrupt("b")


async def test_callable_objects_are_stages() -> None:
    class Scale:
        def __init__(self, k: int) -> None:
            self.k = k

        async def __call__(self, x: int) -> int:
            return self.k * x

    async with Pipeline([Stage("scale", Scale(3))]) as pipeline:
        await pipeline.put(2)
    assert await drain(pipeline) == [6]
