"""The worked example of docs/targets.md works as written: a newcomer copies it, names it
with ``--target module:factory``, and it is a target like the built-in one."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

from harness.runner import run_scenario
from harness.targets import BUILTIN_TARGETS, load_target
from scenarios.registry import get_scenario

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not BUILTIN_TARGETS["aiochannel"].installed(),
                       reason="the example adapts aiochannel (the targets extra)"),
]
DOC = Path(__file__).resolve().parents[2] / "docs" / "targets.md"


def example() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## A worked example"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def mystress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "mystress.py").write_text(example(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mystress", raising=False)
    return "mystress:ChannelTarget"


def test_the_example_is_under_40_lines() -> None:
    assert len(example().splitlines()) < 40


def test_the_example_loads_as_the_builtin_aiochannel_does(mystress: str) -> None:
    mine, builtin = load_target(mystress), load_target("aiochannel")
    assert mine.name == "my-aiochannel" and mine.version == builtin.version
    assert mine.parts == builtin.parts == frozenset({"queue"})
    assert mine.capabilities.names() == [
        n for n in builtin.capabilities.names() if n != "iterate"]
    assert mine.semantics.value("queue.closed_put") == "raise"


async def test_the_example_queue_behaves_as_the_library(mystress: str) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_adapters import adapter_ops, direct_ops, script

    mine = await script(adapter_ops(load_target(mystress).make_queue(3)))
    direct = await script(dataclasses.replace(direct_ops("aiochannel", 3), anext=None))
    assert mine == direct


def test_a_scenario_runs_against_the_example(mystress: str) -> None:
    entry = run_scenario(get_scenario("baseline"), load_target(mystress), quick=True, seed=1)
    assert entry["error"] is None
    assert entry["status"] in ("pass", "invalid"), entry["invariants"]
    assert entry["metrics"]["lost"] == 0 and entry["metrics"]["duplicated"] == 0
