"""Open an HTML report in headless Chromium and say what a reader would see.

Speaks the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (JSON messages ended
by a NUL byte on file descriptors 3 and 4), so it needs no client library and opens no
port. :func:`render` loads the file, collects every console error, uncaught exception and
failed load, checks each ``figure.chart`` (drawn by the report's script, with a canvas
that holds coloured pixels, not only axes), measures the load, and can save a PNG.

Chromium comes from Debian's ``chromium`` package (``.ci/run`` installs it); the binary is
``$STAGEFLOW_CHROMIUM`` when set, else the first of ``chromium``, ``chromium-browser``,
``google-chrome`` on the PATH. Nothing is downloaded and the page fetches nothing.

``python -m harness.html.browser REPORT.html [--screenshot OUT.png]`` prints the result
as JSON (exit 1 when a chart did not draw or the console had an error).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BROWSER_FLAGS", "BrowserError", "RenderResult", "find_chromium", "render"]

BROWSER_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--mute-audio",
)
"""Chromium's flags besides ``--user-data-dir`` and ``--remote-debugging-pipe``."""
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")

# In the page: per figure.chart its id, whether the script marked it drawn, the canvas size
# and how many sampled pixels are coloured (a series, a band or a fault; axes are grey).
_CHECK_CHARTS = """
(() => Array.from(document.querySelectorAll("figure.chart")).map((figure) => {
  const canvas = figure.querySelector("canvas");
  let coloured = 0, painted = 0;
  if (canvas && canvas.width && canvas.height) {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4 * 7) {
      if (data[i + 3] === 0) continue;
      painted++;
      const hi = Math.max(data[i], data[i + 1], data[i + 2]);
      const lo = Math.min(data[i], data[i + 1], data[i + 2]);
      if (hi - lo > 60) coloured++;
    }
  }
  return {id: figure.dataset.chart, drawn: figure.dataset.drawn === "1",
          width: canvas ? canvas.width : 0, height: canvas ? canvas.height : 0,
          painted, coloured};
}))()
"""

_BOX = """
(() => { const el = document.querySelector(%s); if (!el) return null;
  const r = el.getBoundingClientRect();
  return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; })()
"""


class BrowserError(RuntimeError):
    """Chromium is missing, did not start, or did not answer in time."""


@dataclass
class RenderResult:
    """What :func:`render` saw."""

    charts: list[dict[str, Any]]
    """Per ``figure.chart``: ``id``, ``drawn``, canvas ``width``/``height``, ``painted`` and
    ``coloured`` (sampled pixels that are not transparent / not grey)."""
    errors: list[str] = field(default_factory=list)
    """Console errors, uncaught exceptions and failed loads, in order."""
    load_ms: float = 0.0
    """From the navigation's start to the end of the load event (the page's own clock)."""
    wall_ms: float = 0.0
    """From asking Chromium to navigate to the load event, as this process saw it."""
    screenshot: Path | None = None

    @property
    def undrawn(self) -> list[str]:
        """Charts without a drawn, coloured canvas."""
        return [c["id"] for c in self.charts
                if not (c["drawn"] and c["width"] and c["height"] and c["coloured"])]

    def as_dict(self) -> dict[str, Any]:
        return {"charts": self.charts, "errors": self.errors, "load_ms": self.load_ms,
                "wall_ms": self.wall_ms, "undrawn": self.undrawn,
                "screenshot": str(self.screenshot) if self.screenshot else None}


