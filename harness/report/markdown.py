"""Markdown building blocks of the report: table cells and tables, code fences, and the fixed
number formats (milliseconds, counts, rates, ratios, bytes, durations) every section uses.

Internal to :mod:`harness.report`: the section modules import these helpers by name. A
missing or non-numeric value is shown as ``—``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__: list[str] = []


def _cell(value: Any) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    """``"1 run"``, ``"2 runs"``: the count and the word that agrees with it."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ms(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:.3f}"


def _count(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:,.0f}"


def _rate(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:,.0f}"


def _ratio(value: Any, digits: int = 4) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:.{digits}f}"


def _bytes(value: Any, unit: str = "") -> str:
    """Bytes in MiB (one decimal) from 1 MiB up, in KiB below, in bytes below 1 KiB."""
    number = _num(value)
    if number is None:
        return "—"
    if abs(number) >= 1048576:
        return f"{number / 1048576:,.1f} MiB{unit}"
    if abs(number) >= 1024:
        return f"{number / 1024:,.0f} KiB{unit}"
    return f"{number:,.0f} B{unit}"


def _duration(value: Any) -> str:
    number = _num(value)
    if number is None:
        return "—"
    return f"{number / 1000:.2f} s" if number >= 1000 else f"{number:.1f} ms"


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> list[str]:
    align = align or "l" * len(header)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _target_text(target: Any) -> str:
    if not isinstance(target, Mapping):
        return "—"
    version = target.get("version")
    return f"{target.get('name')} {version}" if version else str(target.get("name"))


def _fence(text: str) -> list[str]:
    stripped = text.strip("\n")
    if stripped.startswith(("stageflow-stress", "python -c", "python -m", "$ ")):
        lang = "shell"
    elif "import " in stripped or "await " in stripped:
        lang = "python"
    else:
        lang = "text"
    ticks = "```"
    while ticks in stripped:
        ticks += "`"
    return [f"{ticks}{lang}", stripped, ticks]


def _id_key(entry: Mapping[str, Any]) -> tuple[int, str]:
    match = re.search(r"(\d+)$", str(entry.get("id", "")))
    return (int(match.group(1)) if match else 0, str(entry.get("id", "")))


def _inline(value: Any) -> str:
    return str(value or "").replace("\n", " ").replace("`", "'")


def _percent(part: float | None, whole: float | None) -> str:
    if part is None or not whole:
        return "—"
    return f"{100.0 * part / whole:.1f} %"


def _fixed(value: Any, digits: int) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:,.{digits}f}"


def _plain(value: Any) -> str:
    number = _num(value)
    if number is None:
        return "—"
    return str(int(number)) if number.is_integer() else f"{number:g}"
