"""The hang check: no watched task is still blocked when the scenario's deadline passes
(``no_hang``), with where each waits and the defect that explains it.
"""

from __future__ import annotations

from harness.contract import Level
from harness.invariants.attribution import _LOST_WAKEUP, _PUT_HANG, _hang_key, _levels
from harness.invariants.detail import _SHOWN, _n
from harness.invariants.expectations import Expectations
from harness.invariants.observations import Observations
from harness.invariants.verdict import Verdict

__all__ = ["check_no_hang"]


def check_no_hang(obs: Observations, expect: Expectations) -> Verdict:
    """No watched task is still blocked when the deadline passes (always checked)."""
    if not expect.hung:
        return Verdict("no_hang", True, "every task finished before the deadline")
    deadline = f" at the {expect.deadline_s:g} s deadline" if expect.deadline_s else ""
    names = "; ".join(f"{task.name} in {task.where}" for task in expect.hung[:_SHOWN])
    abandoned = (f"; {len(expect.abandoned)} ignored cancellation: "
                 f"{', '.join(expect.abandoned[:_SHOWN])}" if expect.abandoned else "")
    stack = "\n\n".join(f"{task.name}:\n{task.stack}" for task in expect.hung)
    keys = [_hang_key(task, expect) for task in expect.hung]
    starved = {task.queue for task, key in zip(expect.hung, keys, strict=True)
               if key == _LOST_WAKEUP}
    # a producer waiting on a queue that filled because its consumer was never woken
    keys = [_LOST_WAKEUP if key == _PUT_HANG and task.queue in starved else key
            for task, key in zip(expect.hung, keys, strict=True)]
    defects = tuple(dict.fromkeys(k for k in keys if k is not None))
    unplaced = [task for task, key in zip(expect.hung, keys, strict=True) if key is None]
    rest = rest_stack = None
    if defects and unplaced:
        rest = "; ".join(f"{task.name} in {task.where}" for task in unplaced[:_SHOWN])
        rest_stack = "\n\n".join(f"{task.name}:\n{task.stack}" for task in unplaced)
    return Verdict("no_hang", False,
                   f"{_n(len(expect.hung), 'task')} still blocked{deadline}: {names}{abandoned}",
                   stack=stack, defects=defects, unattributed=rest,
                   unattributed_stack=rest_stack,
                   levels=_levels(defects, expect, Level.UNIVERSAL))
