"""Every Python example in docs/pipelines.md runs and prints what its comments say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "pipelines.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def _expected(code: str) -> list[str]:
    """The ``# value`` comments of the example's print() lines."""
    return [line.split("#", 1)[1].split(":")[0].strip()
            for line in code.splitlines() if line.lstrip().startswith("print(") and "#" in line]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_the_example_runs_and_prints_what_it_says(code: str) -> None:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=25, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == _expected(code)


def test_the_guide_has_the_examples() -> None:
    assert len(EXAMPLES) >= 4
