"""The sweep tests' workers (forkserver children, Ray workers) import ``sweep_toys`` by
name: this directory is put on ``PYTHONPATH`` for the whole session, before any worker
or forkserver starts, so every worker inherits it."""

from __future__ import annotations

import os
from pathlib import Path

TOYS_DIR = str(Path(__file__).parent)

os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (TOYS_DIR, os.environ.get("PYTHONPATH")) if p)
