"""The corpus is what it claims: each seeded member breaks its one clause (shown directly,
not through the judge) while the clean member it derives from keeps it, and each clean
member keeps every clause it declares."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from harness.selftest.corpus import CLEAN, MEMBERS, SEEDED
from harness.targets import load_target
from scenarios._common import ramp_bytes

Check = Callable[[Any], Awaitable[bool]]
WAIT_S = 0.3


def _policy(target: Any) -> str:
    policies = target.capabilities.overflow_policies
    return "block" if "block" in policies else sorted(policies)[0]


def _queue(target: Any, size: int = 4, policy: str | None = None, events: list | None = None
           ) -> Any:
    emit = None if events is None else (lambda n, p: events.append((n, dict(p))))
    return target.make_queue(size, overflow=policy or _policy(target), event_emitter=emit)


def _chunk(target: Any, seq: int, **kw: Any) -> Any:
    return target.make_chunk(b"\x00\x00", sample_rate=16000, channels=1, sequence=seq, **kw)


async def _close(queue: Any) -> None:
    result = queue.close()
    if asyncio.iscoroutine(result):
        await result


async def _spin(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def _refused(target: Any, exc: BaseException) -> bool:
    return isinstance(exc, target.closed_errors) if target.closed_errors else False


# --- queue clauses ----------------------------------------------------------------------------

async def close_wakes_getters(t: Any) -> bool:
    q = _queue(t)
    getters = [asyncio.ensure_future(q.get()) for _ in range(3)]
    await _spin()
    await _close(q)
    done, _ = await asyncio.wait(getters, timeout=WAIT_S)
    for g in getters:
        g.cancel()
    return len(done) == 3


async def close_idempotent(t: Any) -> bool:
    q = _queue(t)
    await _close(q)
    try:
        await _close(q)
    except Exception:
        return False
    return True


async def closed_put_refused(t: Any) -> bool:
    q = _queue(t)
    await _close(q)
    try:
        result = await q.put(_chunk(t, 1))
    except Exception as exc:
        return _refused(t, exc) and t.semantics.value("queue.closed_put") == "raise"
    return result is False and await q.get() is None


async def closed_full_put_refused(t: Any) -> bool:
    q = _queue(t, 1)
    await q.put(_chunk(t, 0))
    await _close(q)
    try:
        await q.put(_chunk(t, 1))
    except Exception as exc:
        return _refused(t, exc)
    return False


async def end_of_stream(t: Any) -> bool:
    q = _queue(t)
    await q.put(_chunk(t, 0))
    await _close(q)
    try:
        return (await q.get()).sequence == 0 and await q.get() is None
    except Exception:
        return False


async def close_wakes_putters(t: Any) -> bool:
    q = _queue(t, 1)
    await q.put(_chunk(t, 0))
    putter = asyncio.ensure_future(q.put(_chunk(t, 1)))
    await _spin()
    await _close(q)
    done, _ = await asyncio.wait([putter], timeout=WAIT_S)
    putter.cancel()
    return bool(done) and not putter.cancelled() and _refused(t, putter.exception())


async def put_wakes_getter(t: Any) -> bool:
    q = _queue(t)
    getter = asyncio.ensure_future(q.get())
    await _spin()
    q.put_nowait(_chunk(t, 7))
    done, _ = await asyncio.wait([getter], timeout=WAIT_S)
    getter.cancel()
    return bool(done) and getter.result().sequence == 7


async def cancelled_get_loses_nothing(t: Any) -> bool:
    q = _queue(t)
    getter = asyncio.ensure_future(q.get())
    await _spin()
    await q.put(_chunk(t, 7))
    getter.cancel()  # woken, cancelled before it ran
    await asyncio.wait([getter])
    if not getter.cancelled():
        return getter.result().sequence == 7
    return len(q) == 1 and q.get_nowait().sequence == 7


async def cancelled_put_delivers_nothing(t: Any) -> bool:
    q = _queue(t, 1)
    await q.put(_chunk(t, 0))
    putter = asyncio.ensure_future(q.put(_chunk(t, 1)))
    await _spin()
    putter.cancel()
    await asyncio.wait([putter])
    return q.get_nowait().sequence == 0 and len(q) == 0


async def put_timeout_ends(t: Any) -> bool:
    q = _queue(t, 1)
    await q.put(_chunk(t, 0))
    try:
        await asyncio.wait_for(q.put(_chunk(t, 1), timeout=0.01), WAIT_S)
    except TimeoutError:
        return False
    except t.full_errors:
        return True
    return False


async def bound_held(t: Any) -> bool:
    q = _queue(t, 3)
    for seq in range(5):
        with contextlib.suppress(t.full_errors):
            q.put_nowait(_chunk(t, seq))
    return len(q) <= 3


async def fifo_once_each(t: Any) -> bool:
    q = _queue(t, 20)
    for seq in range(20):
        q.put_nowait(_chunk(t, seq))
    return [q.get_nowait().sequence for _ in range(20)] == list(range(20))


async def len_after_drops(t: Any) -> bool:
    q = _queue(t, 2, "drop_oldest")
    for seq in range(4):
        await q.put(_chunk(t, seq))
    return len(q) == 2


async def drop_announced(t: Any) -> bool:
    events: list = []
    q = _queue(t, 1, "drop_oldest", events)
    for seq in range(2):
        await q.put(_chunk(t, seq))
    return [n for n, _ in events if n == "stream.chunk_dropped"] == ["stream.chunk_dropped"]


async def drop_newest_reported(t: Any) -> bool:
    q = _queue(t, 1, "drop_newest")
    return await q.put(_chunk(t, 0)) is True and await q.put(_chunk(t, 1)) is False


# --- buffer clauses ---------------------------------------------------------------------------

def _buffer(t: Any, *, max_ms: float = 500.0, rate: int = 16000, channels: int = 1,
            events: list | None = None, target_ms: float = 20.0) -> Any:
    emit = None if events is None else (lambda n, p: events.append((n, dict(p))))
    return t.make_buffer(target_duration_ms=min(target_ms, max_ms), max_duration_ms=max_ms,
                         sample_rate=rate, channels=channels, event_emitter=emit)


def _audio(t: Any, first: int, frames: int, *, rate: int = 16000, channels: int = 1) -> Any:
    return t.make_chunk(ramp_bytes(first, frames, channels), sample_rate=rate,
                        channels=channels)


async def reads_whole_frames(t: Any) -> bool:
    b = _buffer(t, rate=22050, channels=2)
    b.add_chunk(_audio(t, 0, 2205, rate=22050, channels=2))
    return all(len(b.read(10)) % 4 == 0 for _ in range(5))


async def trims_whole_frames(t: Any) -> bool:
    b = _buffer(t, max_ms=7.0, rate=22050, channels=2)
    for i in range(6):
        b.add_chunk(_audio(t, i * 111, 111, rate=22050, channels=2))
    data = b.read(100)
    return len(data) % 4 == 0 and data[:2] == data[2:4]  # channels of a frame agree


async def buffer_bound_held(t: Any) -> bool:
    b = _buffer(t, max_ms=10.0)
    b.add_chunk(_audio(t, 0, 250))
    return float(b.duration_ms) <= 10.0 + 1e-9


async def level_after_clear(t: Any) -> bool:
    b = _buffer(t)
    b.add_chunk(_audio(t, 0, 1600))
    b.clear()
    return b.current_bytes == 0


async def level_after_read(t: Any) -> bool:
    b = _buffer(t)
    b.add_chunk(_audio(t, 0, 1600))
    b.read(20)
    return b.current_bytes == 2 * (1600 - 320)


async def overflow_announced(t: Any) -> bool:
    events: list = []
    b = _buffer(t, max_ms=10.0, events=events)
    b.add_chunk(_audio(t, 0, 250))
    return any(n == "stream.buffer_overflow" for n, _ in events)


async def underrun_announced(t: Any) -> bool:
    events: list = []
    b = _buffer(t, events=events)
    b.add_chunk(_audio(t, 0, 80))
    b.read(20)
    return any(n == "stream.buffer_underrun" for n, _ in events)


async def recovery_announced(t: Any) -> bool:
    events: list = []
    b = _buffer(t, events=events)
    b.read(20)
    b.add_chunk(_audio(t, 0, 800))
    b.read(20)
    return any(n == "stream.buffer_recovered" for n, _ in events)


async def mismatched_refused(t: Any) -> bool:
    b = _buffer(t)
    try:
        b.add_chunk(_audio(t, 0, 441, rate=22050))
    except ValueError:
        return float(b.duration_ms) == 0.0
    return False


async def oversized_keeps_newest(t: Any) -> bool:
    b = _buffer(t, max_ms=10.0)  # 160 frames
    b.add_chunk(_audio(t, 0, 400))
    data = b.read(10)
    return data[:2] == ramp_bytes(240, 1, 1)


async def trim_is_minimal(t: Any) -> bool:
    b = _buffer(t, max_ms=100.0)  # 1600 frames
    b.add_chunk(_audio(t, 0, 1280))
    b.add_chunk(_audio(t, 1280, 640))
    return abs(float(b.duration_ms) - 100.0) < 1e-6


async def pcm24_duration(t: Any) -> bool:
    chunk = t.make_chunk(bytes(3 * 16000), sample_rate=16000, channels=1, fmt="pcm_24")
    return abs(float(chunk.duration_ms) - 1000.0) < 1e-6


def _has(t: Any, part: str) -> bool:
    return part in getattr(t, "parts", ("queue", "buffer"))


def _declares(clause: str, value: Any = True) -> Callable[[Any], bool]:
    return lambda t: t.semantics.value(clause) == value


def _queue_with(*policies: str) -> Callable[[Any], bool]:
    return lambda t: _has(t, "queue") and set(policies) <= t.capabilities.overflow_policies


_QUEUE = _queue_with()
_BUFFER: Callable[[Any], bool] = lambda t: _has(t, "buffer")  # noqa: E731

CLAUSES: dict[str, tuple[Check, Callable[[Any], bool]]] = {
    "close_wakes_getters": (close_wakes_getters, _declares("queue.close_wakes_getters")),
    "close_idempotent": (close_idempotent, _declares("queue.close_idempotent")),
    "closed_put_refused": (closed_put_refused, _QUEUE),
    "closed_full_put_refused": (closed_full_put_refused,
                                lambda t: _queue_with("block")(t)
                                and t.semantics.value("queue.closed_put") == "raise"),
    "end_of_stream": (end_of_stream, _declares("queue.end_of_stream", "return_none")),
    "close_wakes_putters": (close_wakes_putters,
                            lambda t: _queue_with("block")(t)
                            and _declares("queue.close_wakes_putters")(t)),
    "put_wakes_getter": (put_wakes_getter, _QUEUE),
    "cancelled_get_loses_nothing": (cancelled_get_loses_nothing, _QUEUE),
    "cancelled_put_delivers_nothing": (cancelled_put_delivers_nothing, _queue_with("block")),
    "put_timeout_ends": (put_timeout_ends, lambda t: _QUEUE(t) and t.capabilities.put_timeout),
    "bound_held": (bound_held, _QUEUE),
    "fifo_once_each": (fifo_once_each, _QUEUE),
    "len_after_drops": (len_after_drops, _queue_with("drop_oldest")),
    "drop_announced": (drop_announced, lambda t: _queue_with("drop_oldest")(t)
                       and _declares("queue.drop_events")(t)),
    "drop_newest_reported": (drop_newest_reported, _queue_with("drop_newest")),
    "reads_whole_frames": (reads_whole_frames, _BUFFER),
    "trims_whole_frames": (trims_whole_frames, _BUFFER),
    "buffer_bound_held": (buffer_bound_held, _BUFFER),
    "level_after_clear": (level_after_clear, lambda t: _BUFFER(t)
                          and t.capabilities.buffer_level),
    "level_after_read": (level_after_read, lambda t: _BUFFER(t) and t.capabilities.buffer_level),
    "overflow_announced": (overflow_announced, _declares("buffer.overflow_events")),
    "underrun_announced": (underrun_announced, _declares("buffer.underrun_events")),
    "recovery_announced": (recovery_announced, _declares("buffer.underrun_events")),
    "mismatched_refused": (mismatched_refused, _declares("buffer.validates_chunks")),
    "oversized_keeps_newest": (oversized_keeps_newest, _BUFFER),
    "trim_is_minimal": (trim_is_minimal, _BUFFER),
    "pcm24_duration": (pcm24_duration, lambda t: True),
}
"""Clause -> (a direct check of it, which targets declare or owe it)."""

BROKEN: dict[str, tuple[str, str]] = {
    "close_wakes_one_getter": ("close_wakes_getters", "ours"),
    "second_close_raises": ("close_idempotent", "ours"),
    "closed_put_accepted": ("closed_put_refused", "ours"),
    "closed_full_put_wrong_error": ("closed_full_put_refused", "ours"),
    "end_of_stream_raises": ("end_of_stream", "ours"),
    "close_forgets_putters": ("close_wakes_putters", "stdlib_queue"),
    "lost_wakeup": ("put_wakes_getter", "ours"),
    "cancelled_get_loses_item": ("cancelled_get_loses_nothing", "ours"),
    "cancelled_put_delivered": ("cancelled_put_delivers_nothing", "ours"),
    "put_timeout_ignored": ("put_timeout_ends", "ours"),
    "queue_bound_off_by_one": ("bound_held", "ours"),
    "fifo_swap": ("fifo_once_each", "ours"),
    "duplicate_delivery": ("fifo_once_each", "ours"),
    "len_forgets_drops": ("len_after_drops", "ours"),
    "drop_oldest_without_event": ("drop_announced", "ours"),
    "drop_newest_claims_queued": ("drop_newest_reported", "drop_newest_queue"),
    "read_rounds_bytes": ("reads_whole_frames", "plain_buffer"),
    "trim_rounds_bytes": ("trims_whole_frames", "plain_buffer"),
    "buffer_bound_one_frame_over": ("buffer_bound_held", "plain_buffer"),
    "level_forgets_clear": ("level_after_clear", "ours"),
    "level_forgets_reads": ("level_after_read", "ours"),
    "overflow_without_event": ("overflow_announced", "ours"),
    "underrun_never_recovered": ("recovery_announced", "ours"),
    "underrun_without_event": ("underrun_announced", "ours"),
    "mismatched_rate_accepted": ("mismatched_refused", "ours"),
    "oversized_keeps_oldest": ("oversized_keeps_newest", "ours"),
    "trim_clears_everything": ("trim_is_minimal", "ours"),
    "pcm24_as_two_bytes": ("pcm24_duration", "ours"),
}
"""Seeded member -> (the clause it breaks, the clean member it derives from)."""


def _holds(clause: str, spec: str) -> bool:
    check, _applies = CLAUSES[clause]
    return asyncio.run(asyncio.wait_for(check(load_target(spec)), 5.0))


def test_every_seeded_member_has_a_direct_check() -> None:
    assert set(BROKEN) == set(SEEDED)
    assert len(SEEDED) >= 25 and len(CLEAN) >= 4


@pytest.mark.timeout(60)
@pytest.mark.parametrize("member", sorted(SEEDED))
def test_a_seeded_member_breaks_its_clause_and_its_base_keeps_it(member: str) -> None:
    clause, base = BROKEN[member]
    target = load_target(SEEDED[member])
    assert target.breaks is not None and target.semantics
    assert CLAUSES[clause][1](load_target(CLEAN[base])), f"{base} does not owe {clause}"
    assert _holds(clause, CLEAN[base]), f"clean {base} breaks {clause}"
    assert not _holds(clause, SEEDED[member]), f"{member} keeps {clause}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("member", sorted(CLEAN))
def test_a_clean_member_keeps_every_clause_it_owes(member: str) -> None:
    target = load_target(CLEAN[member])
    assert getattr(target, "breaks", None) is None
    owed = [c for c, (_check, applies) in CLAUSES.items() if applies(target)]
    assert owed
    broken = [c for c in owed if not _holds(c, MEMBERS[member])]
    assert broken == []


def test_members_declare_where_their_semantics_are_written() -> None:
    for spec in MEMBERS.values():
        semantics = load_target(spec).semantics
        assert all(decl.where.startswith("selftest corpus: ") for decl in
                   (semantics[c] for c in semantics))
