"""The self-test corpus: clean implementations and seeded defects, each an importable target.

``MEMBERS`` maps a member's name to its target spec; every spec works on the command line
too (``stageflow-stress run --target harness.selftest.corpus.queue_defects:lost_wakeup``).
A member's target carries ``semantics`` (what it declares) and ``breaks`` (the one clause a
seeded member breaks; None for a clean one).
"""

from __future__ import annotations

from harness.selftest.corpus._base import Breaks, CorpusTarget, declare, derived_target

__all__ = ["CLEAN", "MEMBERS", "SEEDED", "Breaks", "CorpusTarget", "declare", "derived_target"]

_PKG = "harness.selftest.corpus"

CLEAN: dict[str, str] = {
    name: f"{_PKG}.clean:{name}"
    for name in ("ours", "stdlib_queue", "drop_newest_queue", "plain_buffer")
}
"""Clean members: four implementations with different declared semantics."""

SEEDED: dict[str, str] = {
    **{name: f"{_PKG}.queue_defects:{name}" for name in (
        "close_wakes_one_getter", "second_close_raises", "closed_put_accepted",
        "closed_full_put_wrong_error", "end_of_stream_raises", "close_forgets_putters",
        "lost_wakeup", "cancelled_get_loses_item", "cancelled_put_delivered",
        "put_timeout_ignored", "queue_bound_off_by_one", "fifo_swap", "duplicate_delivery",
        "len_forgets_drops", "drop_oldest_without_event", "drop_newest_claims_queued",
    )},
    **{name: f"{_PKG}.buffer_defects:{name}" for name in (
        "read_rounds_bytes", "trim_rounds_bytes", "buffer_bound_one_frame_over",
        "level_forgets_clear", "level_forgets_reads", "overflow_without_event",
        "underrun_never_recovered", "underrun_without_event", "mismatched_rate_accepted",
        "oversized_keeps_oldest", "trim_clears_everything", "pcm24_as_two_bytes",
    )},
}
"""Seeded members: each breaks exactly one clause."""

MEMBERS: dict[str, str] = {**CLEAN, **SEEDED}
