"""What a size of 0 means is the target's to declare: a documented meaning is valid input,
never "accepts invalid arguments"; negative sizes and wrong types are still probed. And a
fuzz session of a queue-only library counts the checks it ran to the end."""

from __future__ import annotations

from hypothesis import find, given, settings
from hypothesis import strategies as st

from harness.fuzz import FuzzConfig, FuzzReport, arguments
from harness.fuzz.objects_machine import ObjectsMachine
from harness.targets import load_target
from harness.targets.anyio_streams import AnyioTarget

SIZE = arguments.Param("max_size", "capacity", True, zero_valid=True)
STRICT = arguments.Param("max_size", "capacity", True)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data=st.data())
def test_a_declared_size_of_zero_is_drawn_as_valid_never_as_invalid(data: st.DataObject) -> None:
    bad = data.draw(arguments._invalid(SIZE))
    assert bad != 0 and (not isinstance(bad, int) or bad < 0)
    assert data.draw(arguments._valid(SIZE)) in range(65)


def test_without_a_declaration_zero_is_still_invalid() -> None:
    assert find(arguments._invalid(STRICT), lambda value: value == 0,
                settings=settings(database=None, derandomize=True)) == 0


def test_a_library_declaring_what_zero_means_is_made_with_zero() -> None:
    target = AnyioTarget()
    reasons = ObjectsMachine.declared_valid(target)
    why = reasons["fuzz/config_refused"]
    assert "queue.zero_size = 'unbuffered'" in why and "anyio/_core/_streams.py" in why
    machine = type("Bound", (ObjectsMachine,), {"target": target})
    (spec,) = ObjectsMachine.callables(machine.__new__(machine))
    assert spec.params[0].zero_valid


def test_our_library_declares_no_meaning_for_zero_and_keeps_refusing_it() -> None:
    assert ObjectsMachine.declared_valid(load_target("stageflow_core")) == {}


def test_a_machine_for_a_part_the_target_lacks_holds_no_check_back() -> None:
    report = FuzzReport(target={"name": "lib", "version": "1"}, config=FuzzConfig(),
                        absent=("buffer",), complete={"queue": True, "objects": True},
                        capabilities=("put_timeout",), missing_capabilities=["put_timeout"],
                        declared_valid={"fuzz/config_refused": "declared"})
    assert {"fuzz/config_refused", "fuzz/outcome"} <= report.checks_run()
    assert report.not_filed()["fuzz/config_refused"] == "declared"
    assert "has no buffer part" in report.not_filed()["capability/buffer_level"]
    report.complete["queue"] = False  # cut: its checks (and those it shares) say nothing
    checks = report.checks_run()
    assert "fuzz/config_refused" in checks and "fuzz/unexpected_error" not in checks
    assert not {c for c in checks if c.startswith("capability/")}
