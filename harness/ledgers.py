"""The four findings ledgers: ``bugs.json``, ``dx.json``, ``improvements.json``, ``strengths.json``.

Each is ``{"version": 1, "entries": [...]}`` (``dx.json`` also keeps ``scores``, the
Developer Experience ratings the report reads). A ledger is validated on load; a corrupt or
mis-typed one is refused with a :class:`HarnessError` naming the file, the line and column
and the reason, and it is never overwritten. Writes are atomic and happen only when the
content changed.

Format changelog (the loader refuses versions it does not know):

- 1: first version.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from harness.errors import HarnessError
from harness.jsonio import dumps, write_text_atomic

__all__ = [
    "ENTRY_STATUSES",
    "ID_PREFIXES",
    "KINDS",
    "LEDGER_FILES",
    "LEDGER_VERSION",
    "PRIORITIES",
    "SEVERITIES",
    "Ledger",
    "is_generated",
    "load_ledger",
    "load_ledgers",
    "save_ledger",
    "validate_ledger",
]

LEDGER_VERSION = 1
KNOWN_VERSIONS = frozenset({1})
KINDS = ("bug", "dx", "improvement", "strength")
LEDGER_FILES: dict[str, str] = {
    "bug": "bugs.json",
    "dx": "dx.json",
    "improvement": "improvements.json",
    "strength": "strengths.json",
}
ID_PREFIXES: dict[str, str] = {"bug": "BUG", "dx": "DX", "improvement": "IMP", "strength": "STR"}
SEVERITIES = ("critical", "high", "medium", "low")
PRIORITIES = ("P0", "P1", "P2", "P3")
ENTRY_STATUSES = ("open", "fixed", "wontfix", "withdrawn", "merged")
"""``withdrawn``: the harness no longer judges it a defect (``withdrawn_reason`` says why:
the target declares the behaviour, or it is our recommendation, filed as an improvement);
``merged``: a symptom of the root cause of entry ``merged_into``. Both are kept, never
deleted, so an ID is never reused and a reader can see what changed."""
SOURCES = ("run", "fuzz", "manual")

# Optional entry fields and the JSON types they must have when present.
_OPTIONAL_STRINGS = (
    "category", "component", "description", "reproduction", "expected", "actual", "impact",
    "recommendation", "fingerprint", "check", "first_seen_run", "last_seen_run",
    "fixed_in_run", "fixed_in_version", "reopened_in_run", "notes", "origin",
    "withdrawn_reason", "withdrawn_in_run", "merged_into", "root_cause",
)
_OPTIONAL_NULLABLE_STRINGS = ("first_seen", "last_seen", "fixed_at")
_ID_RE = re.compile(r"^(?P<prefix>[A-Z]+)-(?P<number>\d{3,})$")


def is_generated(entry: dict[str, Any]) -> bool:
    """True for an entry the harness owns: it has a fingerprint and is not ``source: manual``."""
    return bool(entry.get("fingerprint")) and entry.get("source") != "manual"


@dataclass
class Ledger:
    """One ledger file in memory. ``doc`` is the whole JSON document; ``raw`` its bytes on disk."""

    kind: str
    path: Path
    doc: dict[str, Any]
    raw: bytes | None = None
    original: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return self.doc["entries"]

    @property
    def changed(self) -> bool:
        return self.doc != self.original

    def next_id(self) -> str:
        """The next free ID in the ledger's style: one past the highest number ever used."""
        prefix = ID_PREFIXES[self.kind]
        highest = 0
        for entry in self.entries:
            match = _ID_RE.match(entry["id"])
            if match:
                highest = max(highest, int(match["number"]))
        return f"{prefix}-{highest + 1:03d}"


def load_ledger(path: Path, kind: str) -> Ledger:
    """Load and validate one ledger; a missing file is an empty ledger (written on first change).

    :raises HarnessError: unreadable, not JSON, unknown version or wrong shape; the message
        names the file, line and column, and the reason.
    """
    if kind not in LEDGER_FILES:
        raise HarnessError(f"unknown ledger kind {kind!r} (expected one of {', '.join(KINDS)})")
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        doc: dict[str, Any] = {"version": LEDGER_VERSION, "entries": []}
        return Ledger(kind=kind, path=path, doc=doc, raw=None, original=copy.deepcopy(doc))
    except OSError as exc:
        raise HarnessError(f"cannot read ledger {path}: {exc.strerror or exc}") from exc
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HarnessError(
            f"{path}:{exc.lineno}:{exc.colno}: ledger is not valid JSON: {exc.msg} "
            "(refused; the file is left unchanged)"
        ) from None
    validate_ledger(doc, kind, path=path, text=raw.decode("utf-8", errors="replace"))
    return Ledger(kind=kind, path=path, doc=doc, raw=raw, original=copy.deepcopy(doc))


def load_ledgers(ledger_dir: Path, kinds: Iterable[str] = KINDS) -> dict[str, Ledger]:
    """Load every ledger of ``ledger_dir`` (all of them before anything is written)."""
    ledger_dir = Path(ledger_dir)
    return {kind: load_ledger(ledger_dir / LEDGER_FILES[kind], kind) for kind in kinds}


