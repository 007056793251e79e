"""Evaluation report: Markdown, two PNG charts and a short Slack summary.

    python -m llm_workloads.report --evaluation-uri U --decision-uri U --output-uri U

Reads the decision written by `llm_workloads.compare` and the champion's and challenger's per-item
results it names; `--evaluation-uri` is the evaluate job's output root, whose `<label>.json`
pointers list every model evaluated in the run (shown in an overview table). Writes to
`--output-uri` (normally next to the evaluation results):

    per_act_accuracy.png   act accuracy per reference dialogue act, champion vs challenger
    metric_deltas.png      challenger - champion for every metric, with the paired cluster bootstrap CI
    champion_history.png   with --registry-uri: the champion's metrics across the registry's generations
    summary.txt            the Slack message
    report.md              written last: its presence means the report is complete

Charts are drawn with matplotlib's Agg backend, without timestamps or software metadata and with a
fixed hash salt, so the same inputs give byte-identical PNGs on a given matplotlib version.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from llm_workloads import storage
from llm_workloads.airflow_tasks.decision import DecisionFileError, format_slack_summary, summarise_decision
from llm_workloads.metrics import METRICS, per_act

CHART_FILES = ("per_act_accuracy.png", "metric_deltas.png")
SUMMARY_METRICS = (
    "order_insensitive_match",
    "strict_exact_match",
    "act_accuracy",
    "slot_value_f1",
    "request_failure_rate",
    "parse_failure_rate",
)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams.update(
        {"svg.hashsalt": "llm-workloads-report", "path.simplify": True, "font.family": "DejaVu Sans"}
    )
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def per_act_chart(
    champion: Mapping[str, Mapping[str, float]], challenger: Mapping[str, Mapping[str, float]]
) -> bytes:
    plt = _pyplot()
    acts = sorted(set(champion) | set(challenger))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    try:
        width = 0.38
        xs = range(len(acts))
        ax.bar(
            [x - width / 2 for x in xs],
            [champion.get(a, {}).get("act_accuracy", 0.0) for a in acts],
            width,
            label="champion",
            color="#7f8c8d",
        )
        ax.bar(
            [x + width / 2 for x in xs],
            [challenger.get(a, {}).get("act_accuracy", 0.0) for a in acts],
            width,
            label="challenger",
            color="#2e86c1",
        )
        labels = [f"{a}\n(n={int(champion.get(a, challenger.get(a, {})).get('n', 0))})" for a in acts]
        ax.set_xticks(list(xs), labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("dialogue-act accuracy")
        ax.set_title("Act accuracy per reference dialogue act")
        ax.legend(loc="lower right")
        fig.tight_layout()
        return _png(fig)
    finally:
        plt.close(fig)


def delta_chart(decision: Mapping[str, Any]) -> bytes:
    plt = _pyplot()
    names = list(METRICS)
    deltas = [float(decision["metrics"]["delta"][n]) for n in names]
    lows = [float(decision["ci"][n]["low"]) for n in names]
    highs = [float(decision["ci"][n]["high"]) for n in names]
    fig, ax = plt.subplots(figsize=(8, 5))
    try:
        ys = list(range(len(names)))[::-1]
        colors = [
            "#2e86c1" if (d >= 0) == METRICS[n].higher_is_better or d == 0 else "#c0392b"
            for n, d in zip(names, deltas, strict=True)
        ]
        ax.barh(ys, deltas, color=colors, height=0.6)
        errors = [
            [d - lo for d, lo in zip(deltas, lows, strict=True)],
            [hi - d for d, hi in zip(deltas, highs, strict=True)],
        ]
        ax.errorbar(deltas, ys, xerr=errors, fmt="none", ecolor="black", capsize=3, linewidth=1)
        ax.axvline(0, color="black", linewidth=0.8)
        primary = decision["primary_metric"]
        ax.axvline(
            float(decision["margin"]),
            color="#27ae60",
            linestyle="--",
            linewidth=1,
            label=f"margin ({primary})",
        )
        ax.set_yticks(ys, [f"{n} *" if n == primary else n for n in names], fontsize=8)
        ax.set_xlabel(
            f"challenger - champion ({float(decision['confidence']):.0%} paired cluster bootstrap CI)"
        )
        ax.set_title("Metric deltas (* primary; red = worse)")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        return _png(fig)
    finally:
        plt.close(fig)


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _benchmark_lines(decision: Mapping[str, Any]) -> list[str]:
    """The frozen benchmark version the decision was measured on; whether the champion was re-evaluated."""
    bench = decision.get("benchmark")
    if not isinstance(bench, dict):
        return []
    note = (decision.get("champion_reevaluated") or {}).get("note")
    return [
        f"- Benchmark: v{bench['version']} (sha256 `{str(bench['sha256'])[:12]}`, {bench['items']} items, "
        f"`{bench['uri']}`)" + (f"; {note}" if note else "")
    ]


def _statistics_lines(decision: Mapping[str, Any]) -> list[str]:
    """What the decision's figures mean: margin, resampling unit, power (absent in older decisions)."""
    lines: list[str] = []
    meaning = decision.get("margin_meaning")
    if isinstance(meaning, Mapping):
        lines.append(f"- Margin ({meaning['kind']}): {meaning['text']}.")
    groups, mde = decision.get("groups"), decision.get("mde")
    if isinstance(groups, Mapping) and isinstance(mde, Mapping):
        value = mde.get("value")
        shown = f"{value:.4f}" if isinstance(value, int | float) else "undefined"
        limit = mde.get("limit")
        lines.append(
            f"- Resampled by meaning group: {decision['n_items']} items in {groups['n_groups']} groups; "
            f"minimum detectable effect {shown} at {float(mde['confidence']):.0%} with "
            f"{float(mde['power']):.0%} power"
            + (f" (a comparison is powered when it is at most {limit:.4f})" if limit is not None else "")
        )
    significance = decision.get("significance")
    if isinstance(significance, Mapping):
        lines.append(
            f"- Significance: {significance['method']}, one-sided p = {significance['p_value']:.4g} over "
            f"{significance['informative_groups']} groups where the models differ "
            f"({'all' if significance['exact'] else 'random'} {significance['patterns']} patterns)."
        )
    return lines


