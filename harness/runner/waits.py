"""Where a suspended task waits: the chain of awaits it is stuck in (:func:`await_stack`)
and the watched queue whose method it waits in (:func:`waiting_on`)."""

from __future__ import annotations

import asyncio
import linecache
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "await_stack",
    "waiting_on",
]

_ASYNCIO_DIR = str(Path(asyncio.__file__).parent)


def _frame_line(frame: Any) -> str:
    code = frame.f_code
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f'File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}: {line}'


def _await_chain(task: asyncio.Task[Any]) -> Iterator[tuple[Any, Any]]:
    """``(awaitable, its frame or None)`` along the chain of awaits a suspended task is
    stuck in, outermost first, following ``cr_await`` (and ``gi_yieldfrom``/``ag_await``)
    and into awaited tasks (yielded with frame None)."""
    seen: set[int] = set()
    obj: Any = task.get_coro()
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        if isinstance(obj, asyncio.Task):
            yield obj, None
            obj = obj.get_coro()
            continue
        frame = (getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
                 or getattr(obj, "ag_frame", None))
        yield obj, frame
        obj = (getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
               or getattr(obj, "ag_await", None))


def await_stack(task: asyncio.Task[Any]) -> tuple[str, str]:
    """``(where, stack)`` of a suspended task: the chain of awaits it is stuck in.

    ``Task.get_stack()`` returns only the outermost frame of a suspended coroutine, so this
    follows the whole chain (:func:`_await_chain`) down to the innermost frame, and into
    awaited tasks. ``where`` is the innermost frame outside asyncio itself (the library
    call that waits), ``file:line in function: source``.
    """
    lines: list[str] = []
    innermost = ""
    innermost_user = ""
    for obj, frame in _await_chain(task):
        if isinstance(obj, asyncio.Task):
            lines.append(f"  awaiting task {obj.get_name()!r}")
            continue
        if frame is not None:
            lines.append("  " + _frame_line(frame))
            code = frame.f_code
            innermost = (f"{Path(code.co_filename).name}:{frame.f_lineno} in "
                         f"{code.co_qualname}: "
                         f"{linecache.getline(code.co_filename, frame.f_lineno).strip()}")
            if not code.co_filename.startswith(_ASYNCIO_DIR):
                innermost_user = innermost
        nxt = (getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
               or getattr(obj, "ag_await", None))
        if nxt is None and isinstance(obj, asyncio.Future) and not obj.done():
            lines.append(f"  waiting on {obj!r}"[:300])
    if not lines:
        for frame in task.get_stack():
            lines.append("  " + _frame_line(frame))
    return innermost_user or innermost or "unknown location", "\n".join(lines)


def waiting_on(task: asyncio.Task[Any], queues: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(queue name, method)`` when a suspended task waits in a method of one of
    ``queues`` (the outermost such frame: the call the task made, e.g. ``put``), else None.

    An adapter's queue names the library objects its methods forward to in ``natives``
    (pairs of object and ``{library method: harness method}``, docs/targets.md), so a task
    waiting inside the library (anyio's ``send``) is seen in the harness call (``put``)."""
    names: dict[int, tuple[str, Mapping[str, str]]] = {}
    for name, queue in queues.items():
        names[id(queue)] = (name, {})
        for native, calls in getattr(queue, "natives", ()):  # an adapter's library objects
            names.setdefault(id(native), (name, calls))
    for _obj, frame in _await_chain(task):
        if frame is None:
            continue
        owner = frame.f_locals.get("self")
        if owner is not None and id(owner) in names:
            name, calls = names[id(owner)]
            return name, calls.get(frame.f_code.co_name, frame.f_code.co_name)
    return None