def save_ledger(ledger: Ledger) -> bool:
    """Write the ledger atomically if its content changed; returns whether it wrote."""
    if ledger.raw is not None and not ledger.changed:
        return False
    if ledger.raw is None and not ledger.entries and not ledger.changed:
        return False
    validate_ledger(ledger.doc, ledger.kind, path=ledger.path, text=None)
    payload = dumps(ledger.doc)
    write_text_atomic(ledger.path, payload)
    ledger.raw = payload
    ledger.original = copy.deepcopy(ledger.doc)
    return True


# --- validation -------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, where: tuple[str | int, ...], reason: str) -> None:
        super().__init__(reason)
        self.where = where
        self.reason = reason


def validate_ledger(doc: Any, kind: str, *, path: Path, text: str | None) -> None:
    """Check a ledger document's shape.

    :raises HarnessError: ``<file>:<line>:<col>: <field>: <reason>``; the position is that of
        the offending value when ``text`` (the file's content) is given.
    """
    try:
        _validate(doc, kind)
    except _Invalid as exc:
        field_name = _format_where(exc.where)
        position = ""
        if text is not None:
            line, col = _locate(text, exc.where)
            position = f":{line}:{col}"
        prefix = f"{path}{position}: " + (f"{field_name}: " if field_name else "")
        raise HarnessError(f"{prefix}{exc.reason} (refused; the file is left unchanged)") from None


def _format_where(where: tuple[str | int, ...]) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _validate(doc: Any, kind: str) -> None:
    if not isinstance(doc, dict):
        raise _Invalid((), f"expected a JSON object, got {_json_type(doc)}")
    if "version" not in doc:
        raise _Invalid((), "missing field 'version'")
    if doc["version"] not in KNOWN_VERSIONS or isinstance(doc["version"], bool):
        raise _Invalid(
            ("version",),
            f"unknown version {doc['version']!r} (this build reads {sorted(KNOWN_VERSIONS)})",
        )
    if "entries" not in doc:
        raise _Invalid((), "missing field 'entries'")
    entries = doc["entries"]
    if not isinstance(entries, list):
        raise _Invalid(("entries",), f"expected a list, got {_json_type(entries)}")
    seen_ids: dict[str, int] = {}
    seen_prints: dict[str, int] = {}
    for index, entry in enumerate(entries):
        _validate_entry(entry, kind, ("entries", index))
        if entry["id"] in seen_ids:
            raise _Invalid(
                ("entries", index, "id"),
                f"duplicate id {entry['id']!r} (also entries[{seen_ids[entry['id']]}])",
            )
        seen_ids[entry["id"]] = index
        fingerprint = entry.get("fingerprint")
        if fingerprint:
            if fingerprint in seen_prints:
                raise _Invalid(
                    ("entries", index, "fingerprint"),
                    f"duplicate fingerprint (also entries[{seen_prints[fingerprint]}])",
                )
            seen_prints[fingerprint] = index
    if kind == "dx" and "scores" in doc:
        _validate_scores(doc["scores"])


def _validate_entry(entry: Any, kind: str, where: tuple[str | int, ...]) -> None:
    if not isinstance(entry, dict):
        raise _Invalid(where, f"expected an object, got {_json_type(entry)}")
    for key in ("id", "type", "title", "status", "target"):
        if key not in entry:
            raise _Invalid(where, f"missing field {key!r}")
    prefix = ID_PREFIXES[kind]
    entry_id = entry["id"]
    match = _ID_RE.match(entry_id) if isinstance(entry_id, str) else None
    if match is None or match["prefix"] != prefix:
        raise _Invalid((*where, "id"), f"{entry_id!r} is not an ID like {prefix}-001")
    if entry["type"] != kind:
        raise _Invalid(
            (*where, "type"), f"{entry['type']!r} does not belong in this ledger ({kind!r})"
        )
    if not isinstance(entry["title"], str) or not entry["title"].strip():
        raise _Invalid((*where, "title"), "expected a non-empty string")
    if entry["status"] not in ENTRY_STATUSES:
        raise _Invalid(
            (*where, "status"), f"{entry['status']!r} is not one of {', '.join(ENTRY_STATUSES)}"
        )
    _validate_target(entry["target"], (*where, "target"))
    if kind in ("bug", "dx"):
        if entry.get("severity") not in SEVERITIES:
            raise _Invalid(
                (*where, "severity") if "severity" in entry else where,
                f"severity {entry.get('severity')!r} is not one of {', '.join(SEVERITIES)}",
            )
    elif kind == "improvement" and entry.get("priority") not in PRIORITIES:
        raise _Invalid(
            (*where, "priority") if "priority" in entry else where,
            f"priority {entry.get('priority')!r} is not one of {', '.join(PRIORITIES)}",
        )
    for key in _OPTIONAL_STRINGS:
        if key in entry and not isinstance(entry[key], str):
            raise _Invalid((*where, key), f"expected a string, got {_json_type(entry[key])}")
    for key in _OPTIONAL_NULLABLE_STRINGS:
        if key in entry and entry[key] is not None and not isinstance(entry[key], str):
            raise _Invalid(
                (*where, key), f"expected a string or null, got {_json_type(entry[key])}"
            )
    if "source" in entry and entry["source"] not in SOURCES:
        raise _Invalid(
            (*where, "source"), f"{entry['source']!r} is not one of {', '.join(SOURCES)}"
        )
    for key in ("evidence", "our_library"):
        if key in entry and not isinstance(entry[key], dict):
            raise _Invalid((*where, key), f"expected an object, got {_json_type(entry[key])}")
    if "seen_count" in entry and (
        not isinstance(entry["seen_count"], int) or isinstance(entry["seen_count"], bool)
    ):
        raise _Invalid((*where, "seen_count"), "expected an integer")
    if is_generated(entry):
        for key in ("check", "component"):
            if key not in entry:
                raise _Invalid(where, f"generated entry (has a fingerprint) is missing {key!r}")


