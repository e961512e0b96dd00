"""What a check returns: a :class:`Verdict` (passed or not, a one-line detail, the contract
clauses it saw broken and the level each is judged at) and how it is written into the
results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.contract import Level
from harness.defects import DefectKey

__all__ = ["Verdict"]


@dataclass(frozen=True)
class Verdict:
    """One invariant's outcome. ``detail`` is one line naming counts and chunk ids.

    A failed verdict names the defects it saw in ``defects`` (one check can see several:
    chunks of another rate and chunks of partial frames are two). Whatever it saw that no
    key names is in ``unattributed`` (and, for a hang, the await chains of those tasks in
    ``unattributed_stack``): findings file that part under the check itself. A failed
    verdict without ``defects`` is filed wholly under the check.
    """

    name: str
    passed: bool
    detail: str = ""
    stack: str | None = None
    reproduction: str | None = None
    hypotheses: tuple[str, ...] = ()
    """The hypotheses this check bears on (see :data:`INVARIANT_HYPOTHESES`)."""
    defects: tuple[DefectKey, ...] = ()
    unattributed: str | None = None
    unattributed_stack: str | None = None
    level: str = Level.UNIVERSAL
    """The contract level (:class:`harness.contract.Level`) of the check as a whole: the
    level of what it files under itself (no key, or ``unattributed``)."""
    levels: tuple[tuple[DefectKey, str], ...] = ()
    """The level of each key of ``defects`` that is not judged at ``level``."""
    excused: str | None = None
    """What the check did not hold against the target, and why (a GC pause, the load
    generator's own lag): one line, or None."""
    clause: str | None = None
    """The clause of :data:`harness.contract.CLAUSES` the check judges as a whole (a
    scenario's ``expect(..., clause=)``; it assumes the value True), or None."""
    as_declared: Mapping[str, Any] | None = None
    """Set on a failed check when everything it saw broken is what the target declares
    (:func:`harness.declared.excuse`): the reason and the declarations. Such a check fails
    no scenario (:func:`harness.declared.fails_target`)."""

    def level_of(self, key: DefectKey) -> str:
        """The contract level ``key`` was judged at."""
        return dict(self.levels).get(key, self.level)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "passed": self.passed, "detail": self.detail,
                               "hypotheses": list(self.hypotheses), "level": str(self.level)}
        if self.stack:
            out["stack"] = self.stack
        if self.reproduction:
            out["reproduction"] = self.reproduction
        if self.excused:
            out["excused"] = self.excused
        if self.clause:
            out["clause"] = self.clause
        if self.as_declared and not self.passed:
            out["as_declared"] = dict(self.as_declared)
        if self.defects and not self.passed:
            out["defects"] = [{**key.as_dict(), "level": str(self.level_of(key))}
                              for key in self.defects]
            if self.unattributed:
                out["unattributed"] = self.unattributed
            if self.unattributed_stack:
                out["unattributed_stack"] = self.unattributed_stack
        return out
