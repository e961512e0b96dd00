"""Executors: where the cells of a sweep run — in this process, on a local process pool,
or on a Ray cluster.

Every executor runs each :class:`~harness.sweep.spec.Cell` as a normal run
(:func:`run_cell`: the :class:`~harness.runner.Runner` with the cell's target, run seed and
parameter overrides), so a cell gives the same seeds, hence the same verdicts, whichever
executor runs it. ``run(cells, on_done)`` returns one scenario entry per cell, in cell
order, and calls ``on_done(cell, entry)`` as each finishes.

Contracts:

- :class:`SerialExecutor` runs cells one after the other in this process. A cell that
  wedges the event loop (code that never yields) wedges the sweep: use a pool for code
  you do not trust.
- :class:`ProcessExecutor` (the default) keeps at most ``workers`` cells running (default:
  one per core), **each in its own process**, forked from a ``forkserver`` that has the
  harness imported already (cheap start, nothing inherited from the previous cell). A
  process that dies before it reports (a crash, a signal, the OOM killer) gives its cell
  the status ``error`` naming the exit code or signal; a cell still running
  ``kill_after_s`` after its deadline is killed and gets ``timeout`` with the stack that
  ``faulthandler`` dumped when it overran. The other cells go on either way.
  ``concurrent.futures.ProcessPoolExecutor`` is not used because one dead worker breaks
  the whole pool (every pending future fails with ``BrokenProcessPool``, without saying
  which cell killed it) and it cannot stop one hung task.
- :class:`RayExecutor` submits cells as Ray tasks (``max_retries=0``: a cell that killed its
  worker is reported, not run twice), at most one per CPU of the cluster at a time. A
  crashed worker gives ``error``; a cell still running ``kill_after_s`` after its deadline
  is force-cancelled (its worker killed) and gets ``timeout``. Ray is an optional extra
  (``pip install 'stageflow-stress[ray]'``). ``address=None`` starts a local Ray for the
  sweep and stops it afterwards; an address joins that cluster, after checking within
  :data:`CONNECT_TIMEOUT_S` that it answers.
"""

from __future__ import annotations

import contextlib
import faulthandler
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from harness.errors import HarnessError
from harness.sweep.spec import Cell

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DEFAULT_KILL_AFTER_S",
    "EXECUTORS",
    "Executor",
    "ProcessExecutor",
    "RayExecutor",
    "SerialExecutor",
    "cell_deadline_s",
    "default_workers",
    "failed_entry",
    "make_executor",
    "run_cell",
]

DEFAULT_KILL_AFTER_S = 15.0
"""A cell still running this long after its deadline is killed (pool and Ray)."""
CONNECT_TIMEOUT_S = 5.0
"""How long ``--ray ADDRESS`` waits for the address to answer before giving up."""
EXECUTORS = ("serial", "pool", "ray")
_PRELOAD = ["harness.cli", "harness.runner", "harness.executors", "harness.targets",
            "scenarios", "stageflow_core", "importlib.metadata", "numpy.random",
            "harness.forkserver_warmup"]
"""Imported once by the forkserver, so a cell's process starts with them loaded; the last
freezes that heap (see :mod:`harness.forkserver_warmup`)."""
_JSON = orjson.OPT_SERIALIZE_NUMPY

OnDone = Callable[[Cell, dict[str, Any]], None]


class Executor(Protocol):
    """Runs cells; see the module docstring."""

    name: str
    workers: int

    def run(self, cells: Sequence[Cell], on_done: OnDone | None = None) -> list[dict[str, Any]]:
        ...

    def describe(self) -> dict[str, Any]:
        ...

    def close(self) -> None:
        ...


