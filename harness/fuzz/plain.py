"""Plain reproductions: a fuzz counterexample as the short script a maintainer pastes.

The fuzz machines log each step as code over the helpers of :mod:`harness.fuzz.runtime`
(outcome labels, ``check(step, expr, allowed, seen)``). :func:`render_plain` rewrites that
log with the target's public API and the standard library only: the steps become the calls
themselves, the last (violated) check becomes a plain ``assert`` whose message says what
was expected and what was observed, and what no later line reads is left out (events, marks,
observations of defects reported separately). A log it cannot rewrite gives None (the
caller keeps the full script). :func:`minimise` then drops every statement the failure does
not need (one at a time, re-running the script on the target each time).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from harness.fuzz.runtime import HANG_S

__all__ = ["PlainScript", "library_words", "minimise", "render_plain", "spell"]

_PATTERN_RE = re.compile(r"pattern\((\d+), (\d+)\)")
_COUNT_RE = re.compile(r"count\((events(?:\[mark:\])?), '([\w.]+)'\)")
_RELABEL_RE = re.compile(r"relabel\((.+), \{.*\}\)")
"""A label corrected by the target's declared errors: a step that is not the violated one
makes the same call (the violated one keeps the full script, whose labels are declared)."""


class _Unsupported(Exception):
    """A step the plain renderer does not know: keep the full script."""


class PlainScript:
    """A plain script: a header, the body of ``async def main()`` as statements (each a
    list of lines), and the final assertion (also statements).

    A script for a library target (``library``, the adapter's
    :class:`~harness.targets.base.LibraryCode`) is written in the library's own API:
    :meth:`code` spells every step with it, under ``library_header`` and with
    ``library_final`` (the library's exception classes). The same steps in Stageflow's API
    (:meth:`reference_code`) are what the reference library runs: the library script is
    verified by failing on the library, the reference script by passing on the reference.
    """

    def __init__(self, header: list[str], steps: list[list[str]], final: list[list[str]],
                 uses_events: bool, emitter: list[str], *, library: Any = None,
                 library_header: list[str] | None = None,
                 library_final: list[list[str]] | None = None) -> None:
        self.header = header
        self.steps = steps
        self.final = final
        self.uses_events = uses_events
        self.emitter = emitter
        self.library = library
        self.library_header = library_header or []
        self.library_final = library_final or []
        self.pinned: set[tuple[str, ...]] = set()
        """Steps :func:`minimise` keeps (a library script's steps of the rule that broke the
        property: without them it could fail for another reason)."""

    def reference_code(self, steps: list[list[str]] | None = None) -> str:
        """The steps in Stageflow's API (``sf``, the module named on the command line); a
        library's synchronous ``close()`` is awaited where the reference's is a coroutine."""
        steps = steps if steps is not None else self.steps
        if self.library is None:
            return self._text(self.header, steps, self.final)
        return self._text(self.header, *(
            [[_AWAIT_CLOSE_RE.sub(_CLOSE_EITHER, line) for line in step] for step in part]
            for part in (steps, self.final)))

    def code(self, steps: list[list[str]] | None = None) -> str:
        """The script: in the library's API for a library target, else Stageflow's."""
        steps = steps if steps is not None else self.steps
        if self.library is None:
            return self._text(self.header, steps, self.final)
        return self._text(self.library_header,
                          [[_spell(line, self.library) for line in step] for step in steps],
                          [[_spell(line, self.library) for line in step]
                           for step in self.library_final])

    def codes(self, steps: list[list[str]] | None = None) -> tuple[str, ...]:
        """``(code,)``, or ``(code, reference_code)`` for a library target."""
        if self.library is None:
            return (self.code(steps),)
        return (self.code(steps), self.reference_code(steps))

    @staticmethod
    def _text(header: list[str], steps: list[list[str]], final: list[list[str]]) -> str:
        body = [line for step in steps for line in step]
        body += [line for step in final for line in step]
        text = "\n".join([*header, "", "", "async def main():",
                          *("    " + line for line in body), "", "",
                          "asyncio.run(main())", ""])
        return _prune_imports(text)

    def lines(self) -> int:
        return self.code().count("\n")


_AWAIT_CLOSE_RE = re.compile(r"(?<!await )\bq\.close\(\)")
_CLOSE_EITHER = "((await q.close()) if asyncio.iscoroutinefunction(q.close) else q.close())"
_CALL_RE = re.compile(r"\bq\.(put|put_nowait|get|get_nowait|close|__anext__)\(([^()]*)\)")
_MAKE_RE = re.compile(r"sf\.ChunkQueue\((\d+)[^()]*\)")


def _bare(template: str) -> str:
    """A library call template as an expression (its ``await`` is the caller's)."""
    return template.removeprefix("await ")


def spell(line: str, library: Any) -> str:
    """One line of a plain script in a library's own API (``library``: a
    :class:`~harness.targets.base.LibraryCode`): the queue is made and called as the
    adapter forwards each method.

    :raises KeyError: the line calls a method the library has no spelling for.
    """
    return _spell(line, library)


def _spell(line: str, library: Any) -> str:
    calls = library.calls
    match = re.fullmatch(r"q = " + _MAKE_RE.pattern, line)
    if match:
        return library.make.format(max_size=match[1])
    # a queue made inside an expression (the objects machine's constructor calls)
    line = _EXPR_MAKE_RE.sub(
        lambda m: library.make.partition(" = ")[2].format(max_size=m[1]), line)
    line = _METHOD_REF_RE.sub(lambda m: f"call_sync(lambda: q.{m[1]}())", line)

    def call(m: re.Match[str]) -> str:
        name = {"__anext__": "anext"}.get(m[1], m[1])
        return _bare(calls[name]).format(item=m[2])

    line = _CALL_RE.sub(call, line)
    return re.sub(r"\blen\(q\)", lambda _m: _bare(calls["len"]), line)


_EXPR_MAKE_RE = re.compile(r"sf\.ChunkQueue\((?:max_size=)?([^,()=]+)(?:, event_emitter=emit)?\)")
_METHOD_REF_RE = re.compile(r"call_sync\(q\.(\w+)\)")


def _prune_imports(text: str) -> str:
    out = []
    for line in text.splitlines():
        module = line[len("import "):] if line.startswith("import ") else ""
        if module in ("contextlib", "zlib") and f"{module}." not in text:
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _inline_patterns(code: str) -> str:
    """``pattern(n, tag)`` as the expression it stands for (the same bytes)."""
    return _PATTERN_RE.sub(
        lambda m: f"bytes(({m[2]} * 31 + i * 7) % 251 for i in range({m[1]}))"
        if m[1] != "0" else "b''", code)


def _literal(label: str) -> Any:
    """The Python value an ``ok:...`` label names (raises _Unsupported otherwise)."""
    try:
        return ast.literal_eval(label[3:])
    except (ValueError, SyntaxError):
        raise _Unsupported(label) from None


_ERROR_TESTS = {
    "raised:stop": "isinstance(exc, StopAsyncIteration)",
    "raised:closed": "'Closed' in type(exc).__name__ or 'ShutDown' in type(exc).__name__",
    "raised:full": "'QueueFull' in type(exc).__name__",
    "raised:empty": "'QueueEmpty' in type(exc).__name__",
    "raised:refused": "isinstance(exc, (ValueError, TypeError))",
}
_WORDS = {"raised:stop": "StopAsyncIteration", "raised:closed": "a closed-queue error",
          "raised:full": "QueueFull", "raised:empty": "QueueEmpty",
          "raised:refused": "ValueError/TypeError", "pending": "still waiting",
          "cancelled": "cancelled"}


_KINDS = {"raised:closed": "closed", "raised:full": "full", "raised:empty": "empty"}


class _Errors:
    """How the final assertion names errors: by class name (a module with Stageflow's API),
    or by the library's own exception classes (``LibraryCode.errors``)."""

    def __init__(self, library: Any = None, declared: str = "", *,
                 catch: bool = False) -> None:
        self.catch = catch
        """Also write a final call whose allowed outcomes mix values and errors (the pair of
        scripts of a library target: its own and the reference's)."""
        self.tests = dict(_ERROR_TESTS)
        self.words = dict(_WORDS)
        self.declared = declared
        errors = dict(getattr(library, "errors", None) or {})
        for label, kind in _KINDS.items():
            if kind in errors:
                self.tests[label] = f"isinstance(exc, {errors[kind]})"
                self.words[label] = errors[kind].strip("()").replace(", ", " or ")
        if "end" in errors and "closed" not in errors:
            self.tests["raised:closed"] = f"isinstance(exc, {errors['end']})"

    def expected(self, labels: list[str]) -> str:
        """What was expected, in words, with the target's declaration quoted when known."""
        return _words(labels, self.words) + (f" ({self.declared})" if self.declared else "")


_NAMES = _Errors()


def library_words(library: Any) -> dict[str, str]:
    """Outcome label -> the library's name for it (``raised:closed`` -> ``ChannelClosed``)."""
    return _Errors(library).words


def _words(labels: list[str], words: dict[str, str] | None = None) -> str:
    words = _WORDS if words is None else words
    out = []
    for label in labels:
        if label.startswith("ok:"):
            out.append(f"returns {label[3:]}")
        else:
            out.append(words.get(label, label))
    # the words go inside a single-quoted f-string: a value's quotes and braces must not end it
    return " or ".join(out).replace("'", '"').replace("{", "(").replace("}", ")")


def _task_final(task: str, allowed: list[str], what: str,
                errors: _Errors = _NAMES) -> list[list[str]]:
    """The final check of a task's outcome."""
    wait = [f"await asyncio.wait({{{task}}}, timeout={HANG_S})"]
    if allowed and "pending" not in allowed and all(
            a.startswith("raised:") or a == "cancelled" or a.startswith("ok:") for a in allowed):
        tests = []
        for label in allowed:
            if label.startswith("ok:"):
                if label.startswith("ok:chunk("):
                    raise _Unsupported(label)
                tests.append(f"(exc is None and {task}.result() == {_literal(label)!r})")
            elif label in errors.tests:
                tests.append(f"({errors.tests[label]})")
            else:
                raise _Unsupported(label)
        return [wait,
                [f"assert {task}.done(), '{what}: still waiting after {HANG_S} s; expected: "
                 f"{errors.expected(allowed)}'"],
                [f"exc = None if {task}.cancelled() else {task}.exception()"],
                [f"got = repr(exc) if exc or {task}.cancelled() else repr({task}.result())"],
                [f"assert {' or '.join(tests)}, f'{what}: expected {errors.expected(allowed)}, "
                 "observed {got}'"]]
    raise _Unsupported(f"task outcome {allowed}")


def _value_final(expr: str, allowed: list[str], what: str, seen: str = "",
                 errors: _Errors = _NAMES) -> list[list[str]]:
    """The final check of a call's return value (``seen``: what the target did; a call
    that raised is caught, so the assertion says what it raised)."""
    if all(a.startswith("bytes:") for a in allowed):
        sizes = sorted({int(a.split(":")[1]) for a in allowed})
        return [[f"data = {expr}"],
                [f"assert len(data) in {set(sizes)!r}, f'{what}: expected "
                 f"{' or '.join(map(str, sizes))} bytes (whole frames), observed "
                 "{len(data)} bytes'"]]
    if allowed == ["raised:refused"]:
        return [["try:", f"    got = {expr}", "except (ValueError, TypeError):", "    pass",
                 "else:", f"    raise AssertionError(f'{what}: expected ValueError/TypeError, "
                 "observed {got!r}')"]]
    if all(a.startswith("ok:") for a in allowed):
        values = [_literal(a) for a in allowed]
        want = values[0] if len(values) == 1 else None
        test = f"got == {want!r}" if len(values) == 1 else f"got in {values!r}"
        call = [f"got = {expr}"]
        if seen.startswith("raised:"):
            call = ["try:", f"    got = {expr}", "except Exception as exc:", "    got = exc"]
        return [call, [f"assert {test}, f'{what}: expected {errors.expected(allowed)}, "
                       "observed {got!r}'"]]
    if all(a.startswith("ok:") or a in errors.tests for a in allowed) and \
            any(a in errors.tests for a in allowed) and errors.catch:
        tests = [f"({errors.tests[a]})" if a in errors.tests else
                 f"(exc is None and got == {_literal(a)!r})" for a in allowed]
        return [["try:", f"    got, exc = {expr}, None", "except Exception as error:",
                 "    got, exc = error, error"],
                [f"assert {' or '.join(tests)}, f'{what}: expected "
                 f"{errors.expected(allowed)}, observed {{got!r}}'"]]
    raise _Unsupported(f"value {allowed}")


class _Renderer:
    def __init__(self, level_expr: str, errors: _Errors = _NAMES) -> None:
        self.level_expr = level_expr
        self.errors = errors
        self.tasks: dict[str, str] = {}

    def level(self, expr: str) -> str:
        return re.sub(r"level_bytes\(buf, \d+(?:, \d+)?\)", self.level_expr, expr)

    def counts(self, expr: str) -> str:
        return _COUNT_RE.sub(lambda m: f"sum(e == '{m[2]}' for e, _ in {m[1]})", expr)

    # -- steps that are not the violated one --------------------------------------------

    def step(self, expr: str, seen: str) -> list[list[str]]:
        relabelled = _RELABEL_RE.fullmatch(expr)
        expr = relabelled[1] if relabelled else expr
        call = _call_of(expr)
        if expr.startswith("await status("):
            task = expr[len("await status("):].split(",")[0].rstrip(")")
            if seen == "pending":
                return []
            return [[f"await asyncio.wait({{{task}}}, timeout={HANG_S})"]]
        if expr.startswith("(await run(out))"):
            return [["await out"]]
        if call is not None:
            if seen.startswith(("ok:", "bytes:", "accepted", "made")):
                return [[call]]
            return [["with contextlib.suppress(Exception):", f"    {call}"]]
        if "lambda" in expr or "await" in expr:
            raise _Unsupported(expr)
        return []  # an observation: nothing to do when it is not the failing step

    # -- the violated step ----------------------------------------------------------------

    def final(self, expr: str, allowed: list[str], seen: str, what: str) -> list[list[str]]:
        relabelled = _RELABEL_RE.fullmatch(expr)
        if relabelled and self.errors.catch:
            # a library script names the declared classes itself (LibraryCode.errors)
            expr = relabelled[1]
        if expr.startswith("await status("):
            task = expr[len("await status("):].split(",")[0].rstrip(")")
            return _task_final(task, allowed, what, self.errors)
        if expr == "f'len:{len(q)}'":
            want = [a[4:] for a in allowed]
            if len(want) != 1:
                raise _Unsupported(expr)
            return [[f"assert len(q) == {want[0]}, f'{what}: expected len(q) == {want[0]}, "
                     "observed {len(q)}'"]]
        match = re.fullmatch(r"f'level:\{(.+)\}'", expr)
        if match:
            level = self.level(match[1])
            want = [a[6:] for a in allowed]
            return [[f"held = {level}"],
                    [f"assert held == {want[0]}, f'{what}: expected {want[0]} bytes held, "
                     "observed {held}'"]]
        match = re.fullmatch(r"'bounded' if (.+) <= (\d+) else f'level:\{.+\}'", expr)
        if match:
            level = self.level(match[1])
            return [[f"held = {level}"],
                    [f"assert held <= {match[2]}, f'{what}: the bound is {match[2]} bytes, "
                     "observed {held} bytes held'"]]
        match = re.fullmatch(r"'kept all that fits' if (.+) >= (\d+) else f'level:\{.+\}'",
                             expr)
        if match:
            level = self.level(match[1])
            return [[f"held = {level}"],
                    [f"assert held >= {match[2]}, f'{what}: expected the {match[2]} bytes that "
                     "fit to be kept, observed {held}'"]]
        match = re.fullmatch(r"'whole frames' if \((\d+) - (.+)\) % (\d+) == 0 else "
                             r"'partial frame trimmed'", expr)
        if match:
            level = self.level(match[2])
            return [[f"trimmed = {match[1]} - {level}"],
                    [f"assert trimmed % {match[3]} == 0, f'{what}: trimmed {{trimmed}} bytes, "
                     f"not a whole number of {match[3]}-byte frames'"]]
        match = re.fullmatch(r"f\"([\w ]+):\{(count\(.+\))\}\"", expr)
        if match and len(allowed) == 1:
            want = allowed[0].split(":")[-1]
            return [[f"n = {self.counts(match[2])}"],
                    [f"assert n == {want}, f'{what}: expected {want} {match[1]}, "
                     "observed {n}'"]]
        match = re.fullmatch(r"'visible' if (count\(.+\)) >= (\d+) else 'not visible'", expr)
        if match:
            return [[f"n = {self.counts(match[1])}"],
                    [f"assert n >= {match[2]}, f'{what}: expected {match[2]} such event(s), "
                     "observed {n}'"]]
        if expr == "balance(buf.stats)" and len(allowed) == 1:
            return [["s = buf.stats"],
                    ["accounted = s['total_read'] + s['total_dropped'] + s['bytes_buffered'] "
                     "+ s.get('total_cleared', 0)"],
                    [f"assert accounted == s['total_received'], f\"{what}: stats received "
                     "{s['total_received']} bytes but account for {accounted}\""]]
        if expr == "throttle_state(q, events)" and len(allowed) == 1:
            want = dict(part.split(":") for part in allowed[0].split())
            have = dict(part.split(":") for part in seen.split())
            if want["monitor"] != have["monitor"] and want["monitor"] in ("on", "off"):
                flag = want["monitor"] == "on"
                return [[f"assert q.monitor.should_throttle() is {flag}, f'{what}: expected "
                         f"should_throttle() {flag}, observed "
                         "{q.monitor.should_throttle()}'"]]
            raise _Unsupported(expr)
        match = re.fullmatch(r"close_to\(lambda: (.+), (.+)\)", expr)
        if match:
            return [[f"got = {match[1]}"],
                    [f"assert abs(got - {match[2]}) <= 1e-9 * max(1.0, abs({match[2]})), "
                     f"f'{what}: expected {match[2]}, observed {{got}}'"]]
        match = re.fullmatch(r"raises\(lambda: (.+)\)", expr)
        if match:
            return [["try:", f"    got = {match[1]}", "except Exception:", "    pass", "else:",
                     f"    raise AssertionError(f'{what}: expected an error, observed "
                     "{got!r}')"]]
        if expr.startswith("construct(lambda: ") and allowed == ["raised:refused"]:
            inner = expr[len("construct(lambda: "):-1]
            if inner.startswith("chunk.append("):
                inner = inner[len("chunk.append("):-1]
            return _value_final(inner, allowed, what, seen, self.errors)
        call = _call_of(expr)
        if call is not None and (not expr.startswith("accepted(") or
                                 allowed == ["raised:refused"]):
            return _value_final(call, allowed, what, seen, self.errors)
        raise _Unsupported(expr)


def _call_of(expr: str) -> str | None:
    """The call a ``call_sync``/``accepted``/``construct`` expression makes."""
    for prefix, suffix in (("accepted(call_sync(lambda: ", "))"), ("call_sync(lambda: ", ")"),
                           ("construct(lambda: ", ")")):
        if expr.startswith(prefix) and expr.endswith(suffix):
            return expr[len(prefix):-len(suffix)]
    match = re.fullmatch(r"accepted\(call_sync\(([\w.]+)\)\)|call_sync\(([\w.]+)\)", expr)
    if match:
        return f"{match[1] or match[2]}()"
    return None


def _parse_check(line: str) -> tuple[str, list[str], str]:
    node = ast.parse(line).body[0]
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and len(node.value.args) == 4):
        raise _Unsupported(line)
    _, expr, allowed, seen = node.value.args
    return (ast.get_source_segment(line, expr) or "", list(ast.literal_eval(allowed)),
            ast.literal_eval(seen))


def render_plain(
    *, title: str, preamble: list[str], lines: list[str], module: str, target_name: str,
    target_version: str, command: str, level_expr: str = "buf.stats['bytes_buffered']",
    what: str = "", library: Any = None, declared: str = "", rule_start: int = 0,
) -> PlainScript | None:
    """The plain script for a violation, or None when a step cannot be written plainly.

    With ``library`` (a built-in adapter's :class:`~harness.targets.base.LibraryCode`) the
    script is written in that library's API, its assertion names the library's exceptions
    and quotes ``declared`` (where the library states the clause, and its words); the same
    steps in Stageflow's API are kept as the reference script (:class:`PlainScript`).
    """
    try:
        return _render(title, preamble, lines, module, target_name, target_version, command,
                       level_expr, what or title, library, declared, rule_start)
    except (_Unsupported, SyntaxError, ValueError, IndexError, KeyError):
        return None


def _clean(text: str, limit: int) -> str:
    """Text that fits in a single-quoted f-string."""
    return text.replace("'", "\u2019").replace("{", "(").replace("}", ")").replace(
        "\\", "/")[:limit]


def _render(title: str, preamble: list[str], lines: list[str], module: str,
            target_name: str, target_version: str, command: str, level_expr: str,
            what: str, library: Any = None, declared: str = "",
            rule_start: int = 0) -> PlainScript:
    checks = [i for i, line in enumerate(lines) if line.startswith("check(")]
    if not checks:
        raise _Unsupported("no check")
    last = checks[-1]
    catch = library is not None
    renderer = _Renderer(level_expr, _Errors(catch=True) if catch else _NAMES)
    what = what.replace("'", "").replace("{", "(").replace("}", ")")[:90]
    steps: list[list[str]] = []
    emitter: list[str] = []
    for line in preamble:
        if line.startswith(("def emit", "    ", "logged = ", "logging.")):
            emitter.append(line)
        elif line != "events = []":
            steps.append([_inline_patterns(line)])
    pinned_from = len(steps)
    for index, line in enumerate(lines[:last]):
        if index == rule_start and rule_start:
            pinned_from = len(steps)
        if line == "await settle()":
            steps.append(["await asyncio.sleep(0.01)"])
        elif line.startswith("check("):
            expr, _allowed, seen = _parse_check(line)
            steps += renderer.step(expr, seen)
        elif line.startswith("same_path(") or "# a defect reported separately" in line:
            continue
        elif re.fullmatch(r"\w+ = spawn\(.+\)", line):
            name, _, call = line.partition(" = spawn(")
            steps.append([f"{name} = asyncio.ensure_future({_inline_patterns(call[:-1])})"])
        else:
            ast.parse(line)
            steps.append([_inline_patterns(line)])
    rule_steps = {tuple(step) for step in steps[pinned_from:]
                  if step != ["await asyncio.sleep(0.01)"]} if rule_start else set()
    expr, allowed, seen = _parse_check(lines[last])
    if catch and len(allowed) > 1 and "raised:refused" in allowed:
        # the reference (ours) refuses a None item whatever the queue's state, so a script
        # it passes by refusing shows nothing: the pair judges the other outcomes only
        allowed = [label for label in allowed if label != "raised:refused"]
    final = renderer.final(expr, allowed, seen, what)
    library_final = _Renderer(level_expr, _Errors(library, _clean(declared, 160), catch=True)) \
        .final(expr, allowed, seen, what) if catch else []
    steps = _collapse(steps, final)
    text = "\n".join(line for step in [*steps, *final] for line in step)
    uses_events = "events" in text
    if catch and (uses_events or any("raise RuntimeError" in line for line in emitter)):
        raise _Unsupported("a library without events")
    if "LogCount" in "\n".join(emitter) and "logged" in text:
        raise _Unsupported("log counting")
    raising = any("raise RuntimeError" in line for line in emitter)
    if uses_events or raising:
        emit = ["def emit(name, payload):"]
        if uses_events:
            emit.append("    events.append((name, dict(payload)))")
        if raising:
            emit.append("    raise RuntimeError('emitter failure (injected)')")
        steps = [*([["events = []"]] if uses_events else []), emit, *steps]
    else:
        steps = [[line.replace(", event_emitter=emit", "").replace("event_emitter=emit, ", "")
                  for line in step] for step in steps]
    header = [
        f'"""{title}',
        "",
        f"{target_name} {target_version}; found by `{command}`.",
        "python repro.py [MODULE]: AssertionError while the defect is there.",
        '"""',
        "import asyncio",
        "import contextlib",
        "import importlib",
        "import sys",
        "import zlib",
        "",
        f"sf = importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else {module!r})",
    ]
    library_header: list[str] = []
    if library is not None:
        library_header = [
            f'"""{title}', "", f"{target_name} {target_version}; found by `{command}`.",
            "python repro.py: AssertionError while the defect is there.", '"""',
            "import asyncio", "import contextlib", *library.imports.splitlines()]
    script = PlainScript(header, steps, final, uses_events, emitter, library=library,
                         library_header=library_header, library_final=library_final)
    if library is not None:
        script.pinned = {tuple(step) for step in script.steps} & rule_steps
    code = script.code()
    if library is not None and re.search(r"\bsf\.|\bemit\b", code):
        raise _Unsupported("a name of Stageflow's API left in a library script")
    compile(code, "repro.py", "exec")  # a SyntaxError: keep the full script
    compile(script.reference_code(), "repro.py", "exec")
    return script


def _collapse(steps: list[list[str]], final: list[list[str]]) -> list[list[str]]:
    """Readable steps: a task awaited at once is a plain ``await``; ``out = X`` then
    ``await out`` is ``await X``; a ``mark`` no later line reads is left out."""
    out: list[list[str]] = []
    index = 0
    while index < len(steps):
        step = steps[index]
        head = step[0]
        match = re.fullmatch(r"(\w+) = asyncio\.ensure_future\((.+)\)", head)
        if match and index + 2 < len(steps) and steps[index + 1] == [
                "await asyncio.sleep(0.01)"] and steps[index + 2] == [
                f"await asyncio.wait({{{match[1]}}}, timeout={HANG_S})"]:
            rest = "\n".join(line for s in [*steps[index + 3:], *final] for line in s)
            if not re.search(rf"\b{match[1]}\b", rest):
                out.append([f"await {match[2]}"])
                index += 3
                continue
        if head.startswith("out = ") and index + 1 < len(steps) and \
                steps[index + 1] == ["await out"]:
            out.append([f"await {head[len('out = '):]}"])
            index += 2
            continue
        if head == "mark = len(events)":
            following = [s for s in steps[index + 1:]]
            upto = next((i for i, s in enumerate(following) if s == step), len(following))
            window = "\n".join(line for s in following[:upto] for line in s)
            if upto == len(following):
                window += "\n" + "\n".join(line for s in final for line in s)
            if "events[mark:]" not in window:
                index += 1
                continue
        out.append(step)
        index += 1
    return out


def minimise(script: PlainScript, fails: Callable[..., bool], *, budget: int = 30) -> int:
    """Drop the steps the failure does not need (delta debugging by single steps, from the
    last to the first, repeated until nothing more can go or ``budget`` runs are spent);
    ``fails(*script.codes(steps))`` runs a candidate (``fails(code)``; for a library
    target ``fails(code, reference_code)``). Returns the runs made."""
    runs = 0
    changed = True
    while changed and runs < budget:
        changed = False
        for index in reversed(range(len(script.steps))):
            if runs >= budget:
                break
            if index >= len(script.steps):
                continue
            if tuple(script.steps[index]) in script.pinned:
                continue
            candidate = script.steps[:index] + script.steps[index + 1:]
            runs += 1
            if fails(*script.codes(candidate)):
                script.steps = candidate
                changed = True
    return runs
