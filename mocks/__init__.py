"""Mocks: signals, open-loop producers, consumers, fault injectors and the trace.

Mocks import nothing from ``harness``, ``scenarios`` or ``stageflow_core``: they drive the
objects a target hands them (a queue, a buffer, a chunk factory). All randomness comes
from a seed; all times are ``time.perf_counter_ns()`` integers.
"""

from mocks.consumers import (
    ConsumerCrashed,
    PlayoutReport,
    crashing_consumer,
    drain_nowait,
    fast_consumer,
    playout_consumer,
    slow_consumer,
    stalled_consumer,
    take_nowait,
)
from mocks.faults import (
    FaultWindow,
    RaisingEmitter,
    SlowEmitter,
    burst,
    resume,
    stall,
    stall_during,
)
from mocks.producers import (
    FullProbe,
    OutcomeOf,
    ProducerReport,
    as_async,
    default_outcome,
    open_loop_producer,
    outcome_classifier,
    probe_full,
)
from mocks.rates import BurstyRate, ConstantRate, JitteredRate, RampRate, RateModel, StallRate
from mocks.sampler import LOOP_LAG_SERIES, sample_periodically
from mocks.signals import (
    BYTES_PER_SAMPLE,
    FORMATS,
    KINDS,
    SignalSource,
    chunk_bytes,
    chunk_frames,
    decode,
    encode,
    frame_bytes,
    generate,
)
from mocks.trace import (
    OUTCOMES,
    RECEIPT_DTYPE,
    SEND_DTYPE,
    SEQUENCE_BASE,
    Trace,
    make_sequence,
    split_sequence,
)

__all__ = [
    "BYTES_PER_SAMPLE",
    "FORMATS",
    "KINDS",
    "LOOP_LAG_SERIES",
    "OUTCOMES",
    "RECEIPT_DTYPE",
    "SEND_DTYPE",
    "SEQUENCE_BASE",
    "BurstyRate",
    "ConstantRate",
    "ConsumerCrashed",
    "FaultWindow",
    "FullProbe",
    "JitteredRate",
    "OutcomeOf",
    "PlayoutReport",
    "ProducerReport",
    "RaisingEmitter",
    "RampRate",
    "RateModel",
    "SignalSource",
    "SlowEmitter",
    "StallRate",
    "Trace",
    "as_async",
    "burst",
    "chunk_bytes",
    "chunk_frames",
    "crashing_consumer",
    "decode",
    "default_outcome",
    "drain_nowait",
    "encode",
    "fast_consumer",
    "frame_bytes",
    "generate",
    "make_sequence",
    "open_loop_producer",
    "outcome_classifier",
    "playout_consumer",
    "probe_full",
    "resume",
    "sample_periodically",
    "slow_consumer",
    "split_sequence",
    "stall",
    "stall_during",
    "stalled_consumer",
    "take_nowait",
]
