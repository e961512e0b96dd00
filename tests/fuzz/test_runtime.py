"""The outcome labels and the step check shared by the machines and the reproductions."""

from __future__ import annotations

import asyncio

import pytest

from harness.fuzz import runtime


@pytest.mark.parametrize(
    ("exc", "label"),
    [
        (asyncio.QueueFull(), "raised:full"),
        (asyncio.QueueEmpty(), "raised:empty"),
        (type("QueueClosed", (Exception,), {})(), "raised:closed"),
        (StopAsyncIteration(), "raised:stop"),
        (ValueError("bad"), "raised:refused"),
        (ZeroDivisionError(), "raised:ZeroDivisionError"),
    ],
)
def test_errors_are_labelled_by_kind(exc: BaseException, label: str) -> None:
    assert runtime.label_error(exc) == label


def test_bytes_are_labelled_by_length_and_content() -> None:
    assert runtime.label_value(b"ab") != runtime.label_value(b"ba")
    assert runtime.label_value(b"ab").startswith("bytes:2:")


def test_check_raises_on_a_label_the_contract_does_not_allow() -> None:
    with pytest.raises(AssertionError, match="step 3"):
        runtime.check(3, "pending", {"raised:closed"}, "pending")


def test_check_stops_when_the_target_takes_another_allowed_path() -> None:
    with pytest.raises(runtime.Diverged):
        runtime.check(1, "raised:refused", {"ok:True", "raised:refused"}, "ok:True")


def test_check_passes_the_violated_step_when_the_contract_holds() -> None:
    runtime.check(2, "raised:refused", {"raised:refused"}, "made")


def test_pattern_differs_per_tag_and_has_the_requested_size() -> None:
    assert len(runtime.pattern(1000, 1)) == 1000
    assert runtime.pattern(64, 1) != runtime.pattern(64, 2)
