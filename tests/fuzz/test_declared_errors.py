"""The queue machine judges a target by what it declares, not by names or by how it is
driven: an error is labelled by the target's declared error classes for the call (a class
named like "empty" that the target raises for a full put is "full" there), and the
non-blocking calls run inside the machine's event loop (a library may refuse them
without a running loop, as janus does), as the reproduction runs them in ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from harness.fuzz import FuzzConfig
from harness.fuzz.core import ViolationKey
from harness.fuzz.queue_machine import QueueMachine
from harness.fuzz.session import fuzz_machine
from harness.targets.asyncio_queue import AsyncioQueue, AsyncioTarget
from harness.targets.base import EventEmitter


class SlotEmpty(Exception):
    """No slot: raised by a full put *and* an empty get (like anyio's ``WouldBlock``); by
    its name alone it would read as "empty" for both."""


class _AmbiguousQueue(AsyncioQueue):
    """asyncio.Queue whose non-blocking calls raise :class:`SlotEmpty` for full and empty."""

    __slots__ = ()

    def put_nowait(self, item: Any) -> Any:
        try:
            return self.native.put_nowait(item)
        except asyncio.QueueFull:
            raise SlotEmpty from None

    def get_nowait(self) -> Any:
        try:
            return self.native.get_nowait()
        except asyncio.QueueEmpty:
            raise SlotEmpty from None


class _LoopOnlyQueue(AsyncioQueue):
    """asyncio.Queue whose non-blocking calls refuse to run outside a running event loop
    (RuntimeError, as janus's do)."""

    __slots__ = ()

    def put_nowait(self, item: Any) -> Any:
        asyncio.get_running_loop()
        return self.native.put_nowait(item)

    def get_nowait(self) -> Any:
        asyncio.get_running_loop()
        return self.native.get_nowait()


class _Unbounded(_AmbiguousQueue):
    """A real defect: ``put_nowait`` on a full queue accepts the item beyond ``max_size``."""

    __slots__ = ()

    def put_nowait(self, item: Any) -> Any:
        self.native._maxsize += 1  # type: ignore[attr-defined]
        return super().put_nowait(item)


def _target(queue_class: type[AsyncioQueue], name: str) -> AsyncioTarget:
    class Toy(AsyncioTarget):
        full_errors = (SlotEmpty,)
        empty_errors = (SlotEmpty,)

        def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                       event_emitter: EventEmitter | None = None) -> Any:
            self.check_overflow(overflow)
            return queue_class(max_size)

    toy = Toy()
    toy.name = name
    return toy


def _queue_keys(target: AsyncioTarget) -> set[ViolationKey]:
    found, complete, _, _ = fuzz_machine(
        "queue", target, FuzzConfig(max_examples=60, seed=0, shrink=False),
        time.perf_counter_ns() + int(60e9))
    assert complete
    return {violation.key for violation, _ in found}


def _nowait_outcomes(keys: set[ViolationKey]) -> set[ViolationKey]:
    return {key for key in keys if "nowait" in key[2] and key[1] in ("outcome", "fifo")}


def test_an_error_with_an_ambiguous_name_is_labelled_by_the_targets_declaration() -> None:
    assert _nowait_outcomes(_queue_keys(_target(_AmbiguousQueue, "ambiguous"))) == set()


def test_a_real_defect_of_the_same_queue_is_still_found() -> None:
    keys = _queue_keys(_target(_Unbounded, "unbounded"))
    assert ("ChunkQueue", "bounds", "put_nowait (full queue)") in keys


def test_nowait_calls_run_inside_the_machines_running_loop() -> None:
    assert _nowait_outcomes(_queue_keys(_target(_LoopOnlyQueue, "loop-only"))) == set()


def test_declared_kinds_relabel_the_name_based_label_for_the_call_only() -> None:
    machine = QueueMachine.__new__(QueueMachine)
    machine.target = _target(_AmbiguousQueue, "ambiguous")
    assert machine.kinds(SlotEmpty(), "put") == {"raised:empty": "raised:full"}
    assert machine.kinds(SlotEmpty(), "get") == {}  # the name already says empty
    assert machine.kinds(asyncio.QueueFull(), "put") == {}  # undeclared: its name stands
    assert QueueMachine.labelled("call_sync(q.get_nowait)", {}) == "call_sync(q.get_nowait)"


def test_no_raising_emitter_for_a_target_that_declares_emitter_errors_reach_the_caller() -> None:
    from harness.selftest.corpus.clean import drop_newest_queue

    target = drop_newest_queue()          # declares events.emitter_isolated = False
    assert target.semantics.value("events.emitter_isolated") is False
    machine = QueueMachine.__new__(QueueMachine)
    machine.target = target
    assert machine.emitter_mode("raising") == "record"
    assert machine.emitter_mode("record") == "record"
    keys = _queue_keys(target)
    assert not {key for key in keys if key[1] in ("outcome", "unexpected_error")}, keys


def test_a_target_silent_on_emitter_isolation_still_meets_a_raising_emitter() -> None:
    machine = QueueMachine.__new__(QueueMachine)
    machine.target = _target(_AmbiguousQueue, "ambiguous")
    assert machine.emitter_mode("raising") == "raising"


def test_a_users_target_that_declares_no_error_tuples_is_labelled_by_names() -> None:
    from harness.targets.base import error_kind

    class Bare:  # a factory target with none of the *_errors tuples
        pass

    assert error_kind(Bare(), asyncio.QueueEmpty(), call="get") is None
    assert error_kind(Bare(), asyncio.QueueFull(), call="put") is None
