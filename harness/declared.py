"""A check broken the way the target declares is no failure of that target.

A scenario's status follows the same judgement as its findings
(:func:`harness.defects.judge`): a failed check whose every broken clause the target
declares *otherwise* — asyncio's ``Queue.put`` documents that a put on a full queue waits
until a slot is free, so a producer blocked behind a dead consumer is its declared
behaviour, not a hang our ``put(timeout=)`` would have prevented — is *excused*: it stays
in the results as it was seen (``passed: false``, so findings still judge it and withdraw
what was filed before), with ``as_declared`` naming the declarations, and fails no status,
gate or hypothesis. Everything else still fails:

- a universal clause broken (lost, duplicated or invented items, a bound exceeded, a
  crash), or a clause the target declares as the check assumes: a bug;
- a clause the target is silent about: our recommendation, which the scenario's result
  shows (an improvement in the ledger);
- a check that names neither keys nor a clause, or that saw something it could not
  attribute (``unattributed``): judged at its own level, never excused.

Contracts:

- :func:`excuse` is the one judgement; the runner applies it to every verdict of an
  attempt before it computes the status.
- :func:`fails_target` is what every reader of a results document asks of an invariant
  (status, hypotheses, the gate's ``status == pass``, the report's failed checks): failed
  and not excused. Documents written before ``as_declared`` existed read as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.contract import Semantics
from harness.defects import judge

__all__ = ["excuse", "fails_target"]


def excuse(*, passed: bool, defects: Any, clause: str | None, unattributed: bool,
           semantics: Semantics | None, detail: str = "") -> dict[str, Any] | None:
    """The excuse of a failed check, or None when it fails the target.

    ``defects`` are the :class:`harness.defects.DefectKey` it names; ``clause`` the clause
    it judges as a whole (assumed True), if any; ``unattributed`` whether part of what it
    saw is filed under the check itself. A check is excused when every key is judged
    ``withdrawn`` for ``semantics`` and what it files under itself (nothing, or its clause)
    is declared otherwise too.

    :returns: ``{"reason": one line, "declarations": [Declaration.as_dict()...]}``.
    """
    if passed or semantics is None:
        return None
    keys = tuple(defects or ())
    reasons: list[str] = []
    declarations: list[dict[str, Any]] = []
    for key in keys:
        judgement = judge(key, semantics, detail=detail)
        if judgement.verdict != "withdrawn":
            return None
        reasons.append(f"{key.component}.{key.operation} ({key.property}): {judgement.reason}")
        if judgement.declaration and judgement.declaration not in declarations:
            declarations.append(judgement.declaration)
    if unattributed or not keys:
        decl = semantics.get(clause) if clause else None
        if decl is None or decl.value is True:
            return None
        reasons.append(f"the target declares {clause} = {decl.value!r} ({decl.where}); the "
                       "check assumed True: the behaviour is the declared one")
        if decl.as_dict() not in declarations:
            declarations.append(decl.as_dict())
    return {"reason": "; ".join(reasons), "declarations": declarations}


def fails_target(invariant: Mapping[str, Any]) -> bool:
    """True when a results document's invariant failed and was not excused by what the
    target declares."""
    return not invariant.get("passed", True) and not invariant.get("as_declared")
