"""ChunkQueue against a deque model: every policy, several producers and consumers,
timeouts, cancellations and close, in random order (hypothesis state machine).

Rules are synchronous. Blocking calls run as tasks on a private event loop whose clock
only moves when a rule advances it, so timeouts fire exactly when the model says; after
each rule the loop is run until every task has either finished or parked again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from stageflow_core import ChunkQueue, QueueClosed, QueueEmpty, QueueFull

pytestmark = pytest.mark.timeout(60)

POLICIES = ["block", "drop_oldest", "drop_newest", "reject"]
TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Item:
    sequence: int


@dataclass
class Producer:
    task: asyncio.Task[bool]
    item: Item
    timed: bool


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose timers fire only when the test advances ``now``."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def time(self) -> float:
        return self.now


_RAISES = object()


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = VirtualClockLoop()
        self.next_sequence = 0
        self.model: deque[Item] = deque()
        self.producers: list[Producer] = []
        self.consumers: list[asyncio.Task[Item | None]] = []
        self.expected: list[tuple[asyncio.Task[Any], Any, type[BaseException] | None]] = []
        self.closed = False
        self.tasks: list[asyncio.Task[Any]] = []
        self.sent: list[Item] = []
        self.delivered: list[Item] = []
        self.refused: list[Item] = []
        self.expected_drops: list[tuple[str, int]] = []
        self.drop_events: list[tuple[str, int]] = []

    # -- plumbing ---------------------------------------------------------------------

    def emit(self, name: str, payload: dict[str, Any]) -> None:
        if name == "stream.chunk_dropped":
            self.drop_events.append((payload["reason"], payload["sequence"]))

    def new_item(self) -> Item:
        self.next_sequence += 1
        item = Item(self.next_sequence)
        self.sent.append(item)
        return item

    def settle(self) -> None:
        async def steps() -> None:
            for _ in range(20):
                await asyncio.sleep(0)

        self.loop.run_until_complete(steps())

    def propagate(self) -> None:
        """Model what waiting tasks do once the loop runs: FIFO, one item or slot each."""
        while self.producers and (self.closed or len(self.model) < self.max_size):
            producer = self.producers.pop(0)
            if self.closed:
                self.expected.append((producer.task, None, QueueClosed))
                self.refused.append(producer.item)
            else:
                self.model.append(producer.item)
                self.expected.append((producer.task, True, None))
        while self.consumers and (self.model or self.closed):
            consumer = self.consumers.pop(0)
            item = self.model.popleft() if self.model else None
            self.expected.append((consumer, item, None))
            if item is not None:
                self.delivered.append(item)

    def finish_rule(self) -> None:
        self.propagate()
        self.settle()
        for task, result, error in self.expected:
            assert task.done(), "a task the model expected to finish is still waiting"
            if error is None:
                assert task.result() == result
            elif error is asyncio.CancelledError:
                assert task.cancelled()
            else:
                assert isinstance(task.exception(), error)
        self.expected.clear()

    def put_into_model(self, item: Item) -> Any:
        """The model of put_nowait: the return value, or _RAISES with the error type."""
        if self.closed:
            self.refused.append(item)
            return _RAISES, QueueClosed
        if len(self.model) < self.max_size:
            self.model.append(item)
            return True, None
        if self.policy == "drop_oldest":
            evicted = self.model.popleft()
            self.expected_drops.append(("drop_oldest", evicted.sequence))
            self.model.append(item)
            return True, None
        if self.policy == "drop_newest":
            self.expected_drops.append(("drop_newest", item.sequence))
            return False, None
        self.refused.append(item)
        return _RAISES, QueueFull

    # -- setup ------------------------------------------------------------------------

    @initialize(max_size=st.integers(1, 4), policy=st.sampled_from(POLICIES))
    def make_queue(self, max_size: int, policy: str) -> None:
        self.setup_queue(max_size, policy)

    def setup_queue(self, max_size: int, policy: str) -> None:
        self.max_size = max_size
        self.policy = policy
        self.queue: ChunkQueue[Item] = ChunkQueue(max_size, overflow=policy,
                                                  event_emitter=self.emit)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = self.loop.create_task(coro)
        self.tasks.append(task)
        return task

    def teardown(self) -> None:
        pending = [task for task in self.tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    # -- non-blocking rules -----------------------------------------------------------

    @rule()
    def put_nowait(self) -> None:
        item = self.new_item()
        expected, error = self.put_into_model(item)
        if expected is _RAISES:
            with pytest.raises(error):
                self.queue.put_nowait(item)
        else:
            assert self.queue.put_nowait(item) is expected
        self.finish_rule()

    @rule(count=st.integers(0, 5))
    def put_many_nowait(self, count: int) -> None:
        """Model: consecutive put_nowait calls that stop at the first refusal."""
        items = [self.new_item() for _ in range(count)]
        queued = 0
        handed_over = 0
        error: type[BaseException] | None = QueueClosed if self.closed else None
        while error is None and handed_over < count:
            result, error = self.put_into_model(items[handed_over])
            if result is not _RAISES:
                queued += result
                handed_over += 1
        if error is None:
            assert self.queue.put_many_nowait(items) == queued
        else:
            if self.closed:
                self.refused.extend(items)
            else:  # put_into_model refused items[handed_over]; the rest are not tried
                self.refused.extend(items[handed_over + 1:])
            with pytest.raises(error) as caught:
                self.queue.put_many_nowait(items)
            assert caught.value.queued == handed_over  # type: ignore[attr-defined]
        self.finish_rule()

    @rule()
    def get_nowait(self) -> None:
        if self.model:
            expected = self.model.popleft()
            assert self.queue.get_nowait() == expected
            self.delivered.append(expected)
        elif self.closed:
            assert self.queue.get_nowait() is None
        else:
            with pytest.raises(QueueEmpty):
                self.queue.get_nowait()
        self.finish_rule()

    @rule(max_items=st.integers(1, 5))
    def get_many_nowait(self, max_items: int) -> None:
        if not self.model and not self.closed:
            with pytest.raises(QueueEmpty):
                self.queue.get_many_nowait(max_items)
        else:
            expected = [self.model.popleft() for _ in range(min(max_items, len(self.model)))]
            assert self.queue.get_many_nowait(max_items) == expected
            self.delivered.extend(expected)
        self.finish_rule()

    @rule()
    def close(self) -> None:
        self.closed = True
        self.queue.close_nowait()
        self.finish_rule()

    # -- blocking rules ---------------------------------------------------------------

    def full_and_blocking(self) -> bool:
        return self.policy == "block" and not self.closed and len(self.model) >= self.max_size

    @precondition(full_and_blocking)
    @rule(timed=st.booleans())
    def start_blocked_producer(self, timed: bool) -> None:
        item = self.new_item()
        task = self.spawn(self.queue.put(item, timeout=TIMEOUT_S if timed else None))
        self.producers.append(Producer(task, item, timed))
        self.finish_rule()

    @precondition(full_and_blocking)
    @rule()
    def put_with_zero_timeout(self) -> None:
        item = self.new_item()
        self.refused.append(item)
        with pytest.raises(QueueFull):
            self.loop.run_until_complete(self.queue.put(item, timeout=0))
        self.finish_rule()

    @precondition(lambda self: any(p.timed for p in self.producers))
    @rule()
    def let_timeouts_expire(self) -> None:
        for producer in [p for p in self.producers if p.timed]:
            self.producers.remove(producer)
            self.expected.append((producer.task, None, QueueFull))
            self.refused.append(producer.item)
        self.loop.now += 2 * TIMEOUT_S
        self.finish_rule()

    @precondition(lambda self: not self.model and not self.closed)
    @rule()
    def start_waiting_consumer(self) -> None:
        self.consumers.append(self.spawn(self.queue.get()))
        self.finish_rule()

    @precondition(lambda self: self.producers)
    @rule(data=st.data())
    def cancel_waiting_producer(self, data: st.DataObject) -> None:
        producer = data.draw(st.sampled_from(self.producers))
        self.producers.remove(producer)
        self.refused.append(producer.item)
        producer.task.cancel()
        self.expected.append((producer.task, None, asyncio.CancelledError))
        self.finish_rule()

    @precondition(lambda self: self.consumers)
    @rule(data=st.data())
    def cancel_waiting_consumer(self, data: st.DataObject) -> None:
        consumer = data.draw(st.sampled_from(self.consumers))
        self.consumers.remove(consumer)
        consumer.cancel()
        self.expected.append((consumer, None, asyncio.CancelledError))
        self.finish_rule()

    @precondition(lambda self: self.producers)
    @rule()
    def wake_producer_then_cancel_it(self) -> None:
        """A get makes room and wakes the first producer, which is cancelled before it
        runs: its item must not be queued and the room must go to the next producer."""
        expected = self.model.popleft()
        assert self.queue.get_nowait() == expected
        self.delivered.append(expected)
        first = self.producers.pop(0)
        first.task.cancel()
        self.refused.append(first.item)
        self.expected.append((first.task, None, asyncio.CancelledError))
        self.finish_rule()

    @precondition(lambda self: self.consumers)
    @rule()
    def wake_consumer_then_cancel_it(self) -> None:
        """A put wakes the first consumer, which is cancelled before it runs: the item
        must stay queued for the next consumer."""
        item = self.new_item()
        assert self.queue.put_nowait(item) is True
        self.model.append(item)
        first = self.consumers.pop(0)
        first.cancel()
        self.expected.append((first, None, asyncio.CancelledError))
        self.finish_rule()

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def size_and_waiters_match_the_model(self) -> None:
        if not hasattr(self, "queue"):
            return
        stats = self.queue.statistics()
        assert (stats.size, stats.waiting_putters, stats.waiting_getters) == (
            len(self.model), len(self.producers), len(self.consumers)
        )
        assert stats.size <= self.max_size

    @invariant()
    def drops_are_reported_once_each(self) -> None:
        assert self.drop_events == self.expected_drops

    @invariant()
    def every_item_is_accounted_for_exactly_once(self) -> None:
        dropped = [seq for _, seq in self.drop_events]
        waiting = [p.item.sequence for p in self.producers]
        seen = ([i.sequence for i in self.delivered] + dropped + waiting
                + [i.sequence for i in self.refused] + [i.sequence for i in self.model])
        assert sorted(seen) == [i.sequence for i in self.sent]


class BlockingQueueMachine(QueueMachine):
    """The same model with the ``block`` policy only, where producers and consumers wait,
    time out, are cancelled and are woken: the search budget goes to those paths."""

    @initialize(max_size=st.integers(1, 3))
    def make_queue(self, max_size: int) -> None:  # type: ignore[override]
        self.setup_queue(max_size, "block")


MODEL_SETTINGS = settings(
    max_examples=60,
    stateful_step_count=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
QueueMachine.TestCase.settings = MODEL_SETTINGS
BlockingQueueMachine.TestCase.settings = settings(MODEL_SETTINGS, max_examples=100)
test_chunk_queue_matches_deque_model = QueueMachine.TestCase
test_blocking_chunk_queue_matches_deque_model = BlockingQueueMachine.TestCase
