"""Reproductions of scenario-found defects: the short script a maintainer pastes.

A scenario sees a defect in a run of thousands of chunks; its reproduction is the few
calls that show the same broken clause. :data:`SCRIPTS` holds, per defect key a scenario
names, the steps that show it with the target's public API (``sf`` is the target module)
and a plain ``assert`` saying expected and observed. :func:`scenario_script` renders it for
a target and verifies it twice (it must fail on the target and pass on the reference
library) before a finding may use it; unverified, the finding keeps its replay command.
The fuzzer's reproductions are made from its own shrunk examples (harness/fuzz/plain.py).
"""

from __future__ import annotations

from typing import Any

from harness.defects import DefectKey

__all__ = ["SCRIPTS", "scenario_script"]

REFERENCE_MODULE = "stageflow_core"

SCRIPTS: dict[DefectKey, list[str]] = {
    DefectKey("ChunkQueue", "close (blocked producer)", "no_loss"): [
        "q = sf.ChunkQueue(1)",
        "await q.put('a')",
        "waiting = asyncio.ensure_future(q.put('b'))  # the queue is full: it waits",
        "await asyncio.sleep(0.01)",
        "await q.close()",
        "received = []",
        "while (item := await q.get()) is not None:  # drain to the end of the stream",
        "    received.append(item)",
        "await asyncio.sleep(0.01)",
        "exc = waiting.exception() if waiting.done() else None",
        "accepted = waiting.done() and exc is None and waiting.result() is not False",
        "assert not accepted or 'b' in received, (",
        "    f\"put('b') waiting at close() returned {waiting.result()!r}, but the consumer \"",
        "    f\"received {received} and then the end of the stream: 'b' is lost\")",
    ],
}
"""Defect key -> the body of ``async def main()`` that shows it."""


def scenario_script(key: DefectKey, *, module: str, title: str, command: str,
                    target: str, verify: bool = True) -> tuple[str, dict[str, Any]] | None:
    """The script for ``key`` against ``module`` and how it verified, or None when there is
    no script for the key (or, with ``verify``, it did not fail on the target and pass on
    the reference: a script that says nothing is not offered)."""
    body = SCRIPTS.get(key)
    if body is None:
        return None
    title = title.replace('"""', "'''")
    code = "\n".join([
        f'"""{title}', "", f"{target}; found by `{command}`.",
        "python repro.py [MODULE]: AssertionError while the defect is there.", '"""',
        "import asyncio", "import importlib", "import sys", "",
        f"sf = importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else {module!r})",
        "", "", "async def main():", *("    " + line for line in body), "", "",
        "asyncio.run(main())", ""])
    if not verify:
        return code, {}
    from harness.fuzz.snippet import run_snippet

    verified: dict[str, Any] = {"target": run_snippet(code, module)}
    if module != REFERENCE_MODULE:
        verified["reference"] = run_snippet(code, REFERENCE_MODULE)
    verified["confirmed"] = verified["target"]["result"] == "fails" and (
        module == REFERENCE_MODULE or verified["reference"]["result"] == "passes")
    return (code, verified) if verified["confirmed"] else None
