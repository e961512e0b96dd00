"""Fuzz sessions shared by the fuzz tests (each machine run once per test session)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from harness.fuzz import FuzzConfig, FuzzReport, PropertyViolation, run_fuzz
from harness.fuzz.session import fuzz_machine
from harness.targets import load_target

PeerSession = Callable[[str], list[PropertyViolation]]
EXAMPLES = {"queue": 60, "buffer": 60, "objects": 60}


@pytest.fixture(scope="session")
def peer_session() -> PeerSession:
    """``peer_session(machine)``: the violations one machine finds in the peer (fixed seed,
    no shrinking: the keys are what these tests read), computed once per test session."""
    cache: dict[str, list[PropertyViolation]] = {}

    def run(machine: str) -> list[PropertyViolation]:
        if machine not in cache:
            deadline = time.perf_counter_ns() + int(60e9)
            found, complete, _, _ = fuzz_machine(
                machine, load_target("stageflow"),
                FuzzConfig(max_examples=EXAMPLES[machine], seed=0, shrink=False), deadline)
            assert complete, f"the {machine} machine did not finish against the peer"
            cache[machine] = [violation for violation, _ in found]
        return cache[machine]

    return run


@pytest.fixture(scope="session")
def core_report() -> FuzzReport:
    """A fixed-seed session of every machine against stageflow_core."""
    return run_fuzz(load_target("stageflow_core"), FuzzConfig(max_examples=40, seed=0))
