"""Thresholds from their sources: pyproject.toml's [tool.stageflow-stress], a TOML config file, the
command line.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.thresholds import Threshold, parse_threshold

__all__ = [
    "find_pyproject",
    "load_config",
    "load_thresholds",
]

def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start``."""
    start = Path(start).resolve()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise HarnessError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise HarnessError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise HarnessError(f"{what} {path} is not valid TOML: {exc}") from None


def load_config(path: Path, *, what: str = "config file") -> dict[str, Any]:
    """The gate settings of a TOML file: top-level or under ``[tool.stageflow-stress]``."""
    doc = _read_toml(path, what)
    section = doc.get("tool", {}).get("stageflow-stress")
    if isinstance(section, dict):
        return section
    if what == "pyproject":
        return {}
    return doc


def _threshold_list(config: dict[str, Any], where: str) -> list[str]:
    values = config.get("thresholds", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise HarnessError(f"{where}: 'thresholds' must be a list of strings")
    return values


def load_thresholds(
    cli: Sequence[str] = (),
    *,
    config: Path | None = None,
    pyproject: Path | None = None,
) -> list[Threshold]:
    """Parse thresholds from ``pyproject`` defaults, then ``config``, then the CLI.

    An expression given twice is checked once.

    :raises ThresholdError: an expression does not parse; the message names its source.
    """
    texts: list[tuple[str, str]] = []
    if pyproject is not None:
        settings = load_config(pyproject, what="pyproject")
        where = f"{pyproject} [tool.stageflow-stress]"
        texts += [(t, f"{where} thresholds[{i}]")
                  for i, t in enumerate(_threshold_list(settings, where))]
    if config is not None:
        settings = load_config(config)
        texts += [(t, f"{config} thresholds[{i}]")
                  for i, t in enumerate(_threshold_list(settings, str(config)))]
    texts += [(t, "--threshold") for t in cli]
    thresholds: list[Threshold] = []
    seen: set[str] = set()
    for text, source in texts:
        threshold = parse_threshold(text, source=source)
        if threshold.describe() not in seen:
            seen.add(threshold.describe())
            thresholds.append(threshold)
    return thresholds
