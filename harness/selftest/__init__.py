"""The self-test of the judge: a corpus of seeded-defect and clean implementations, and the
run that measures how many defects the judge finds as the right clause (recall) and how
many bugs it files against implementations that keep their contract (false findings).
See docs/selftest.md."""

from harness.selftest.judge import (
    FULL,
    QUICK,
    Budget,
    MemberResult,
    SelftestReport,
    run_member,
    run_selftest,
)

__all__ = ["FULL", "QUICK", "Budget", "MemberResult", "SelftestReport", "run_member",
           "run_selftest"]