def default_workers() -> int:
    """The cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# --- one cell ---------------------------------------------------------------------------------

def run_cell(cell: Cell) -> dict[str, Any]:
    """Run one cell in this process and return its scenario entry, with ``cell`` (its
    index), ``target`` (spec, name, version) and ``worker`` (host and pid) added.

    :raises HarnessError: the cell's scenario modules or target cannot be loaded here.
    """
    import scenarios  # noqa: F401  (registers the built-in scenarios)
    from harness.runner import Runner, import_scenario_modules
    from harness.targets import load_target
    from scenarios.registry import get_scenario

    import_scenario_modules(cell.modules)
    target = load_target(cell.target)
    spec = get_scenario(cell.scenario)
    runner = Runner(target=target, target_spec=cell.target, quick=cell.quick, seed=cell.seed,
                    timeout_s=cell.timeout_s, overrides=dict(cell.params),
                    modules=cell.modules, reproduce=lambda _spec, _r: cell.reproduction())
    entry = runner.run_one(spec, 0)
    entry["cell"] = cell.index
    entry["target"] = {"spec": cell.target, "name": target.name, "version": target.version}
    entry["worker"] = {"host": socket.gethostname(), "pid": os.getpid()}
    return entry


def cell_deadline_s(cell: Cell) -> float:
    """The deadline the runner gives this cell (``--timeout``, else its ``deadline_s``)."""
    from harness.runner import DEFAULT_DEADLINE_S
    from scenarios.registry import get_scenario

    if cell.timeout_s is not None:
        return float(cell.timeout_s)
    params = get_scenario(cell.scenario).params(quick=cell.quick, overrides=cell.params)
    return float(params.get("deadline_s", DEFAULT_DEADLINE_S))


def failed_entry(cell: Cell, *, status: str, detail: str, stack: str | None = None
                 ) -> dict[str, Any]:
    """The entry of a cell that never reported: ``timeout`` (a failed ``no_hang`` verdict
    with ``detail`` and the stack) or ``error`` (``detail`` as the error)."""
    from harness.invariants import Verdict
    from harness.runner import blank_entry, derive_seed
    from scenarios.registry import get_scenario

    spec = get_scenario(cell.scenario)
    entry = blank_entry(spec, spec.params(quick=cell.quick, overrides=cell.params),
                        seed=derive_seed(cell.seed, spec.name, 0),
                        reproduction=cell.reproduction())
    entry["status"] = status
    if status == "timeout":
        entry["invariants"] = [Verdict("no_hang", False, detail, stack=stack or None,
                                       reproduction=cell.reproduction(),
                                       hypotheses=tuple(spec.hypotheses)).as_dict()]
    else:
        entry["error"] = detail
        if stack:
            entry["traceback"] = stack
    entry["cell"] = cell.index
    entry["target"] = {"spec": cell.target, "name": cell.target, "version": ""}
    return entry


def _payload(cell: Cell) -> bytes:
    """Run ``cell``; its entry, or the exception that stopped it, as JSON bytes."""
    try:
        out: dict[str, Any] = {"entry": run_cell(cell)}
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    return orjson.dumps(out, option=_JSON)


def _entry_from(cell: Cell, payload: bytes) -> dict[str, Any]:
    data = orjson.loads(payload)
    if "entry" in data:
        return data["entry"]
    return failed_entry(cell, status="error", detail=f"cell could not run: {data['error']}",
                        stack=data.get("traceback"))


# --- serial -----------------------------------------------------------------------------------

class SerialExecutor:
    """Every cell in this process, one after the other."""

    name = "serial"
    workers = 1

    def run(self, cells: Sequence[Cell], on_done: OnDone | None = None) -> list[dict[str, Any]]:
        entries = []
        for cell in cells:
            entry = _entry_from(cell, _payload(cell))
            entries.append(entry)
            if on_done:
                on_done(cell, entry)
        return entries

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "workers": 1}

    def close(self) -> None:
        pass


# --- local process pool -----------------------------------------------------------------------

def _nothing() -> None:
    """The probe that waits for the forkserver to be ready (:meth:`ProcessExecutor.start`)."""


def _cell_process(cell: Cell, conn: Any, stack_path: str, dump_after_s: float) -> None:
    """A pool worker: run one cell, send its payload, exit. A cell that overruns has every
    thread's stack dumped to ``stack_path`` and the process ended by faulthandler."""
    with open(stack_path, "w") as fh:
        faulthandler.dump_traceback_later(dump_after_s, exit=True, file=fh)
        payload = _payload(cell)
        faulthandler.cancel_dump_traceback_later()
    conn.send_bytes(payload)
    conn.close()
    # the result is delivered: end now rather than tear the interpreter down (tens to
    # hundreds of ms per cell that the parent would wait for before starting the next)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@dataclass
class _Running:
    cell: Cell
    process: Any
    conn: Any
    stack_path: Path
    deadline_s: float
    kill_at_ns: int


