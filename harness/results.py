"""Run results: one schema-versioned JSON document per run, written atomically.

Format changelog (the loader refuses versions it does not know):

- 1: first version. See docs/architecture.md ("Results document"). Before release it
  gained the scenario status ``skipped`` (the target lacks a capability the scenario
  needs; ``skipped`` lists them) and the ``summary`` count of the same name.
- 2: each scenario's ``metrics.timeseries``: latency, offered and delivered rate, queue
  depth, buffer level, memory and loop lag per time window, with events and fault windows
  (``harness/timeseries.py``; None when the scenario did not run). Version 1 documents
  are still read: everything but the plots over time works from them.
"""

from __future__ import annotations

import os
import platform
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.jsonio import read_json, write_json_atomic

__all__ = [
    "SCHEMA_VERSION",
    "STATUSES",
    "environment",
    "load_results",
    "new_run_id",
    "save_results",
    "validate_results",
]

SCHEMA_VERSION = 2
KNOWN_VERSIONS = frozenset({1, 2})
STATUSES = ("pass", "fail", "error", "timeout", "invalid", "skipped")
_REQUIRED_TOP = ("run_id", "target", "environment", "seed", "scenarios", "hypotheses")
_REQUIRED_SCENARIO = ("name", "category", "status", "duration_ms", "metrics", "invariants")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: UTC timestamp plus six random hex digits."""
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment() -> dict[str, Any]:
    """Facts about the machine and interpreter that a reader needs to compare runs."""
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "git_commit": _git_commit(),
        "clock": "perf_counter_ns",
        "ci": bool(os.environ.get("CI")),
    }


def validate_results(doc: Any, *, source: str = "results") -> dict[str, Any]:
    """Check the shape the rest of the product relies on.

    :raises HarnessError: one line naming the source, the field and what is wrong.
    """
    if not isinstance(doc, dict):
        raise HarnessError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    version = doc.get("schema_version")
    if version not in KNOWN_VERSIONS:
        raise HarnessError(
            f"{source}: unknown schema_version {version!r} (this build reads "
            f"{sorted(KNOWN_VERSIONS)})"
        )
    for key in _REQUIRED_TOP:
        if key not in doc:
            raise HarnessError(f"{source}: missing field {key!r}")
    if not isinstance(doc["scenarios"], list):
        raise HarnessError(f"{source}: 'scenarios' must be a list")
    for index, scenario in enumerate(doc["scenarios"]):
        where = f"{source}: scenarios[{index}]"
        if not isinstance(scenario, dict):
            raise HarnessError(f"{where}: expected an object")
        for key in _REQUIRED_SCENARIO:
            if key not in scenario:
                raise HarnessError(f"{where}: missing field {key!r}")
        if scenario["status"] not in STATUSES:
            raise HarnessError(f"{where}: unknown status {scenario['status']!r}")
        if not isinstance(scenario["metrics"], dict):
            raise HarnessError(f"{where}: 'metrics' must be an object")
    return doc


def load_results(path: Path) -> dict[str, Any]:
    """Load and validate a results document.

    :raises HarnessError: missing, unreadable, not JSON, unknown version or wrong shape.
    """
    return validate_results(read_json(Path(path), what="results file"), source=str(path))


def save_results(doc: dict[str, Any], results_dir: Path) -> Path:
    """Write ``<run_id>.json`` and ``latest.json`` atomically; returns the run's path.

    The document is validated first, so nothing is written for a malformed run.
    """
    doc.setdefault("schema_version", SCHEMA_VERSION)
    validate_results(doc, source="run")
    results_dir = Path(results_dir)
    run_path = results_dir / f"{doc['run_id']}.json"
    write_json_atomic(run_path, doc)
    write_json_atomic(results_dir / "latest.json", doc)
    return run_path


def monotonic_ms() -> float:
    """Milliseconds from the monotonic clock (for durations only)."""
    return time.perf_counter_ns() / 1e6