def _validate_target(target: Any, where: tuple[str | int, ...]) -> None:
    if not isinstance(target, dict):
        raise _Invalid(where, f"expected an object {{name, version}}, got {_json_type(target)}")
    for key in ("name", "version"):
        if not isinstance(target.get(key), str):
            at = where if key not in target else (*where, key)
            raise _Invalid(at, f"{key!r} must be a string")


def _validate_scores(scores: Any) -> None:
    where: tuple[str | int, ...] = ("scores",)
    if not isinstance(scores, list):
        raise _Invalid(where, f"expected a list, got {_json_type(scores)}")
    for index, score_set in enumerate(scores):
        at = (*where, index)
        if not isinstance(score_set, dict):
            raise _Invalid(at, f"expected an object, got {_json_type(score_set)}")
        for key in ("target", "categories", "scale"):
            if key not in score_set:
                raise _Invalid(at, f"missing field {key!r}")
        _validate_target(score_set["target"], (*at, "target"))
        scale = score_set["scale"]
        if not _is_number(scale) or scale <= 0:
            raise _Invalid((*at, "scale"), "expected a positive number")
        categories = score_set["categories"]
        if not isinstance(categories, list) or not categories:
            raise _Invalid((*at, "categories"), "expected a non-empty list of {name, score}")
        for c_index, category in enumerate(categories):
            c_at = (*at, "categories", c_index)
            if not isinstance(category, dict) or not isinstance(category.get("name"), str):
                raise _Invalid(c_at, "expected an object with a string 'name'")
            score = category.get("score")
            if not _is_number(score) or not 0 <= score <= scale:
                raise _Invalid((*c_at, "score") if "score" in category else c_at,
                               f"score must be a number from 0 to {scale}")
        overall = score_set.get("overall")
        if overall is not None and (not _is_number(overall) or not 0 <= overall <= scale):
            raise _Invalid((*at, "overall"), f"overall must be a number from 0 to {scale}")
        for key in ("source", "origin"):
            if key in score_set and not isinstance(score_set[key], str):
                raise _Invalid((*at, key), "expected a string")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


# --- locating a value in the JSON text (for error positions) ------------------------------


def _locate(text: str, where: tuple[str | int, ...]) -> tuple[int, int]:
    """Line and column (1-based) of the value at ``where`` in valid JSON ``text``.

    Stops at the deepest part of the path it can find, so it always answers something.
    """
    pos = _skip_ws(text, 0)
    try:
        for part in where:
            if pos >= len(text):
                break
            found = (
                _member(text, pos, part) if isinstance(part, str) else _element(text, pos, part)
            )
            if found < 0:
                break
            pos = found
    except (IndexError, ValueError):
        pass
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _string_end(text: str, pos: int) -> int:
    """``pos`` is at an opening quote; returns the index just past the closing one."""
    pos += 1
    while text[pos] != '"':
        pos += 2 if text[pos] == "\\" else 1
    return pos + 1


def _value_end(text: str, pos: int) -> int:
    char = text[pos]
    if char == '"':
        return _string_end(text, pos)
    if char in "{[":
        depth = 0
        while True:
            char = text[pos]
            if char == '"':
                pos = _string_end(text, pos)
                continue
            if char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
    while pos < len(text) and text[pos] not in ",]} \t\r\n":
        pos += 1
    return pos


def _member(text: str, pos: int, key: str) -> int:
    if text[pos] != "{":
        return -1
    pos = _skip_ws(text, pos + 1)
    while text[pos] == '"':
        end = _string_end(text, pos)
        name = json.loads(text[pos:end])
        pos = _skip_ws(text, end)
        pos = _skip_ws(text, pos + 1)  # the colon
        if name == key:
            return pos
        pos = _skip_ws(text, _value_end(text, pos))
        if text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
    return -1


def _element(text: str, pos: int, index: int) -> int:
    if text[pos] != "[":
        return -1
    pos = _skip_ws(text, pos + 1)
    current = 0
    while text[pos] != "]":
        if current == index:
            return pos
        pos = _skip_ws(text, _value_end(text, pos))
        if text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        current += 1
    return -1
