"""The package's public API: every exported name resolves, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import harness


@pytest.mark.parametrize("name", harness.__all__)
def test_every_exported_name_is_the_object_its_module_defines(name: str) -> None:
    value = getattr(harness, name)
    module = harness._LAZY.get(name, "harness.errors")
    assert value is getattr(sys.modules[module], name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        harness.nope  # noqa: B018


def test_importing_the_package_loads_neither_the_runner_nor_numpy_nor_rich() -> None:
    code = ("import sys, harness; "
            "print(sorted(m for m in ('harness.runner', 'numpy', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_top_level_help_lists_every_command_without_importing_any() -> None:
    code = ("import sys\n"
            "from harness.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as exc:\n    assert exc.code == 0\n"
            "print(sorted(m for m in sys.modules if m.startswith('harness.commands.')"
            " or m in ('hypothesis', 'rich', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert all(f"    {name} " in out for name in ("run", "list", "gate", "fuzz", "compare"))
    assert out.strip().splitlines()[-1] == "[]"
