"""Airflow-side callables for the promote-or-alert branch.

`read_decision` turns the decision.json written by `llm_workloads.compare` into a small, validated
dict for XCom; the DAG's `@task.branch` reads `decision` from it. It raises (failing the task,
never defaulting to "promote") when the file is missing, malformed or inconsistent.
`format_slack_summary` turns that dict into the short Slack message.

Nothing here imports Airflow, and the returned dict carries no credentials: only the decision,
its figures, the model ids and the URIs of the result files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DECISIONS = ("promote", "keep_champion")


class DecisionFileError(ValueError):
    """decision.json is missing a field or has an invalid value (the message names both)."""


def _field(document: Mapping[str, Any], uri: str, *path: str) -> Any:
    value: Any = document
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            raise DecisionFileError(f"{uri}: missing field {'.'.join(path)}")
        value = value[part]
    return value


def _number(document: Mapping[str, Any], uri: str, *path: str) -> float:
    value = _field(document, uri, *path)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DecisionFileError(f"{uri}: {'.'.join(path)} must be a finite number, got {value!r}")
    return float(value)


def summarise_decision(document: Mapping[str, Any], uri: str) -> dict[str, Any]:
    """Validate a full decision document and return the XCom-sized summary."""
    decision = _field(document, uri, "decision")
    if decision not in DECISIONS:
        raise DecisionFileError(f"{uri}: decision must be one of {DECISIONS}, got {decision!r}")
    reason = _field(document, uri, "reason")
    primary = _field(document, uri, "primary_metric")
    if not isinstance(reason, str) or not reason or not isinstance(primary, str):
        raise DecisionFileError(f"{uri}: reason and primary_metric must be non-empty strings")
    n_items = _field(document, uri, "n_items")
    if isinstance(n_items, bool) or not isinstance(n_items, int) or n_items < 0:
        raise DecisionFileError(f"{uri}: n_items must be a non-negative integer, got {n_items!r}")
    checks = _field(document, uri, "checks")
    if not isinstance(checks, list) or not all(isinstance(c, Mapping) and "passed" in c for c in checks):
        raise DecisionFileError(f"{uri}: checks must be a list of {{name, passed, detail}}")
    failed = [str(c.get("name")) for c in checks if not c["passed"]]
    # A promote with a failed check (or a keep with none) means the file was edited or is corrupt.
    if (decision == "promote") != (not failed):
        raise DecisionFileError(f"{uri}: decision {decision!r} contradicts the failed checks {failed}")
    champion_model = _field(document, uri, "champion", "model")
    challenger_model = _field(document, uri, "challenger", "model")
    return {
        "decision": decision,
        "promote": decision == "promote",
        "reason": reason,
        "primary_metric": primary,
        "champion_value": _number(document, uri, "metrics", "champion", primary),
        "challenger_value": _number(document, uri, "metrics", "challenger", primary),
        "delta": _number(document, uri, "metrics", "delta", primary),
        "ci_low": _number(document, uri, "ci", primary, "low"),
        "ci_high": _number(document, uri, "ci", primary, "high"),
        "confidence": _number(document, uri, "confidence"),
        "margin": _number(document, uri, "margin"),
        "n_items": n_items,
        "failed_checks": failed,
        "champion_model": str(champion_model),
        "challenger_model": str(challenger_model),
        "decision_uri": uri,
        # The frozen benchmark version both were judged on (absent in decisions made before benchmarks).
        "benchmark_version": (document.get("benchmark") or {}).get("version"),
        "benchmark_note": (document.get("champion_reevaluated") or {}).get("note", ""),
    }


def read_decision(decision_uri: str) -> dict[str, Any]:
    """Read and validate decision.json; return the small dict the branch and the Slack task use."""
    from llm_workloads import storage

    document = storage.read_json(decision_uri)
    if not isinstance(document, Mapping):
        raise DecisionFileError(f"{decision_uri}: expected a JSON object")
    return summarise_decision(document, decision_uri)


def branch_for(decision: Mapping[str, Any], promote_task_id: str, keep_task_id: str) -> str:
    """The task id a `@task.branch` should follow for `read_decision`'s dict (anything else raises)."""
    value = decision.get("decision")
    if value == "promote" and decision.get("promote") is True:
        return promote_task_id
    if value == "keep_champion" and decision.get("promote") is False:
        return keep_task_id
    raise DecisionFileError(f"decision: expected read_decision's dict, got decision={value!r}")


def format_slack_summary(decision: Mapping[str, Any], report_url: str | None = None) -> str:
    """A few lines for Slack from `read_decision`'s dict (a full decision document is accepted too)."""
    small = decision if "champion_value" in decision else summarise_decision(decision, "decision")
    promoted = small["decision"] == "promote"
    champion, challenger = small["champion_model"], small["challenger_model"]
    headline = (
        f":white_check_mark: Promote challenger `{challenger}`"
        if promoted
        else f":warning: Keep champion `{champion}` (challenger `{challenger}` not promoted)"
    )
    level = f"{float(small['confidence']):.0%}"
    lines = [
        headline,
        f"{small['primary_metric']}: {small['champion_value']:.3f} -> {small['challenger_value']:.3f} "
        f"(delta {small['delta']:+.3f}, {level} CI [{small['ci_low']:+.3f}, {small['ci_high']:+.3f}], "
        f"margin {small['margin']:.3f}, n={small['n_items']})",
        f"Reason: {small['reason']}",
    ]
    if report_url:
        lines.append(f"Report: {report_url}")
    return "\n".join(lines)
