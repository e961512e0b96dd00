"""Reproductions for library targets: the library's own API, verified on the library.

A fuzz step log of a built-in library target is written with the adapter's
``LibraryCode`` (how the queue is made, called and what its errors are called), so the
script a maintainer pastes imports the library, not the harness; the same steps in
Stageflow's API are what the reference runs.
"""

from __future__ import annotations

import ast
import re

import pytest

from harness.fuzz.plain import render_plain
from harness.fuzz.snippet import run_snippet
from harness.targets import BUILTIN_TARGETS, error_kind, load_target

pytestmark = pytest.mark.timeout(60)

LIBRARIES = ("asyncio", "anyio", "janus", "culsans", "aiochannel", "livekit")
PREAMBLE = ["events = []", "def emit(name, payload):",
            "    events.append((name, dict(payload)))",
            "q = sf.ChunkQueue(1, event_emitter=emit)"]
# a put on a full queue, then a get, then len(): every call the queue machine makes
STEPS = ["i1 = 'chunk 0/0'", "t2 = spawn(q.put(i1))", "await settle()",
         "check(1, await status(t2, HANG_S), ['ok:None', 'ok:True'], 'ok:None')",
         "check(2, call_sync(lambda: q.put_nowait(i1)), ['raised:full'], 'raised:full')",
         "t3 = spawn(q.get())", "await settle()",
         "check(3, await status(t3, HANG_S), [\"ok:'chunk 0/0'\"], \"ok:'chunk 0/0'\")",
         "check(4, call_sync(q.get_nowait), ['raised:empty'], 'raised:empty')"]
CLOSED_PUT = ["i1 = 'chunk 0/0'", "await q.put(i1)", "check(1, call_sync(q.close), ['ok:None'], "
              "'ok:None')", "t2 = spawn(q.put(i1))", "await settle()",
              "check(2, await status(t2, HANG_S), ['ok:False', 'raised:closed'], "
              "'raised:full')"]


def installed(name: str) -> object:
    return pytest.param(name, marks=pytest.mark.skipif(
        not BUILTIN_TARGETS[name].installed(),
        reason=f"{name}: {BUILTIN_TARGETS[name].install}"))


def render(target: object, lines: list[str], declared: str = "") -> object:
    return render_plain(title="t", preamble=PREAMBLE, lines=lines, module="x",
                        target_name=target.name, target_version=target.version,  # type: ignore[attr-defined]
                        command="stageflow-stress fuzz", what="w",
                        library=target.library, declared=declared)  # type: ignore[attr-defined]


