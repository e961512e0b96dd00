"""Telemetry events, emitted so that a failing observer never breaks the data path."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["EventEmitter", "IsolatedEmitter"]

EventEmitter = Callable[[str, dict[str, Any]], None]
"""An observer called as ``emitter(event_name, payload)``; see docs/architecture.md."""

logger = logging.getLogger("stageflow_core")


class IsolatedEmitter:
    """Calls an :data:`EventEmitter` and contains its failures.

    An exception raised by the emitter is caught, counted in :attr:`errors` and logged once
    (with its traceback) on the ``stageflow_core`` logger; later failures are only counted.
    ``BaseException`` that is not an ``Exception`` (``KeyboardInterrupt``, ``SystemExit``,
    cancellation) is not swallowed.
    """

    __slots__ = ("_emitter", "_owner", "errors")

    def __init__(self, emitter: EventEmitter, owner: str) -> None:
        if not callable(emitter):
            raise TypeError(
                f"event_emitter must be callable as emitter(name, payload), "
                f"got {type(emitter).__name__}"
            )
        self._emitter = emitter
        self._owner = owner
        self.errors = 0
        """How many calls to the emitter raised."""

    def emit(self, event: str, payload: dict[str, Any]) -> None:
        """Deliver one event; never raises an ``Exception`` from the emitter."""
        try:
            self._emitter(event, payload)
        except Exception:
            self.errors += 1
            if self.errors == 1:
                logger.exception(
                    "%s: event emitter %r raised on %r; the data path is unaffected and "
                    "further emitter errors are only counted",
                    self._owner,
                    self._emitter,
                    event,
                )


def make_emitter(emitter: EventEmitter | None, owner: str) -> IsolatedEmitter | None:
    """Wrap ``emitter`` (validated) or return ``None`` when there is no observer."""
    if emitter is None:
        return None
    return IsolatedEmitter(emitter, owner)
