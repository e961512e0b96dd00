"""What a report is built from besides the results and ledgers: the files it lists with
their SHA-256 (:class:`SourceFile`) and a separate compare document (:class:`Comparison`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Comparison", "SourceFile"]


@dataclass(frozen=True)
class SourceFile:
    """A file the report was built from: the path as shown and its content."""

    path: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Comparison:
    """A compare document (a results document with a ``compare`` section, as
    ``stageflow-stress compare`` writes it) and the path it is shown under."""

    results: Mapping[str, Any]
    path: str
