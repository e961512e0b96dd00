"""stageflow-stress from pytest: copy this file into your own tests.

Run it with ``pytest test_stress_example.py`` (and ``--stress-baseline FILE`` to compare
with a stored baseline, ``--stress-target module:factory`` for your implementation).
CI runs this very file (.ci/run). See docs/gate.md, "From pytest".
"""

import pytest


def test_a_steady_stream_loses_nothing_and_stays_fast(stress):
    results = stress.run("baseline", repeat=3)
    results.check("lost == 0", "duplicated == 0", "latency.p99_ms < 50")


@pytest.mark.asyncio
async def test_it_runs_from_an_async_test_too(stress):
    results = await stress.arun("baseline", params={"chunks": 200})
    results.check("lost == 0")
    assert results.scenario("baseline")[0]["metrics"]["delivered"] == 200


def test_no_regression_against_the_stored_baseline(stress):
    if stress.baseline is None:
        pytest.skip("give --stress-baseline FILE to compare with a stored run")
    results = stress.run("baseline", "capacity", repeat=3)
    results.check("latency.p99_ms <= 1.5 * baseline + 0.1",
                  "service.p50_ms <= 2 * baseline",
                  "capacity.queue_ratio >= 0.9 * baseline")


def test_an_injected_regression_is_caught(stress):
    if stress.baseline is None:
        pytest.skip("give --stress-baseline FILE to compare with a stored run")
    slower = stress.run("capacity", repeat=3, inject="put+20us")
    with pytest.raises(AssertionError, match=r"capacity\.queue_ratio"):
        slower.check("capacity.queue_ratio >= 0.9 * baseline")
