"""stageflow_core is a drop-in superset of stageflow.helpers.streaming (Stageflow 0.5.1)."""

from __future__ import annotations

import inspect

import pytest
from stageflow.helpers import streaming as reference

import stageflow_core

REFERENCE_NAMES = sorted(reference.__all__)


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_every_reference_name_is_exported(name: str) -> None:
    assert name in stageflow_core.__all__


def _callables(obj: object) -> dict[str, object]:
    if inspect.isclass(obj):
        members = {"__init__": obj.__init__}
        members.update({
            n: m
            for n, m in vars(obj).items()
            if not n.startswith("_")
            and (inspect.isfunction(m) or isinstance(m, property | classmethod))
        })
        return members
    return {"": obj} if callable(obj) else {}


CALLABLES = [
    (name, member)
    for name in REFERENCE_NAMES
    for member in _callables(getattr(reference, name))
    if name != "EventEmitter"
]


@pytest.mark.parametrize(("name", "member"), CALLABLES)
def test_reference_parameters_are_accepted_with_the_same_defaults(name: str, member: str) -> None:
    theirs = getattr(reference, name)
    ours = getattr(stageflow_core, name)
    theirs_obj = getattr(theirs, member) if member else theirs
    ours_obj = getattr(ours, member) if member else ours
    if isinstance(theirs_obj, property):
        assert isinstance(ours_obj, property)
        return
    our_params = inspect.signature(ours_obj).parameters
    for param in inspect.signature(theirs_obj).parameters.values():
        assert param.name in our_params, f"{name}.{member} lacks {param.name}"
        assert our_params[param.name].kind == param.kind
        if param.default is not inspect.Parameter.empty:
            default = our_params[param.name].default
            if isinstance(default, stageflow_core.AudioFormat):
                default = default.value
            expected = param.default.value if hasattr(param.default, "value") else param.default
            assert default == expected, f"{name}.{member}({param.name}) default"


def test_audio_format_values_match() -> None:
    assert [f.value for f in stageflow_core.AudioFormat] == [f.value for f in reference.AudioFormat]


def test_reference_chunk_dict_loads() -> None:
    theirs = reference.AudioChunk(data=b"\x01\x02", sample_rate=8000, sequence=3)
    ours = stageflow_core.AudioChunk.from_dict(theirs.to_dict())
    assert (ours.data, ours.sample_rate, ours.sequence) == (b"\x01\x02", 8000, 3)


def test_reference_chunks_are_accepted_by_our_buffer() -> None:
    buf = stageflow_core.StreamingBuffer(target_duration_ms=0)
    buf.add_chunk(reference.AudioChunk(data=bytes(64)))  # type: ignore[arg-type]
    assert buf.current_bytes == 64
