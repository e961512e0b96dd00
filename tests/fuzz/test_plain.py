"""Plain reproductions: the public API and the stdlib only, a plain assert, minimised."""

from __future__ import annotations

import importlib.util

import pytest

from harness.fuzz.plain import minimise, render_plain
from harness.fuzz.snippet import run_snippet

PREAMBLE = ["events = []", "def emit(name, payload):", "    events.append((name, dict(payload)))",
            "q = sf.ChunkQueue(2, event_emitter=emit)"]
CLOSE = ["mark = len(events)", "out = q.close()",
         "check(1, (await run(out)) if asyncio.iscoroutine(out) else 'ok:None', ['ok:None'], "
         "'ok:None')"]
PUT = ["mark = len(events)", "i1 = sf.AudioChunk(data=pattern(4, 1), sample_rate=16000, "
       "channels=1, format=sf.AudioFormat('pcm_16'), sequence=1)", "t2 = spawn(q.put(i1))",
       "await settle()", "check(2, await status(t2, HANG_S), ['ok:None', 'ok:True'], 'ok:True')"]
LEN = ["check(3, f'len:{len(q)}', ['len:1'], 'len:2')"]


def render(lines: list[str]) -> object:
    return render_plain(title="len() counts the end marker", preamble=PREAMBLE, lines=lines,
                        module="stageflow.helpers.streaming", target_name="stageflow",
                        target_version="0.5.1", command="stageflow-stress fuzz --seed 0",
                        what="ChunkQueue.close")


def test_a_step_log_becomes_calls_and_one_plain_assert() -> None:
    script = render([*PUT, *CLOSE, *LEN])
    assert script is not None
    code = script.code()  # type: ignore[attr-defined]
    assert "await q.put(i1)" in code and "await q.close()" in code
    assert "assert len(q) == 1, f'ChunkQueue.close: expected len(q) == 1, observed {len(q)}'" \
        in code
    # no helper prelude, no harness names, no event plumbing nothing reads
    for name in ("def check", "def status", "spawn(", "settle(", "check(", "events", "emit",
                 "pattern("):
        assert name not in code
    assert code.count("\n") <= 30
    compile(code, "repro.py", "exec")


def test_a_step_relabelled_by_declared_errors_is_the_plain_call() -> None:
    nowait = ["check(1, relabel(call_sync(lambda: q.put_nowait(1)), "
              "{'raised:WouldBlock': 'raised:full'}), ['raised:full'], 'raised:full')"]
    script = render([*nowait, *CLOSE, *LEN])
    assert script is not None
    code = script.code()  # type: ignore[attr-defined]
    assert "with contextlib.suppress(Exception):\n        q.put_nowait(1)" in code
    assert "relabel" not in code
    compile(code, "repro.py", "exec")


def test_a_violated_step_relabelled_by_declared_errors_keeps_the_full_script() -> None:
    # the plain assert tests error names; the declared kind is only in the full script
    assert render([*CLOSE, "check(2, relabel(call_sync(lambda: q.put_nowait(1)), "
                   "{'raised:WouldBlock': 'raised:full'}), ['raised:closed'], 'raised:full')"]) \
        is None


def test_a_step_it_cannot_write_plainly_keeps_the_full_script() -> None:
    assert render([*CLOSE, "check(2, failure_visible(q, logged), ['visible'], 'silent')"]) \
        is None


def test_minimise_drops_the_steps_the_failure_does_not_need() -> None:
    script = render([*PUT, *CLOSE, *LEN])
    assert script is not None
    runs = minimise(script, lambda code: "await q.close()" in code and "q = " in code)  # type: ignore[arg-type]
    assert [line for step in script.steps for line in step] == [  # type: ignore[attr-defined]
        "q = sf.ChunkQueue(2)", "await q.close()"]
    assert 0 < runs <= 30


@pytest.mark.skipif(importlib.util.find_spec("stageflow") is None,
                    reason="the real Stageflow (peer extra) is not installed")
def test_the_script_fails_on_the_target_and_passes_on_the_reference() -> None:
    script = render([*CLOSE, "check(2, f'len:{len(q)}', ['len:0'], 'len:1')"])
    assert script is not None
    code = script.code()  # type: ignore[attr-defined]
    failed = run_snippet(code, "stageflow.helpers.streaming")
    assert failed["result"] == "fails"
    assert failed["detail"] == ("AssertionError: ChunkQueue.close: expected len(q) == 0, "
                                "observed 1")
    assert run_snippet(code, "stageflow_core")["result"] == "passes"