def render_markdown(
    decision: Mapping[str, Any],
    champion_acts: Mapping[str, Mapping[str, float]],
    challenger_acts: Mapping[str, Mapping[str, float]],
    evaluated: Sequence[Mapping[str, Any]],
) -> str:
    small = summarise_decision(decision, "decision")
    champion, challenger = decision["champion"], decision["challenger"]
    lines = [
        "# Champion vs challenger evaluation",
        "",
        f"**Decision: {decision['decision']}** — {decision['reason']}",
        "",
        f"- Champion: `{champion['model']}` (results `{champion['results_uri']}`)",
        f"- Challenger: `{challenger['model']}` (results `{challenger['results_uri']}`)",
        f"- Test data: `{decision['settings']['test_uri']}` ({decision['settings']['data_hash']}), "
        f"{decision['n_items']} paired items; prompt `{decision['settings']['prompt']['version']}`; "
        f"temperature {decision['settings']['decoding']['temperature']}, "
        f"max_tokens {decision['settings']['decoding']['max_tokens']}",
        f"- Rule: primary `{decision['primary_metric']}`, margin {decision['margin']}, "
        f"{decision['test']} at {float(decision['confidence']):.0%}, minimum {decision['min_items']} items; "
        f"bootstrap {decision['bootstrap']['resamples']} resamples, seed {decision['bootstrap']['seed']}",
        *_benchmark_lines(decision),
        *_statistics_lines(decision),
        "",
        "## Checks",
        "",
        "| check | passed | detail |",
        "|---|---|---|",
        *(
            f"| {c['name']} | {'yes' if c['passed'] else '**no**'} | {c['detail']} |"
            for c in decision["checks"]
        ),
        "",
        "## Metrics",
        "",
        "Failed requests and unparseable answers count as wrong in every metric. "
        "`order_insensitive_match` ignores slot and list-value order; `strict_exact_match` is plain string "
        "equality with the reference (the published ViGGO metric).",
        "",
        "| metric | champion | challenger | delta | CI low | CI high |",
        "|---|---|---|---|---|---|",
    ]
    for name in METRICS:
        ci = decision["ci"][name]
        figures = decision["metrics"]
        lines.append(
            _row(
                name + (" (primary)" if name == decision["primary_metric"] else ""),
                _fmt(figures["champion"][name]),
                _fmt(figures["challenger"][name]),
                f"{figures['delta'][name]:+.4f}",
                f"{ci['low']:+.4f}",
                f"{ci['high']:+.4f}",
            )
        )
    if decision.get("mcnemar"):
        m = decision["mcnemar"]
        lines += [
            "",
            f"McNemar (exact) on `{decision['primary_metric']}`: champion-only {m['champion_only']}, "
            f"challenger-only {m['challenger_only']}, p = {m['p_value']:.4g}.",
        ]
    lines += [
        "",
        "![metric deltas](metric_deltas.png)",
        "",
        "## Per dialogue act",
        "",
        "| act | n | champion act acc. | challenger act acc. | champion order-insens. | "
        "challenger order-insens. | champion strict | challenger strict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for act in sorted(set(champion_acts) | set(challenger_acts)):
        a, b = champion_acts.get(act, {}), challenger_acts.get(act, {})
        lines.append(
            _row(
                act,
                int(a.get("n", b.get("n", 0))),
                *(
                    f"{x.get(k, 0.0):.4f}"
                    for k in ("act_accuracy", "order_insensitive_match", "strict_exact_match")
                    for x in (a, b)
                ),
            )
        )
    lines += ["", "![per-act accuracy](per_act_accuracy.png)", ""]
    if evaluated:
        lines += [
            "## All models evaluated in this run",
            "",
            _row("label", "model", *SUMMARY_METRICS),
            _row(*["---"] * (2 + len(SUMMARY_METRICS))),
        ]
        for entry in evaluated:
            m = entry["metrics"]
            lines.append(
                _row(entry["label"], f"`{entry['model']}`", *(f"{m[k]:.4f}" for k in SUMMARY_METRICS))
            )
        lines.append("")
    lines += ["## Slack summary", "", "```", format_slack_summary(small), "```", ""]
    return "\n".join(lines)


def evaluated_models(evaluation_uri: str) -> list[dict[str, Any]]:
    """Every `<label>.json` pointer directly under the evaluate output root, with its metrics."""
    root = evaluation_uri.rstrip("/")
    # list_uris gives s3:// URIs for S3 and plain paths for local roots (also for file:// roots).
    prefix = root if storage.is_s3(root) else str(storage.local_path(root))
    entries: list[dict[str, Any]] = []
    for uri in storage.list_uris(root):
        relative = uri[len(prefix) :].lstrip("/")
        if not uri.startswith(prefix) or "/" in relative or not relative.endswith(".json"):
            continue
        pointer = storage.read_json(uri)
        if not isinstance(pointer, dict) or "results_uri" not in pointer:
            continue
        results = storage.read_json(storage.join(str(pointer["results_uri"]), "results.json"))
        entries.append({"label": pointer["label"], "model": pointer["model"], "metrics": results["metrics"]})
    return sorted(entries, key=lambda e: str(e["label"]))


HISTORY_METRICS = ("order_insensitive_match", "strict_exact_match", "act_accuracy")


def history_chart(entries: Sequence[Mapping[str, Any]]) -> bytes:
    """The champion's metrics across the registry's generations (one point per entry)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    generations = [int(e["generation"]) for e in entries]
    for name in HISTORY_METRICS:
        values = [(e.get("metrics") or {}).get(name) for e in entries]
        points = [(g, v) for g, v in zip(generations, values, strict=True) if isinstance(v, int | float)]
        if points:
            ax.plot([g for g, _ in points], [v for _, v in points], marker="o", label=name)
    ax.set_xticks(generations)
    ax.set_xticklabels([f"{g}\n{e['kind']}" for g, e in zip(generations, entries, strict=True)], fontsize=7)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("registry generation")
    ax.set_title("Champion metrics across retrains (each at its own evaluation)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def history_markdown(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = [
        "## Champion history (model registry)",
        "",
        "Each entry's metrics come from its own evaluation run (their test sets may differ).",
        "",
        "![champion history](champion_history.png)",
        "",
        _row("generation", "kind", "adapter", *HISTORY_METRICS, "recorded"),
        _row(*["---"] * (4 + len(HISTORY_METRICS))),
    ]
    for e in entries:
        m = e.get("metrics") or {}
        cells = [_fmt(m[k]) if isinstance(m.get(k), int | float) else "" for k in HISTORY_METRICS]
        lines.append(_row(e["generation"], e["kind"], f"`{e['adapter']}`", *cells, e.get("recorded_at", "")))
    return [*lines, ""]


def build_report(
    evaluation_uri: str | None, decision_uri: str, registry_uri: str | None = None
) -> dict[str, bytes]:
    """All report files in memory (name -> bytes); nothing is written here."""
    decision = storage.read_json(decision_uri)
    if not isinstance(decision, dict):
        raise DecisionFileError(f"{decision_uri}: expected a JSON object")
    small = summarise_decision(decision, decision_uri)
    acts = {}
    for role in ("champion", "challenger"):
        items = storage.read_jsonl(storage.join(decision[role]["results_uri"], "items.jsonl"))
        acts[role] = per_act(items)
    evaluated = evaluated_models(evaluation_uri) if evaluation_uri else []
    markdown = render_markdown(decision, acts["champion"], acts["challenger"], evaluated)
    files = {
        "per_act_accuracy.png": per_act_chart(acts["champion"], acts["challenger"]),
        "metric_deltas.png": delta_chart(decision),
        "summary.txt": (format_slack_summary(small) + "\n").encode(),
    }
    if registry_uri:
        from llm_workloads import registry

        entries = registry.history(registry_uri)
        if entries:
            files["champion_history.png"] = history_chart(entries)
            markdown = markdown.rstrip("\n") + "\n\n" + "\n".join(history_markdown(entries))
    files["report.md"] = markdown.encode()
    return files


def write_report(files: Mapping[str, bytes], output_uri: str) -> None:
    content_types = {
        ".png": "image/png",
        ".txt": "text/plain; charset=utf-8",
        ".md": "text/markdown; charset=utf-8",
    }
    # report.md last: a reader that finds it finds a complete report.
    for name in sorted(files, key=lambda n: n == "report.md"):
        suffix = name[name.rfind(".") :]
        storage.write_bytes(storage.join(output_uri, name), files[name], content_types[suffix])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llm_workloads.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--evaluation-uri", required=True, help="the evaluate job's --output-uri")
    parser.add_argument("--decision-uri", required=True)
    parser.add_argument("--output-uri", required=True)
    parser.add_argument("--registry-uri", default=None, help="model registry: adds the champion history")
    args = parser.parse_args(argv)
    try:
        files = build_report(args.evaluation_uri, args.decision_uri, args.registry_uri)
        write_report(files, args.output_uri)
    except (storage.StorageError, DecisionFileError, KeyError, ValueError) as error:
        print(f"report: error: {error}", file=sys.stderr)
        return 2 if not isinstance(error, storage.StorageError) else 1
    print(f"report: written to {args.output_uri}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
