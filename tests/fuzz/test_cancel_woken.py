"""The queue machine cancels a blocked call just after another call woke it (issue 10):
a race every timeout and task group can hit. anyio 4.16.0's memory object streams fail it
in both directions — a receive() cancelled after send_nowait() handed it the item loses
the item; a send() cancelled after receive_nowait() took its item raises CancelledError
although the item is delivered — while asyncio.Queue and our reference keep the clause."""

from __future__ import annotations

import time

import pytest

from harness.fuzz import FuzzConfig
from harness.fuzz.session import fuzz_machine
from harness.targets import load_target

pytestmark = pytest.mark.timeout(120)

CANCEL_KEYS = {("ChunkQueue", "no_loss", "cancel (blocked get)"),
               ("ChunkQueue", "no_loss", "cancel (blocked anext)"),
               ("ChunkQueue", "outcome", "cancel (blocked put)")}


def _cancel_keys(name: str) -> set[tuple[str, str, str]]:
    found, _, _, _ = fuzz_machine("queue", load_target(name),
                                  FuzzConfig(max_examples=60, seed=0, verify=False, max_rounds=10),
                                  time.perf_counter_ns() + int(60e9))
    return {violation.key for violation, _ in found} & CANCEL_KEYS


def test_anyio_loses_a_woken_receive_and_delivers_a_cancelled_send() -> None:
    pytest.importorskip("anyio")
    keys = _cancel_keys("anyio")
    assert ("ChunkQueue", "no_loss", "cancel (blocked get)") in keys
    assert ("ChunkQueue", "outcome", "cancel (blocked put)") in keys


@pytest.mark.parametrize("name", ["asyncio", "stageflow_core"])
def test_queues_that_keep_the_clause_draw_no_cancellation_finding(name: str) -> None:
    assert _cancel_keys(name) == set()