def find_chromium() -> str | None:
    """The Chromium binary to use, or None (see the module docstring)."""
    configured = os.environ.get("STAGEFLOW_CHROMIUM")
    if configured:
        return configured if shutil.which(configured) else None
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _Pipe:
    """A DevTools session over Chromium's debugging pipe."""

    def __init__(self, proc: subprocess.Popen[bytes], to_browser: int, from_browser: int,
                 deadline: float) -> None:
        self.proc = proc
        self.to_browser = to_browser
        self.from_browser = from_browser
        self.deadline = deadline
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self) -> dict[str, Any]:
        import select

        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _w, _x = select.select([self.from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium closed the debugging pipe (exit code "
                                   f"{self.proc.poll()})")
            self.buffer += chunk
        raw, _sep, self.buffer = self.buffer.partition(b"\0")
        return dict(json.loads(raw))

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method,
                                   "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return dict(reply.get("result") or {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, session: str | None = None) -> dict[str, Any]:
        for index, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events.pop(index)
        while True:
            event = self._read_message()
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            if "method" in event:
                self.events.append(event)


@contextlib.contextmanager
def _chromium(binary: str, deadline: float) -> Iterator[_Pipe]:
    to_read, to_write = os.pipe()  # we write commands, Chromium reads them on fd 3
    from_read, from_write = os.pipe()  # Chromium writes replies on fd 4

    def child_fds() -> None:
        high_in, high_out = os.dup(to_read), os.dup(from_write)
        os.dup2(high_in, 3)
        os.dup2(high_out, 4)

    with tempfile.TemporaryDirectory(prefix="stageflow-chromium-") as profile:
        proc = subprocess.Popen(
            [binary, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # our pipes are not inheritable: only the copies made on 3 and 4 reach Chromium
            close_fds=False, preexec_fn=child_fds,
        )
        os.close(to_read)
        os.close(from_write)
        pipe = _Pipe(proc, to_write, from_read, deadline)
        try:
            yield pipe
        finally:
            with contextlib.suppress(OSError, BrowserError):
                os.write(to_write, json.dumps({"id": 0, "method": "Browser.close"}).encode()
                         + b"\0")
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            os.close(to_write)
            os.close(from_read)


def _error_lines(events: list[dict[str, Any]], session: str) -> list[str]:
    out = []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params") or {}
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in params.get("args") or [])
            out.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails") or {}
            exc = details.get("exception") or {}
            out.append(f"uncaught: {exc.get('description') or details.get('text')}")
        elif method == "Log.entryAdded":
            entry = params.get("entry") or {}
            if entry.get("level") == "error":
                out.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}"
                           .strip())
    return out


def render(path: Path, *, screenshot: Path | None = None, width: int = 1400,
           height: int = 900, full_page: bool = False, selector: str | None = None,
           timeout_s: float = 60.0, binary: str | None = None) -> RenderResult:
    """Load ``path`` in headless Chromium; see :class:`RenderResult` for what comes back.

    ``screenshot``: save a PNG of the first ``height`` pixels (the whole page with
    ``full_page``, the first element matching the CSS ``selector`` with it) at ``width``.

    :raises BrowserError: no Chromium, or it failed or did not answer within ``timeout_s``.
    """
    binary = binary or find_chromium()
    if binary is None:
        raise BrowserError("no Chromium found (install Debian's `chromium` package or set "
                           "STAGEFLOW_CHROMIUM)")
    url = Path(path).resolve().as_uri()
    with _chromium(binary, time.monotonic() + timeout_s) as pipe:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                  session=session)
        started = time.perf_counter_ns()
        navigated = pipe.send("Page.navigate", {"url": url}, session=session)
        if navigated.get("errorText"):
            raise BrowserError(f"cannot open {path}: {navigated['errorText']}")
        pipe.wait_event("Page.loadEventFired", session)
        wall_ms = (time.perf_counter_ns() - started) / 1e6
        timing = pipe.send("Runtime.evaluate", {
            "expression": "JSON.stringify(performance.getEntriesByType('navigation')"
                          ".map(e => e.loadEventEnd))", "returnByValue": True},
            session=session)
        load = json.loads(timing["result"]["value"] or "[0]")
        charts = pipe.send("Runtime.evaluate", {"expression": _CHECK_CHARTS,
                                                "returnByValue": True}, session=session)
        result = RenderResult(charts=list(charts["result"].get("value") or []),
                              load_ms=round(float(load[0] if load else 0.0), 1),
                              wall_ms=round(wall_ms, 1))
        if screenshot is not None:
            params: dict[str, Any] = {"format": "png"}
            if selector:
                box = pipe.send("Runtime.evaluate", {"expression": _BOX % json.dumps(selector),
                                                     "returnByValue": True}, session=session)
                clip = box["result"].get("value")
                if not clip:
                    raise BrowserError(f"no element matches {selector!r}")
                params.update(captureBeyondViewport=True, clip={**clip, "scale": 1})
            elif full_page:
                size = pipe.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
                params.update(captureBeyondViewport=True, clip={
                    "x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1})
            shot = pipe.send("Page.captureScreenshot", params, session=session)
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
            result.screenshot = Path(screenshot)
        result.errors = _error_lines(pipe.events, session)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.html.browser",
                                     description="render a report in headless Chromium")
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshot", type=Path, default=None)
    parser.add_argument("--full-page", action="store_true")
    parser.add_argument("--selector", default=None, help="screenshot this element only")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args(argv)
    try:
        result = render(args.report, screenshot=args.screenshot, width=args.width,
                        height=args.height, full_page=args.full_page,
                        selector=args.selector)
    except BrowserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_dict(), indent=1))
    return 1 if result.errors or result.undrawn else 0


if __name__ == "__main__":
    sys.exit(main())