def _exit_text(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class ProcessExecutor:
    """At most ``workers`` cells at a time, each in its own process (see module docstring)."""

    name = "pool"

    def __init__(self, workers: int | None = None, *,
                 kill_after_s: float = DEFAULT_KILL_AFTER_S) -> None:
        if workers is not None and workers < 1:
            raise HarnessError(f"--workers must be >= 1, got {workers}")
        self.workers = workers or default_workers()
        self.kill_after_s = kill_after_s
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self._started = False
        self.startup_s = 0.0

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "workers": self.workers, "start_method": "forkserver",
                "startup_s": round(self.startup_s, 3)}

    def start(self) -> None:
        """Start the forkserver and wait until it has imported the harness (by running one
        empty process), so that this cost is paid and measured (``startup_s``) once, not
        by the first cells."""
        if self._started:
            return
        began = time.perf_counter_ns()
        probe = self._context.Process(target=_nothing, name="sweep-forkserver-probe")
        probe.start()
        probe.join()
        self._started = True
        self.startup_s = (time.perf_counter_ns() - began) / 1e9

    def close(self) -> None:
        pass

    def run(self, cells: Sequence[Cell], on_done: OnDone | None = None) -> list[dict[str, Any]]:
        self.start()
        results: dict[int, dict[str, Any]] = {}
        waiting = deque(cells)
        running: dict[int, _Running] = {}
        with tempfile.TemporaryDirectory(prefix="stageflow-sweep-") as tmp:
            try:
                while waiting or running:
                    while waiting and len(running) < self.workers:
                        cell = waiting.popleft()
                        running[cell.index] = self._start(cell, Path(tmp))
                    soonest = min(r.kill_at_ns for r in running.values())
                    timeout = max(0.0, (soonest - time.perf_counter_ns()) / 1e9)
                    multiprocessing.connection.wait(
                        [r.conn for r in running.values()]
                        + [r.process.sentinel for r in running.values()], timeout)
                    for index, job in list(running.items()):
                        entry = self._collect(job)
                        if entry is None:
                            continue
                        del running[index]
                        results[index] = entry
                        if on_done:
                            on_done(job.cell, entry)
            finally:  # interrupted: leave no cell process behind
                for job in running.values():
                    job.process.kill()
                    job.process.join(timeout=5)
        return [results[cell.index] for cell in cells]

    def _start(self, cell: Cell, tmp: Path) -> _Running:
        deadline_s = cell_deadline_s(cell)
        dump_after_s = deadline_s + max(2.0, deadline_s / 4)
        stack_path = tmp / f"cell-{cell.index}.stack"
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_cell_process, args=(cell, sender, str(stack_path), dump_after_s),
            name=f"sweep-cell-{cell.index}", daemon=True)
        process.start()
        sender.close()  # the child holds the only write end: EOF when it dies
        kill_at = time.perf_counter_ns() + int((dump_after_s + self.kill_after_s) * 1e9)
        return _Running(cell, process, receiver, stack_path, deadline_s, kill_at)

    def _collect(self, job: _Running) -> dict[str, Any] | None:
        """The entry when the cell's process reported, died or overran; else None."""
        payload: bytes | None = None
        if job.conn.poll():
            with contextlib.suppress(EOFError, OSError):
                payload = job.conn.recv_bytes()
            if payload is not None:
                job.process.join(timeout=10)
                job.conn.close()
                return _entry_from(job.cell, payload)
            job.process.join(timeout=10)  # EOF: the process is ending without a result
        overran = time.perf_counter_ns() >= job.kill_at_ns
        if job.process.is_alive() and not overran:
            return None
        if job.process.is_alive():
            job.process.kill()
            job.process.join(timeout=10)
            how = "killed"
        else:
            how = _exit_text(job.process.exitcode)
        job.conn.close()
        stack = job.stack_path.read_text() if job.stack_path.exists() else ""
        if overran or "Timeout (" in stack:
            return failed_entry(
                job.cell, status="timeout", stack=stack.strip() or None,
                detail=f"cell ran past its {job.deadline_s:g} s deadline; its worker "
                       f"process was ended ({how})")
        return failed_entry(job.cell, status="error",
                            detail=f"worker process died before the cell finished ({how})")


# --- Ray --------------------------------------------------------------------------------------

def _ray_cell(cell: Cell) -> bytes:
    """A Ray task: one cell's payload (see :func:`_payload`)."""
    return _payload(cell)


def _check_reachable(address: str) -> None:
    """:raises HarnessError: ``host:port`` of ``address`` does not accept a connection
    within :data:`CONNECT_TIMEOUT_S`."""
    if address == "auto":
        return
    bare = address.split("://", 1)[-1].rstrip("/")
    host, sep, port_text = bare.rpartition(":")
    if not sep:
        host, port_text = bare, "6379"
    try:
        port = int(port_text)
    except ValueError:
        raise HarnessError(f"--ray {address}: expected HOST:PORT") from None
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise HarnessError(f"--ray {address}: cannot reach a Ray cluster there ({reason})"
                           ) from None


