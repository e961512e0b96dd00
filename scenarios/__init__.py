"""Scenarios: plain async functions registered with ``@scenario``, grouped into suites.

Importing this package registers the built-in scenarios (the ``transform007`` suite:
baseline, queue_overflow, buffer_overflow, buffer_underrun, high_load). A user's module
registers more with the same decorator and is loaded with ``--scenarios MODULE``. See
docs/writing-scenarios.md.
"""

import importlib

from scenarios import context, registry
from scenarios.context import *  # noqa: F403  (its __all__ is ours)
from scenarios.registry import *  # noqa: F403  (its __all__ is ours)

registry.define_suite("transform007", "the five scenarios of the TRANSFORM-007 stress report")
registry.define_suite("voice", "a voice agent's pipeline end to end: voice-to-voice latency, "
                      "barge-in, slow and stalled services, shutdown, soak")
registry.define_suite("iot", "IoT fan-in: many sensors into windows, bounded and accounted")

BUILTIN_MODULES = ("baseline", "queue_overflow", "buffer_overflow", "buffer_underrun",
                   "high_load", "adv_queue", "adv_audio", "voice_latency", "voice_barge_in",
                   "voice_faults", "voice_shutdown", "voice_soak", "iot_fan_in",
                   "capacity", "steady_queue")
"""Built-in scenario modules, imported (and so registered) in the suite's run order
(``adv_*``: the ``adversarial`` suite; ``voice_*``: ``voice``; ``iot_*``: ``iot``;
``capacity``: closed-loop capacity, for the gate; ``steady_queue``: in no suite, made for
sweeps and soaks)."""

for _module in BUILTIN_MODULES:
    importlib.import_module(f"scenarios.{_module}")

__all__ = ["BUILTIN_MODULES", *context.__all__, *registry.__all__]
