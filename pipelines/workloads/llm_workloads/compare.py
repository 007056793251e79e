"""Champion vs challenger: a paired, guarded promotion decision written as JSON for the DAG's branch.

    python -m llm_workloads.compare --champion-results U --challenger-results U \\
        --primary-metric exact_match --margin 0.02 --confidence 0.95 \\
        [--test bootstrap|mcnemar] [--guard NAME=TOL ...] [--min-items N] \\
        [--bootstrap-resamples N] [--seed N] [--require-ci-above-margin] \\
        --decision-uri U

`--*-results` is what `llm_workloads.evaluate` wrote: the pointer `<output>/<label>.json`, a results
directory, or its `results.json`. Metrics are recomputed from the per-item files (whose sha256 is
checked), never taken on trust from the summary.

The rule (every check is evaluated and recorded; the challenger is promoted only if all pass):

1. min_items: at least `--min-items` paired items; otherwise keep the champion.
2. margin: the observed improvement on the primary metric (challenger - champion, in metric units,
   e.g. 0.02 = 2 percentage points) is at least `--margin`.
3. significance, on the same items (paired):
   * bootstrap (default): resample items with replacement `--bootstrap-resamples` times with a
     fixed `--seed`; the two-sided percentile confidence interval of the difference at
     `--confidence` must lie above 0 (with `--require-ci-above-margin`, above the margin).
   * mcnemar (0/1 metrics only, e.g. exact_match): exact McNemar test on the discordant items;
     the challenger must win more of them and p < 1 - confidence.
4. guards: for each `--guard NAME=TOL` the metric may not get worse by more than TOL (point
   estimate; "worse" is lower for accuracies, higher for failure rates).
   `request_failure_rate` is always guarded (tolerance 0 unless given), so a challenger that fails
   more requests than the champion is never promoted.

Both result sets must come from the same test data, items, prompt and decoding settings;
otherwise the comparison is refused (exit 2) instead of producing a meaningless decision.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from llm_workloads import storage
from llm_workloads.metrics import BOOL_COLUMNS, COUNT_COLUMNS, METRICS, MetricSpec, aggregate

DECISION_SCHEMA_VERSION = 1
ALWAYS_GUARDED: dict[str, float] = {"request_failure_rate": 0.0}
_EPS = 1e-12
TestName = Literal["bootstrap", "mcnemar"]


class CompareError(Exception):
    """Inputs that cannot be compared; the message names the file and the field."""


@dataclass(frozen=True)
class DecisionRule:
    primary_metric: str = "exact_match"
    margin: float = 0.0
    confidence: float = 0.95
    test: TestName = "bootstrap"
    guards: Mapping[str, float] = field(default_factory=dict)
    min_items: int = 50
    resamples: int = 10_000
    seed: int = 0
    require_ci_above_margin: bool = False

    def validated(self) -> DecisionRule:
        spec = METRICS.get(self.primary_metric)
        if spec is None:
            raise CompareError(
                f"--primary-metric: unknown metric {self.primary_metric!r}; known: {sorted(METRICS)}"
            )
        if not spec.higher_is_better:
            raise CompareError(
                f"--primary-metric: {self.primary_metric} is a failure rate; use it as a --guard"
            )
        if self.test == "mcnemar" and not spec.binary:
            raise CompareError(f"--test mcnemar: {self.primary_metric} is not a per-item 0/1 metric")
        if not 0.5 <= self.confidence < 1:
            raise CompareError("--confidence: must be in [0.5, 1)")
        if not 0 <= self.margin < 1:
            raise CompareError("--margin: must be in [0, 1)")
        if self.min_items < 1 or self.resamples < 100:
            raise CompareError("--min-items must be >= 1 and --bootstrap-resamples >= 100")
        for name, tolerance in self.guards.items():
            if name not in METRICS:
                raise CompareError(f"--guard: unknown metric {name!r}; known: {sorted(METRICS)}")
            if not 0 <= tolerance < 1:
                raise CompareError(f"--guard {name}: tolerance must be in [0, 1)")
        return self

    def all_guards(self) -> dict[str, float]:
        return {**ALWAYS_GUARDED, **self.guards}


@dataclass(frozen=True)
class LoadedResults:
    uri: str
    label: str
    model: str
    settings: Mapping[str, Any]
    settings_key: str
    items: list[dict[str, Any]]


def load_results(uri: str) -> LoadedResults:
    """Results from a pointer file, a results directory or a results.json, with the items verified."""
    if uri.endswith(".json"):
        document = storage.read_json(uri)
        if isinstance(document, dict) and "results_uri" in document and "metrics" not in document:
            return load_results(str(document["results_uri"]))
        results_uri, result_dir = uri, uri.rsplit("/", 1)[0]
    else:
        result_dir = uri.rstrip("/")
        results_uri = storage.join(result_dir, "results.json")
        document = storage.read_json(results_uri)
    if not isinstance(document, dict):
        raise CompareError(f"{results_uri}: expected a JSON object")
    for key in ("label", "model", "settings", "settings_key", "items", "items_sha256", "n_items"):
        if key not in document:
            raise CompareError(f"{results_uri}: missing field {key!r}")
    items_uri = storage.join(result_dir, str(document["items"]))
    items_text = storage.read_text(items_uri)
    if hashlib.sha256(items_text.encode("utf-8")).hexdigest() != document["items_sha256"]:
        raise CompareError(
            f"{items_uri}: sha256 differs from items_sha256 in {results_uri} (modified or partial)"
        )
    items = storage.read_jsonl(items_uri)
    if len(items) != document["n_items"]:
        raise CompareError(
            f"{items_uri}: {len(items)} items, results.json says n_items={document['n_items']}"
        )
    for number, item in enumerate(items, start=1):
        missing = [c for c in ("id", *BOOL_COLUMNS, *COUNT_COLUMNS) if c not in item]
        if missing:
            raise CompareError(f"{items_uri}:{number}: missing field(s) {missing}")
    return LoadedResults(
        uri=result_dir,
        label=str(document["label"]),
        model=str(document["model"]),
        settings=document["settings"],
        settings_key=str(document["settings_key"]),
        items=items,
    )


def comparability_problems(champion: LoadedResults, challenger: LoadedResults) -> list[str]:
    """Why two result sets are not a paired comparison (empty when they are)."""
    problems: list[str] = []

    def get(results: LoadedResults, *path: str) -> Any:
        value: Any = results.settings
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    for path in (("data", "data_hash"), ("data", "item_ids_sha256"), ("prompt",), ("decoding",)):
        a, b = get(champion, *path), get(challenger, *path)
        if a is None or a != b:
            problems.append(f"settings.{'.'.join(path)} differs: champion {a!r}, challenger {b!r}")
    ids_a = [item["id"] for item in champion.items]
    ids_b = [item["id"] for item in challenger.items]
    if ids_a != ids_b:
        problems.append("the two results do not hold the same items in the same order")
    if champion.model == challenger.model and get(champion, "endpoint") == get(challenger, "endpoint"):
        problems.append(f"champion and challenger are the same model {champion.model!r} on the same route")
    return problems


def _columns(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    import numpy as np

    return {
        c: np.asarray([float(item[c]) for item in items], dtype=np.float64)
        for c in (*BOOL_COLUMNS, *COUNT_COLUMNS)
    }


def _vector_metric(spec: MetricSpec, sums: Mapping[str, Any], n: int) -> Any:
    """metrics.metric_from_sums over arrays of resampled sums (0/0 -> 0, as there)."""
    import numpy as np

    def div(num: Any, den: Any) -> Any:
        return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)

    if spec.kind == "rate":
        return sums[spec.column] / n
    tp, fp, fn = (sums[f"{spec.column}_{s}"] for s in ("tp", "fp", "fn"))
    if spec.kind == "precision":
        return div(tp, tp + fp)
    if spec.kind == "recall":
        return div(tp, tp + fn)
    return div(2 * tp, 2 * tp + fp + fn)


def paired_bootstrap(
    champion: Sequence[Mapping[str, Any]],
    challenger: Sequence[Mapping[str, Any]],
    *,
    resamples: int,
    seed: int,
    confidence: float,
) -> dict[str, dict[str, float]]:
    """Percentile CI of (challenger - champion) for every metric, resampling the same item indices for both.

    Also returns `p_not_better`: the share of resamples where the difference is <= 0.
    """
    import numpy as np

    n = len(champion)
    cols_a, cols_b = _columns(champion), _columns(challenger)
    rng = np.random.default_rng(seed)
    deltas = {name: np.empty(resamples, dtype=np.float64) for name in METRICS}
    chunk = max(1, min(resamples, 2_000_000 // max(n, 1)))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        index = rng.integers(0, n, size=(size, n))
        sums_a = {c: cols_a[c][index].sum(axis=1) for c in cols_a}
        sums_b = {c: cols_b[c][index].sum(axis=1) for c in cols_b}
        for name, spec in METRICS.items():
            deltas[name][start : start + size] = _vector_metric(spec, sums_b, n) - _vector_metric(
                spec, sums_a, n
            )
    alpha = 1 - confidence
    out: dict[str, dict[str, float]] = {}
    for name, values in deltas.items():
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        out[name] = {
            "low": float(low),
            "high": float(high),
            "level": confidence,
            "p_not_better": float(np.mean(values <= 0.0)),
        }
    return out


def mcnemar_exact(champion_right: Sequence[bool], challenger_right: Sequence[bool]) -> dict[str, float | int]:
    """Exact (binomial) two-sided McNemar test. b: only the champion right; c: only the challenger right."""
    b = sum(1 for x, y in zip(champion_right, challenger_right, strict=True) if x and not y)
    c = sum(1 for x, y in zip(champion_right, challenger_right, strict=True) if y and not x)
    discordant = b + c
    if discordant == 0:
        p = 1.0
    else:
        tail = sum(math.comb(discordant, k) for k in range(min(b, c) + 1)) / 2**discordant
        p = min(1.0, 2 * tail)
    return {"champion_only": b, "challenger_only": c, "p_value": p}


def decide(
    champion_items: Sequence[Mapping[str, Any]],
    challenger_items: Sequence[Mapping[str, Any]],
    rule: DecisionRule,
) -> dict[str, Any]:
    """The decision and every figure behind it (no model identities; `build_decision` adds those)."""
    rule.validated()
    if len(champion_items) != len(challenger_items) or not champion_items:
        raise CompareError("champion and challenger need the same, non-zero number of items")
    n = len(champion_items)
    champion_metrics = aggregate(champion_items)
    challenger_metrics = aggregate(challenger_items)
    delta = {name: challenger_metrics[name] - champion_metrics[name] for name in METRICS}
    ci = paired_bootstrap(
        champion_items, challenger_items, resamples=rule.resamples, seed=rule.seed, confidence=rule.confidence
    )
    primary = rule.primary_metric
    spec = METRICS[primary]
    checks: list[dict[str, Any]] = []

    def check(name: str, passed: bool, detail: str) -> None:
        checks.append({"name": name, "passed": bool(passed), "detail": detail})

    check(
        "min_items",
        n >= rule.min_items,
        f"{n} paired items" + ("" if n >= rule.min_items else f", below the minimum of {rule.min_items}"),
    )
    check(
        "margin",
        delta[primary] >= rule.margin - _EPS,
        f"{primary} {champion_metrics[primary]:.4f} -> {challenger_metrics[primary]:.4f} "
        f"(delta {delta[primary]:+.4f}, margin {rule.margin:.4f})",
    )
    mcnemar: dict[str, float | int] | None = None
    if spec.binary:
        mcnemar = mcnemar_exact(
            [bool(i[spec.column]) for i in champion_items], [bool(i[spec.column]) for i in challenger_items]
        )
    level = f"{rule.confidence:.0%}"
    if rule.test == "mcnemar":
        assert mcnemar is not None
        alpha = 1 - rule.confidence
        significant = mcnemar["challenger_only"] > mcnemar["champion_only"] and mcnemar["p_value"] < alpha
        check(
            "significance",
            significant,
            f"McNemar: challenger-only {mcnemar['challenger_only']}, "
            f"champion-only {mcnemar['champion_only']}, p={mcnemar['p_value']:.4g} (needs < {alpha:.4g})",
        )
    else:
        bound = rule.margin if rule.require_ci_above_margin else 0.0
        low, high = ci[primary]["low"], ci[primary]["high"]
        check(
            "significance",
            low > bound + _EPS,
            f"paired bootstrap {level} CI of delta [{low:+.4f}, {high:+.4f}] must lie above {bound:+.4f}",
        )
    guards: dict[str, dict[str, Any]] = {}
    for name, tolerance in sorted(rule.all_guards().items()):
        higher_is_better = METRICS[name].higher_is_better
        worsening = -delta[name] if higher_is_better else delta[name]
        passed = worsening <= tolerance + _EPS
        guards[name] = {
            "tolerance": tolerance,
            "champion": champion_metrics[name],
            "challenger": challenger_metrics[name],
            "delta": delta[name],
            "higher_is_better": higher_is_better,
            "passed": passed,
        }
        check(
            f"guard:{name}",
            passed,
            f"{name} {champion_metrics[name]:.4f} -> {challenger_metrics[name]:.4f} "
            f"(worse by {max(worsening, 0.0):.4f}, tolerance {tolerance:.4f})",
        )
    failed = [c for c in checks if not c["passed"]]
    promote = not failed
    reason = (
        f"challenger beats champion on {primary} by {delta[primary]:+.4f} (>= margin {rule.margin:.4f}, "
        f"significant at {level}) and no guard regressed"
        if promote
        else "; ".join(f"{c['name']} failed: {c['detail']}" for c in failed)
    )
    return {
        "schema_version": DECISION_SCHEMA_VERSION,
        "decision": "promote" if promote else "keep_champion",
        "reason": reason,
        "primary_metric": primary,
        "margin": rule.margin,
        "confidence": rule.confidence,
        "test": rule.test,
        "n_items": n,
        "metrics": {"champion": champion_metrics, "challenger": challenger_metrics, "delta": delta},
        "ci": ci,
        "mcnemar": mcnemar,
        "guards": guards,
        "checks": checks,
        "bootstrap": {"resamples": rule.resamples, "seed": rule.seed, "method": "paired percentile"},
        "min_items": rule.min_items,
        "require_ci_above_margin": rule.require_ci_above_margin,
    }


def build_decision(champion: LoadedResults, challenger: LoadedResults, rule: DecisionRule) -> dict[str, Any]:
    problems = comparability_problems(champion, challenger)
    if problems:
        raise CompareError(
            f"{champion.uri} and {challenger.uri} are not a paired comparison: " + "; ".join(problems)
        )
    decision = decide(champion.items, challenger.items, rule)
    for role, results in (("champion", champion), ("challenger", challenger)):
        decision[role] = {
            "label": results.label,
            "model": results.model,
            "results_uri": results.uri,
            "settings_key": results.settings_key,
        }
    decision["settings"] = {
        "data_hash": champion.settings["data"]["data_hash"],
        "test_uri": champion.settings["data"].get("test_uri"),
        "prompt": champion.settings["prompt"],
        "decoding": champion.settings["decoding"],
    }
    return decision


def parse_guard(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise CompareError(f"--guard: expected NAME=TOLERANCE, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m llm_workloads.compare", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--champion-results", required=True)
    parser.add_argument("--challenger-results", required=True)
    parser.add_argument("--primary-metric", default="exact_match", choices=sorted(METRICS))
    parser.add_argument("--margin", type=float, default=0.0, help="minimum improvement, in metric units")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--test", choices=("bootstrap", "mcnemar"), default="bootstrap")
    parser.add_argument("--guard", action="append", default=[], metavar="NAME=TOL")
    parser.add_argument("--min-items", type=int, default=50)
    parser.add_argument("--bootstrap-resamples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--require-ci-above-margin", action="store_true")
    parser.add_argument("--decision-uri", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        guards = dict(parse_guard(g) for g in args.guard)
        rule = DecisionRule(
            primary_metric=args.primary_metric,
            margin=args.margin,
            confidence=args.confidence,
            test=args.test,
            guards=guards,
            min_items=args.min_items,
            resamples=args.bootstrap_resamples,
            seed=args.seed,
            require_ci_above_margin=args.require_ci_above_margin,
        ).validated()
        champion = load_results(args.champion_results)
        challenger = load_results(args.challenger_results)
        decision = build_decision(champion, challenger, rule)
    except CompareError as error:
        print(f"compare: error: {error}", file=sys.stderr)
        return 2
    except storage.StorageError as error:
        print(f"compare: error: {error}", file=sys.stderr)
        return 2
    try:
        storage.write_json(args.decision_uri, decision)
    except storage.StorageError as error:
        print(f"compare: error: {error}", file=sys.stderr)
        return 1
    print(f"compare: {decision['decision']}: {decision['reason']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