def imported(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("name", [installed(n) for n in LIBRARIES])
def test_library_errors_name_the_classes_the_adapter_declares(name: str) -> None:
    target = load_target(name)
    namespace: dict[str, object] = {}
    exec(target.library.imports, namespace)
    for kind, tuple_name in (("closed", "closed_errors"), ("full", "full_errors"),
                             ("empty", "empty_errors"), ("end", "end_errors")):
        declared = tuple(getattr(target, tuple_name))
        if not declared:
            assert kind not in target.library.errors
            continue
        spelled = eval(target.library.errors[kind], namespace)
        spelled = spelled if isinstance(spelled, tuple) else (spelled,)
        # by name: livekit's channel file may be loaded once per importer
        assert {c.__name__ for c in spelled} == {c.__name__ for c in declared}, (name, kind)


@pytest.mark.parametrize("name", [installed(n) for n in LIBRARIES])
def test_a_script_for_each_library_is_in_its_own_api(name: str) -> None:
    target = load_target(name)
    script = render(target, STEPS)
    assert script is not None
    code = script.code()  # type: ignore[attr-defined]
    compile(code, "repro.py", "exec")
    assert imported(code) <= {"asyncio", "contextlib", "importlib", "anyio", "janus",
                              "culsans", "aiochannel", "livekit"}
    body = code.split('"""')[-1]  # after the docstring (which names the harness command)
    assert not re.search(r"\bsf\.|harness|stageflow", body)
    assert target.library.make.format(max_size=1) in code  # type: ignore[attr-defined]
    # the reference script is the same steps in Stageflow's API
    assert "sf.ChunkQueue(1)" in script.reference_code()  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", [installed(n) for n in LIBRARIES])
def test_the_script_runs_on_the_library_as_the_machine_saw_it(name: str) -> None:
    """Every step of a clean history passes on the library (the spelling is right)."""
    target = load_target(name)
    script = render(target, STEPS)
    result = run_snippet(script.code(), name)  # type: ignore[attr-defined]
    assert result["result"] == "passes", result


@pytest.mark.skipif(not BUILTIN_TARGETS["aiochannel"].installed(), reason="aiochannel")
def test_a_library_defect_fails_on_the_library_and_passes_on_the_reference() -> None:
    target = load_target("aiochannel")
    declared = 'aiochannel README: "Every call to .put() after .close() will fail"'
    script = render(target, CLOSED_PUT, declared)
    code = script.code()  # type: ignore[attr-defined]
    assert "from aiochannel import Channel" in code and "q = Channel(1)" in code
    assert "isinstance(exc, ChannelClosed)" in code and "Every call to .put()" in code
    on_library = run_snippet(code, "aiochannel")
    assert on_library["result"] == "fails", on_library
    assert "observed ChannelFull()" in on_library["detail"]
    on_reference = run_snippet(script.reference_code(), "stageflow_core")  # type: ignore[attr-defined]
    assert on_reference["result"] == "passes", on_reference


def test_error_kind_and_library_errors_agree_for_anyio_would_block() -> None:
    if not BUILTIN_TARGETS["anyio"].installed():
        pytest.skip("anyio")
    import anyio

    target = load_target("anyio")
    assert error_kind(target, anyio.WouldBlock(), call="put") == "full"
    assert target.library.errors["full"] == target.library.errors["empty"] == "anyio.WouldBlock"


@pytest.mark.parametrize("name", [installed(n) for n in LIBRARIES])
def test_a_queue_only_library_lacks_no_capability_of_a_part_it_does_not_have(name: str) -> None:
    from harness.fuzz.session import FUZZED_CAPABILITIES, fuzzed_capabilities

    assert set(fuzzed_capabilities(load_target(name))) == {
        "put_timeout", "put_nowait", "overflow_policies"}
    assert fuzzed_capabilities(load_target("stageflow_core")) == FUZZED_CAPABILITIES


@pytest.mark.skipif(not BUILTIN_TARGETS["aiochannel"].installed(), reason="aiochannel")
def test_minimising_a_library_script_keeps_the_steps_of_the_rule_that_broke() -> None:
    """Without them a script could fail for another reason (a level seen before the cancel
    that the check was about): they are never removed, whatever the runs say."""
    from harness.fuzz.plain import minimise

    lines = ["i1 = 'chunk 0/0'", "await q.put(i1)", "t2 = spawn(q.put(i1))", "await settle()",
             "check(1, await status(t2, 0), ['pending'], 'pending')",
             "check(2, call_sync(q.get_nowait), [\"ok:'chunk 0/0'\"], \"ok:'chunk 0/0'\")",
             "t2.cancel()", "await settle()",
             "check(3, f'len:{len(q)}', ['len:0'], 'len:1')"]
    target = load_target("aiochannel")
    script = render_plain(title="t", preamble=PREAMBLE, lines=lines, module="x",
                          target_name="aiochannel", target_version="1", command="c",
                          library=target.library, rule_start=5)
    assert script is not None
    minimise(script, lambda *codes: True)
    kept = [line for step in script.steps for line in step]
    assert "q.get_nowait()" in kept and "t2.cancel()" in kept
    assert "q.put(i1)" not in " ".join(kept)  # the setup before the rule could go
