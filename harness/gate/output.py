"""The gate's outcome for CI: JUnit test cases and the Markdown step summary."""

from __future__ import annotations

from harness.gate.outcome import (
    BREACH,
    INVALID,
    SKIP,
    GateOutcome,
)
from harness.junit import JUnitCase

__all__ = [
    "gate_markdown",
    "junit_cases",
]

def junit_cases(outcome: GateOutcome) -> list[JUnitCase]:
    """One JUnit test case per check: breaches fail, invalid runs error, skips are skipped."""
    cases = []
    for check in outcome.checks:
        message = (
            f"{check.metric} = {check.current_text()} (limit {check.limit}, "
            f"baseline {check.baseline_text()})"
        )
        if check.comparison is not None:
            message += f"; effect {check.effect_text}, p {check.p_text}"
        if check.note:
            message += f"; {check.note}"
        result = {BREACH: "failure", INVALID: "error", SKIP: "skipped"}.get(check.verdict, "pass")
        cases.append(JUnitCase(
            name=f"{check.scenario}: {check.expression}",
            classname=f"stageflow_stress.gate.{check.scenario}",
            outcome=result,
            message=message if result != "pass" else "",
            details=f"source: {check.source}" if result != "pass" else "",
        ))
    return cases


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def gate_markdown(outcome: GateOutcome, header: str, *, report: str | None = None) -> str:
    """A Markdown summary (for ``$GITHUB_STEP_SUMMARY``); ``report`` is the path of the HTML
    report of this run over the baseline, linked under the header."""
    lines = [
        f"### stageflow-stress gate: {outcome.verdict}",
        "",
        header,
        "",
        *([f"Plots of this run over the baseline: [{report}]({report})", ""] if report else []),
        "| Check | Scenario | Baseline | Current | Limit | Effect [95% interval] | p | Verdict "
        "| Note |",
        "|---|---|---:|---:|---|---|---:|---|---|",
    ]
    for c in outcome.checks:
        lines.append(
            f"| `{_md(c.expression)}` | {_md(c.scenario)} | {_md(c.baseline_text())} | "
            f"{_md(c.current_text())} | {_md(c.limit)} | {_md(c.effect_text)} | "
            f"{_md(c.p_text)} | **{c.verdict}** | {_md(c.note)} |"
        )
    return "\n".join(lines) + "\n\n"
