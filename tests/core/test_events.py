"""Isolated event emission: an observer that raises never reaches the data path."""

from __future__ import annotations

import logging

import pytest

from stageflow_core import IsolatedEmitter


def _broken(name: str, payload: dict[str, object]) -> None:
    raise ValueError("observer bug")


def test_emitter_receives_name_and_payload(events) -> None:
    IsolatedEmitter(events, "test").emit("stream.x", {"a": 1})
    assert events.events == [("stream.x", {"a": 1})]


def test_raising_emitter_is_contained_and_counted() -> None:
    emitter = IsolatedEmitter(_broken, "test")
    emitter.emit("stream.x", {})
    emitter.emit("stream.y", {})
    assert emitter.errors == 2


def test_raising_emitter_is_logged_once_with_its_traceback(caplog) -> None:
    emitter = IsolatedEmitter(_broken, "test")
    with caplog.at_level(logging.ERROR, logger="stageflow_core"):
        emitter.emit("stream.x", {})
        emitter.emit("stream.y", {})
    (record,) = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is ValueError


def test_keyboard_interrupt_from_an_emitter_is_not_swallowed() -> None:
    def interrupt(name: str, payload: dict[str, object]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        IsolatedEmitter(interrupt, "test").emit("stream.x", {})


def test_non_callable_emitter_is_refused() -> None:
    with pytest.raises(TypeError, match="event_emitter"):
        IsolatedEmitter(42, "test")  # type: ignore[arg-type]
