"""Atomic writes: readers see the old file or the new one, with the mode a user expects."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.jsonio import read_json, write_json_atomic, write_text_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_umask_mode_not_mkstemps_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "report.html", "<html></html>")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "report.html") == 0o644


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "bugs.json"
    path.write_text("{}")
    path.chmod(0o640)
    write_json_atomic(path, {"version": 1, "entries": []})
    assert _mode(path) == 0o640
    assert read_json(path) == {"version": 1, "entries": []}


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})
    assert read_json(path) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]


def test_an_unwritable_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(HarnessError, match="cannot write"):
        write_text_atomic(blocker / "x.json", "{}")
