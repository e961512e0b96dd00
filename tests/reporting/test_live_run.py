"""End to end with the real runner: Stageflow 0.5.1's hang folds into BUG-038, re-runs fold.

Runs ``queue_overflow`` against the real Stageflow twice (different seeds, a short
deadline: about 3 s each) in a subprocess, so an abandoned hung task cannot leak into the
test process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.ledgers import load_ledgers

from .conftest import REPO

pytest.importorskip("stageflow.helpers.streaming")


def run_stageflow(tmp_path: Path, ledgers: Path, seed: int) -> None:
    command = [
        sys.executable, "-m", "harness.cli", "run", "queue_overflow", "--target", "stageflow",
        "--quick", "--seed", str(seed), "--timeout", "1.5",
        "--results-dir", str(tmp_path / f"results-{seed}"), "--ledger-dir", str(ledgers),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=90,
                          check=False)
    assert done.returncode == 1, done.stderr  # scenarios failed: the run itself worked


def generated(ledgers: Path) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for ledger in load_ledgers(ledgers).values() for e in ledger.entries
            if e.get("fingerprint") and e.get("source") != "manual"}


def test_stageflow_hang_is_reported_as_bug_038_and_reruns_do_not_duplicate(
    tmp_path: Path, seeded: Path
) -> None:
    run_stageflow(tmp_path, seeded, seed=1)
    first = generated(seeded)
    assert "queue_overflow/no_hang" not in {e["check"] for e in first.values()}
    assert first, "the telemetry defect (producer_blocked only after the wait) is generated"
    run_stageflow(tmp_path, seeded, seed=2)
    second = generated(seeded)
    assert second.keys() == first.keys()
    assert all(e["seen_count"] == 2 and e["status"] == "open" for e in second.values())
