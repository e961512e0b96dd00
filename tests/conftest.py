"""Shared by every test directory: the ``needs_peer`` marker.

``@pytest.mark.needs_peer`` skips a test when the real Stageflow (the comparison peer,
``pip install '.[peer]'``) is not installed.
"""

from __future__ import annotations

import importlib.util

import pytest


def peer_available() -> bool:
    """True when ``stageflow.helpers.streaming`` (Stageflow, the peer target) can be imported."""
    try:
        return importlib.util.find_spec("stageflow.helpers.streaming") is not None
    except ImportError:  # no ``stageflow`` package at all
        return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_peer: skip unless the real Stageflow (peer target) is installed")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if peer_available():
        return
    skip = pytest.mark.skip(reason="peer extra not installed")
    for item in items:
        if item.get_closest_marker("needs_peer") is not None:
            item.add_marker(skip)
