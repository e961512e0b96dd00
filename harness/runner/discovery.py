"""Which scenario modules a run imports: ``scenario_modules`` from pyproject.toml, and
importing them (their ``@scenario`` functions register)."""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Iterable
from pathlib import Path

from harness.errors import HarnessError

__all__ = [
    "configured_scenario_modules",
    "import_scenario_modules",
]


def configured_scenario_modules(start: Path | None = None) -> list[str]:
    """``scenario_modules`` of ``[tool.stageflow-stress]`` in the nearest pyproject.toml.

    Lets a project (or another part of this product, e.g. an adversarial suite) have its
    scenario modules imported by ``run`` and ``list`` without ``--scenarios`` each time.

    :raises HarnessError: the file is not valid TOML or the key is not a list of strings.
    """
    directory = Path(start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            break
    else:
        return []
    try:
        with open(candidate, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HarnessError(f"cannot read {candidate}: {exc}") from None
    modules = doc.get("tool", {}).get("stageflow-stress", {}).get("scenario_modules", [])
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise HarnessError(f"{candidate}: [tool.stageflow-stress] scenario_modules must be a "
                           "list of module names")
    return list(modules)


def import_scenario_modules(modules: Iterable[str]) -> None:
    """Import user modules that register scenarios with ``@scenario``.

    :raises HarnessError: a module cannot be imported or fails while importing.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            raise HarnessError(f"--scenarios {module}: cannot import: {exc}") from None
        except Exception as exc:
            raise HarnessError(
                f"--scenarios {module}: importing failed: {type(exc).__name__}: {exc}"
            ) from None