class RayExecutor:
    """Cells as Ray tasks on a local Ray (``address=None``) or a cluster."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, *,
                 kill_after_s: float = DEFAULT_KILL_AFTER_S) -> None:
        if workers is not None and workers < 1:
            raise HarnessError(f"--workers must be >= 1, got {workers}")
        self.address = address
        self.kill_after_s = kill_after_s
        self._requested = workers
        self.workers = workers or default_workers()
        self._started = False
        self.startup_s = 0.0

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "workers": self.workers, "address": self.address,
                "startup_s": round(self.startup_s, 3)}

    def start(self) -> None:
        """Start a local Ray or join ``address``.

        :raises HarnessError: Ray is not installed, or the address cannot be reached.
        """
        if self._started:
            return
        began = time.perf_counter_ns()
        if self.address is not None:
            _check_reachable(self.address)
        # no usage report sent to Ray's servers from a test harness (the user may opt in)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import ray
        except ImportError:
            raise HarnessError("--ray needs Ray: pip install 'stageflow-stress[ray]'") from None
        import logging

        options: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        try:
            if self.address is None:
                # on loopback only: a local Ray needs no other interface
                ray.init(num_cpus=self.workers, include_dashboard=False,
                         _node_ip_address="127.0.0.1", **options)
            else:
                ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise HarnessError(f"--ray {self.address or ''}: cannot start or join Ray: "
                               f"{' '.join(str(exc).split())[:300]}") from None
        self._started = True
        if self.address is not None and self._requested is None:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.startup_s = (time.perf_counter_ns() - began) / 1e9

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def run(self, cells: Sequence[Cell], on_done: OnDone | None = None) -> list[dict[str, Any]]:
        import ray
        from ray.exceptions import RayError, TaskCancelledError

        self.start()
        task = ray.remote(num_cpus=1, max_retries=0)(_ray_cell)
        results: dict[int, dict[str, Any]] = {}
        waiting = deque(cells)
        running: dict[Any, tuple[Cell, float, int]] = {}
        try:
            while waiting or running:
                while waiting and len(running) < self.workers:
                    cell = waiting.popleft()
                    deadline = cell_deadline_s(cell)
                    kill_at = time.perf_counter_ns() + int(
                        (deadline * 1.25 + 2.0 + self.kill_after_s) * 1e9)
                    running[task.remote(cell)] = (cell, deadline, kill_at)
                soonest = min(kill_at for _c, _d, kill_at in running.values())
                timeout = max(0.0, (soonest - time.perf_counter_ns()) / 1e9)
                ready, _ = ray.wait(list(running), num_returns=1, timeout=timeout)
                now = time.perf_counter_ns()
                for ref in list(running):
                    cell, deadline, kill_at = running[ref]
                    if ref in ready:
                        try:
                            entry = _entry_from(cell, ray.get(ref))
                        except TaskCancelledError:
                            entry = failed_entry(cell, status="timeout",
                                                 detail=f"cell ran past its {deadline:g} s "
                                                        "deadline; its Ray task was cancelled")
                        except RayError as exc:
                            reason = " ".join(str(exc).split())[:300]
                            entry = failed_entry(cell, status="error",
                                                 detail=f"Ray worker died before the cell "
                                                        f"finished ({type(exc).__name__}: "
                                                        f"{reason})")
                    elif now >= kill_at:
                        ray.cancel(ref, force=True)
                        entry = failed_entry(cell, status="timeout",
                                             detail=f"cell ran past its {deadline:g} s "
                                                    "deadline; its Ray worker was killed")
                    else:
                        continue
                    del running[ref]
                    results[cell.index] = entry
                    if on_done:
                        on_done(cell, entry)
        finally:
            for ref in running:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
        return [results[cell.index] for cell in cells]


def make_executor(kind: str, *, workers: int | None = None, address: str | None = None,
                  kill_after_s: float = DEFAULT_KILL_AFTER_S) -> Executor:
    """The executor called ``kind`` (one of :data:`EXECUTORS`).

    :raises HarnessError: unknown kind or a bad worker count.
    """
    if kind == "serial":
        if workers not in (None, 1):
            raise HarnessError(f"--workers {workers}: the serial executor has one worker")
        return SerialExecutor()
    if kind == "pool":
        return ProcessExecutor(workers, kill_after_s=kill_after_s)
    if kind == "ray":
        return RayExecutor(address, workers, kill_after_s=kill_after_s)
    raise HarnessError(f"unknown executor {kind!r} (known: {', '.join(EXECUTORS)})")
