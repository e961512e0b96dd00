"""What a fuzz step observes, written once for the state machines and the reproductions.

The source of this module is pasted verbatim into every generated reproduction snippet,
so it imports only the standard library and names nothing from the harness. Every call
the fuzzer makes is reduced to an *outcome label* (``"ok:True"``, ``"raised:full"``,
``"pending"``, ``"bytes:960:1a2b3c4d"``...); the machines compare labels with the set the
contract allows, and the snippet replays the same steps and compares the same labels.
"""

import asyncio
import zlib

HANG_S = 0.5
"""How long a blocking call that the contract says must end may take (snippets)."""
SETTLE_SPINS = 20
"""Event-loop iterations that let woken tasks run before a step is judged."""


def pattern(size, tag):
    """``size`` bytes of a recognisable pattern (``tag`` makes each chunk distinct; the
    period, 251 bytes, is prime, so no frame size divides it)."""
    period = bytes((tag * 31 + i * 7) % 251 for i in range(251))
    return (period * (size // 251 + 1))[:size]


def label_value(value):
    """The label of a call that returned ``value``."""
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return f"bytes:{len(data)}:{zlib.crc32(data):08x}"
    if hasattr(value, "data") and hasattr(value, "sequence"):
        return f"ok:chunk(seq={value.sequence}, {len(value.data)}B)"
    return f"ok:{value!r}"


def label_error(exc):
    """The label of a call that raised ``exc`` (by kind, so that any target can match)."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    name = type(exc).__name__
    if isinstance(exc, asyncio.QueueFull) or name.endswith("QueueFull"):
        return "raised:full"
    if isinstance(exc, asyncio.QueueEmpty) or name.endswith("QueueEmpty"):
        return "raised:empty"
    if "Closed" in name or "ShutDown" in name:
        return "raised:closed"
    if isinstance(exc, StopAsyncIteration):
        return "raised:stop"
    if isinstance(exc, ValueError | TypeError):
        return "raised:refused"
    return f"raised:{name}"


def call_sync(fn):
    """Call ``fn()`` and return its outcome label."""
    try:
        value = fn()
    except Exception as exc:
        return label_error(exc)
    return label_value(value)


def construct(fn):
    """``"made"`` if ``fn()`` returns (a constructor accepted its arguments), else the error."""
    try:
        fn()
    except Exception as exc:
        return label_error(exc)
    return "made"


def accepted(label):
    """``"accepted"`` for any returned value, else the label unchanged."""
    return "accepted" if label.startswith("ok:") else label


def close_to(fn, expected):
    """``"as expected"`` if ``fn()`` is within 1e-9 (relative) of ``expected``, else what
    it returned or raised."""
    try:
        value = fn()
    except Exception as exc:
        return label_error(exc)
    try:
        if abs(value - expected) <= 1e-9 * max(1.0, abs(expected)):
            return "as expected"
    except TypeError:
        pass
    return f"value:{value!r}"


def spawn(coro):
    """Run an awaitable (a blocking call) as a task."""
    return asyncio.ensure_future(coro)


async def settle():
    """Let every task that can run, run (woken waiters resume within a few iterations)."""
    for _ in range(SETTLE_SPINS):
        await asyncio.sleep(0)


async def status(task, wait_s=0.0):
    """The outcome label of a task: ``"pending"`` if it is still waiting after ``wait_s``."""
    if not task.done() and wait_s > 0:
        await asyncio.wait({task}, timeout=wait_s)
    if not task.done():
        return "pending"
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    if exc is not None:
        return label_error(exc)
    return label_value(task.result())


async def run(coro, wait_s=HANG_S):
    """Run a blocking call that the contract says must end; its label (``"pending"``: hung)."""
    task = spawn(coro)
    await settle()
    return await status(task, wait_s)


def count(events, name):
    """How many events called ``name`` were emitted."""
    return sum(1 for event, _ in events if event == name)


def total(events, name, key):
    """The sum of payload ``key`` over the events called ``name`` (absent counts 0)."""
    return sum(int(payload.get(key, 0) or 0) for event, payload in events if event == name)


def underrun_visible(events):
    """Whether the latest underrun/recovered event says the buffer is in underrun."""
    state = False
    for event, _ in events:
        if event == "stream.buffer_underrun":
            state = True
        elif event == "stream.buffer_recovered":
            state = False
    return state


def level_bytes(buffer, frame):
    """Bytes a StreamingBuffer holds: ``current_bytes``, else ``stats['bytes_buffered']``,
    else derived from ``duration_ms``."""
    current = getattr(buffer, "current_bytes", None)
    if isinstance(current, int):
        return current
    stats = getattr(buffer, "stats", None)
    if isinstance(stats, dict) and isinstance(stats.get("bytes_buffered"), int):
        return stats["bytes_buffered"]
    rate = getattr(buffer, "sample_rate", None) or getattr(buffer, "_sample_rate", None)
    return round(buffer.duration_ms * rate / 1000) * frame


class Diverged(Exception):
    """The target took another path the contract allows; the reproduction does not apply."""


def check(step, got, allowed, seen):
    """Compare a step's label with what the contract allows and with what the fuzzer saw.

    :raises AssertionError: ``got`` is not allowed: the defect is present.
    :raises Diverged: ``got`` is allowed but differs from what the fuzzed target did in
        an allowed way: the rest of the reproduction describes a path this target did not
        take. (At the violated step itself, ``seen`` is not allowed and ``got`` allowed
        means the contract holds.)
    """
    if got not in allowed:
        raise AssertionError(
            f"step {step}: observed {got!r}; the contract allows {sorted(allowed)}"
        )
    if got != seen and seen in allowed:
        raise Diverged(f"step {step}: observed {got!r} (allowed), the fuzzed target gave {seen!r}")
