"""What a fuzz step observes, written once for the state machines and the reproductions.

The source of this module is pasted verbatim into every generated reproduction snippet,
so it imports only the standard library and names nothing from the harness. Every call
the fuzzer makes is reduced to an *outcome label* (``"ok:True"``, ``"raised:full"``,
``"pending"``, ``"bytes:960:1a2b3c4d"``...); the machines compare labels with the set the
contract allows, and the snippet replays the same steps and compares the same labels.
"""

import asyncio
import logging
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
    if isinstance(exc, asyncio.QueueFull) or name.endswith("Full"):  # ChannelFull, ChanFull
        return "raised:full"
    if isinstance(exc, asyncio.QueueEmpty) or name.endswith("Empty"):  # ChannelEmpty
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


def relabel(label, kinds):
    """``label`` as the target declares it: ``kinds`` maps a label by class name
    (``"raised:WouldBlock"``) to the kind the target's declared errors give it for this
    call (``"raised:full"`` for a put, ``"raised:empty"`` for a get)."""
    return kinds.get(label, label)


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


def raises(fn):
    """``"raised"`` if ``fn()`` raises (any ``Exception``), else the value it returned."""
    try:
        value = fn()
    except Exception:
        return "raised"
    return f"value:{value!r}"


def on_off(flag):
    return "on" if flag else "off"


def throttle_state(queue, events):
    """The throttle state a queue shows: its monitor's ``should_throttle()`` (``n/a`` when
    it has none) and the state the ``stream.throttle_started``/``ended`` events say
    (``repeated`` once two of the same kind follow each other: they must alternate)."""
    should = getattr(getattr(queue, "monitor", None), "should_throttle", None)
    monitor = on_off(should()) if callable(should) else "n/a"
    state, repeated = False, False
    for event, _ in events:
        if event == "stream.throttle_started":
            repeated = repeated or state
            state = True
        elif event == "stream.throttle_ended":
            repeated = repeated or not state
            state = False
    return f"monitor:{monitor} events:{'repeated' if repeated else on_off(state)}"


def queue_stats(queue):
    """The counters a queue's monitor reports (``-``: not reported)."""
    stats = getattr(getattr(queue, "monitor", None), "stats", None)
    parts = [f"{key}:{getattr(stats, key, '-')}"
             for key in ("total_items", "dropped_items", "max_queue_size")]
    return " ".join(parts)


BUFFER_COUNTERS = ("total_received", "total_read", "total_dropped")


def buffer_stats(buffer):
    """The byte counters a buffer's ``stats`` reports (``-``: not reported)."""
    stats = getattr(buffer, "stats", None)
    stats = stats if isinstance(stats, dict) else {}
    return " ".join(f"{key}:{stats.get(key, '-')}" for key in BUFFER_COUNTERS)


def buffer_levels(buffer):
    """Every level a buffer reports besides ``current_bytes``, in bytes:
    ``stats['bytes_buffered']`` and ``statistics().size_bytes`` (those it has)."""
    parts = []
    stats = getattr(buffer, "stats", None)
    if isinstance(stats, dict) and "bytes_buffered" in stats:
        parts.append(f"stats:{stats['bytes_buffered']}")
    statistics = getattr(buffer, "statistics", None)
    if callable(statistics):
        parts.append(f"statistics:{getattr(statistics(), 'size_bytes', '-')}")
    return " ".join(parts)


def payload_gaps(events, required):
    """``"complete"``, or the first event (of those named in ``required``) whose payload
    lacks a key ``required`` lists for it."""
    for event, payload in events:
        missing = [key for key in required.get(event, ()) if key not in payload]
        if missing:
            return f"{event} lacks {', '.join(missing)}"
    return "complete"


def dropped_sequences(events):
    """The ``sequence`` each ``stream.chunk_dropped`` event names (``-``: none)."""
    out = []
    for event, payload in events:
        if event == "stream.chunk_dropped":
            sequence = payload.get("sequence")
            out.append("-" if sequence is None else str(sequence))
    return "dropped:" + ",".join(out)


class LogCount(logging.Handler):
    """Counts the log records of everything but asyncio itself (install on the root logger)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        if not record.name.startswith("asyncio"):
            self.count += 1


def failure_visible(obj, logged):
    """``"visible"`` if an emitter failure left a trace: a log record, or an
    ``emitter_errors`` count in ``statistics()`` or ``stats``; else ``"silent"``."""
    errors = 0
    statistics = getattr(obj, "statistics", None)
    if callable(statistics):
        errors = getattr(statistics(), "emitter_errors", 0) or 0
    stats = getattr(obj, "stats", None)
    if isinstance(stats, dict):
        errors = errors or stats.get("emitter_errors", 0) or 0
    return "visible" if logged.count or errors else "silent"


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


def balance(stats):
    """``"received R, accounted A"``: the bytes a buffer's ``stats`` says it received, and
    those it says it read, dropped, cleared or holds."""
    out = stats["total_read"] + stats["total_dropped"] + stats["bytes_buffered"] + \
        int(stats.get("total_cleared", 0) or 0)
    return f"received {stats['total_received']}, accounted {out}"


def underrun_visible(events):
    """Whether the latest underrun/recovered event says the buffer is in underrun."""
    state = False
    for event, _ in events:
        if event == "stream.buffer_underrun":
            state = True
        elif event == "stream.buffer_recovered":
            state = False
    return state


def level_bytes(buffer, frame, rate):
    """Bytes a StreamingBuffer holds: ``current_bytes``, else ``stats['bytes_buffered']``,
    else derived from ``duration_ms`` at ``rate``, the sample rate the buffer was made with
    (a buffer need not expose it)."""
    current = getattr(buffer, "current_bytes", None)
    if isinstance(current, int):
        return current
    stats = getattr(buffer, "stats", None)
    if isinstance(stats, dict) and isinstance(stats.get("bytes_buffered"), int):
        return stats["bytes_buffered"]
    return round(buffer.duration_ms * rate / 1000) * frame


class Diverged(Exception):
    """The target took another path the contract allows; the reproduction does not apply."""


def same_path(got, seen):
    """At a step whose defect is reported separately: go on only if the target behaves as
    the fuzzed one did, else the rest of the reproduction does not apply (``Diverged``)."""
    if got != seen:
        raise Diverged(
            f"observed {got!r} where the fuzzed target gave {seen!r} (a defect reported "
            "separately): the rest of the reproduction does not apply"
        )


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
