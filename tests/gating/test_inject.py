"""Regression injection: the grammar, and what the wrapper does to a target's methods."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from harness.inject import InjectedFault, InjectionError, Rule, inject, parse_injection
from harness.targets import load_target


@pytest.fixture
def core() -> Any:
    return load_target("stageflow_core")


@pytest.mark.parametrize(("text", "message"), [
    ("put+20", "expected a unit (ns, us, ms, s) after the number at column 7"),
    ("pu+1ms", "unknown method 'pu'"),
    ("put-1ms", "unexpected character '-' at column 4"),
    ("put+20us,", "expected a method name such as put, get or read, found the end at column 10"),
    ("put*0.5", "the factor must be between 1 and 1000 at column 5"),
    ("put:copy", "':copy' applies to buffer methods only at column 5"),
    ("put:melt", "expected a fault (copy, fail), found 'melt' at column 5"),
    ("get+1ms@0%", "the share must be > 0% and <= 100% at column 9"),
    ("get+1ms@5", "expected '%', found the end at column 10"),
    ("queue.read+1us", "unknown queue method 'read'"),
    ("  ", "empty expression"),
])
def test_bad_expressions_are_refused_with_the_column(text: str, message: str) -> None:
    with pytest.raises(InjectionError) as info:
        parse_injection(text)
    assert message in str(info.value)
    assert str(info.value).startswith(f"--inject {text!r}" if text.strip() else "--inject:")


def test_rules_parse_into_parts_methods_and_amounts() -> None:
    injection = parse_injection("put+20us, get~0.3ms, read:copy, queue.put:fail@1%, get*1.25")
    assert injection.rules == (
        Rule("put+20us", "queue", "put", "work", 20_000.0),
        Rule("get~0.3ms", "queue", "get", "wait", 300_000.0),
        Rule("read:copy", "buffer", "read", "copy"),
        Rule("queue.put:fail@1%", "queue", "put", "fail", 0.0, 0.01),
        Rule("get*1.25", "queue", "get", "scale", 1.25),
    )


def test_work_holds_every_call_at_least_that_long(core: Any) -> None:
    queue = inject(core, "put_nowait+300us").make_queue(100)
    for i in range(5):
        started = time.perf_counter_ns()
        queue.put_nowait(i)
        assert time.perf_counter_ns() - started >= 300_000
    assert len(queue) == 5


async def test_wait_delays_a_coroutine_method_and_keeps_its_result(core: Any) -> None:
    queue = inject(core, "get~2ms").make_queue(10)
    await queue.put("a")
    started = time.perf_counter_ns()
    assert await queue.get() == "a"
    assert time.perf_counter_ns() - started >= 2_000_000


@pytest.mark.parametrize("effect", ["+3ms", "~3ms"])
async def test_a_get_hands_over_late_even_the_item_it_waited_for(core: Any,
                                                               effect: str) -> None:
    """The delay of a get comes after it took the item: a consumer already waiting on an
    empty queue (as an open-loop consumer is) still receives every item that late."""
    queue = inject(core, f"get{effect}").make_queue(10)
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)  # one loop turn: the get runs until it parks on the empty queue
    assert not waiting.done()
    put_at = time.perf_counter_ns()
    await queue.put("a")
    assert await waiting == "a"
    assert time.perf_counter_ns() - put_at >= 3_000_000
    other = inject(core, "get_nowait+3ms").make_queue(10)
    other.put_nowait("b")
    started = time.perf_counter_ns()
    assert other.get_nowait() == "b"
    assert time.perf_counter_ns() - started >= 3_000_000


async def test_injected_objects_keep_their_class_behaviour_and_order(core: Any) -> None:
    plain = core.make_queue(10)
    queue = inject(core, "put+1us,get*1.5").make_queue(10)
    assert isinstance(queue, type(plain))
    for i in range(5):
        await queue.put(i)
    assert len(queue) == 5
    assert [await queue.get() for _ in range(5)] == [0, 1, 2, 3, 4]


async def test_a_cancelled_scaled_call_is_cancelled_and_the_queue_goes_on(core: Any) -> None:
    queue = inject(core, "get*2").make_queue(10)
    waiter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await queue.put(7)
    assert await asyncio.wait_for(queue.get(), 1.0) == 7


def test_fail_raises_on_the_share_of_calls_it_names(core: Any) -> None:
    always = inject(core, "put_nowait:fail").make_queue(10)
    with pytest.raises(InjectedFault, match="put_nowait:fail"):
        always.put_nowait(1)
    sometimes = inject(core, "put_nowait:fail@50%").make_queue(1000)
    failures = 0
    for i in range(400):
        try:
            sometimes.put_nowait(i)
        except InjectedFault:
            failures += 1
    assert 120 < failures < 280
    again = inject(core, "put_nowait:fail@50%").make_queue(1000)
    repeat = 0
    for i in range(400):
        try:
            again.put_nowait(i)
        except InjectedFault:
            repeat += 1
    assert repeat == failures  # seeded by the rule text: reproducible


def test_copy_reads_the_whole_buffered_audio_and_leaves_the_data_intact(
    core: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.inject as module

    seen: list[int] = []
    real = module._level_bytes
    monkeypatch.setattr(module, "_level_bytes",
                        lambda buffer, fmt: seen.append(real(buffer, fmt)) or seen[-1])
    target = inject(core, "read:copy")
    buffer = target.make_buffer(target_duration_ms=20.0, max_duration_ms=1000.0,
                                sample_rate=16_000, channels=1, fmt="pcm_16")
    data = bytes(range(256)) * 25  # 6,400 B = 200 ms
    buffer.add_chunk(target.make_chunk(data, sample_rate=16_000, channels=1))
    assert buffer.read(100) == data[:3_200]
    assert seen[-1] == 6_400


def test_methods_the_target_lacks_are_reported_before_anything_runs() -> None:
    class QueueOnly:
        name = "queue-only"

        def make_queue(self, max_size: int = 100, **_: Any) -> Any:
            return asyncio.Queue(max_size)

    with pytest.raises(InjectionError, match=r"'queue-only''s queue \(Queue\) has no method "
                                             r"'put_many'"):
        inject(QueueOnly(), "put_many+1us")


def test_wait_on_a_method_that_is_not_a_coroutine_is_refused(core: Any) -> None:
    with pytest.raises(InjectionError, match=r"StreamingBuffer.read is not a coroutine"):
        inject(core, "read~1ms")


def test_other_attributes_are_the_wrapped_targets(core: Any) -> None:
    wrapped = inject(core, "put+1us")
    assert (wrapped.name, wrapped.version, wrapped.capabilities) == (
        core.name, core.version, core.capabilities)
