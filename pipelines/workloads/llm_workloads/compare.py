"""Champion vs challenger: a paired, guarded promotion decision written as JSON for the DAG's branch.

    python -m llm_workloads.compare --champion-results U --challenger-results U \\
        --primary-metric order_insensitive_match --margin 0.02 --confidence 0.95 \\
        [--test bootstrap|mcnemar] [--guard NAME=TOL | NAME=Kitems ...] [--min-items N] \\
        [--min-groups N] [--max-mde X] [--bootstrap-resamples N] [--seed N] \\
        [--require-ci-above-margin] --decision-uri U

`--*-results` is what `llm_workloads.evaluate` wrote: the pointer `<output>/<label>.json`, a results
directory, or its `results.json`. Metrics are recomputed from the per-item files (whose sha256 is
checked), never taken on trust from the summary. `--primary-metric exact_match` is the old name of
`order_insensitive_match` and is accepted as such.

Why meaning groups: VIGGO has about three paraphrases per meaning representation, and a model that
gets a representation right usually gets all its paraphrases right. Items of one group are
therefore correlated, and a bootstrap over items as if they were independent is too narrow: in the
null simulation of test_compare_simulation.py (50 items, 17 groups, identical models) it promoted
about 10 % of the time at a nominal 2.5 %. Every resampling here is by meaning group (the split key,
`llm_workloads.splits.group_key` of the reference; the `group` field of the items).

The rule (every check is evaluated and recorded; the challenger is promoted only if all pass):

1. champion_requests: the champion's failed requests are at most `--max-champion-request-failures`
   (0). A champion whose route failed makes the comparison invalid: it could make an equal
   challenger look better. The champion is kept with reason "champion requests failed"; rerun the
   evaluation.
2. min_items: at least `--min-items` paired items.
3. power: at least `--min-groups` meaning groups, and the minimum detectable effect (MDE) of the
   primary metric at `--confidence` with 80 % power is at most `--max-mde` (default: the margin).
   MDE = (t[G-1, 1 - alpha] + t[G-1, 0.8]) * SE, alpha = (1 - confidence) / 2 (one-sided), SE the
   cluster-bootstrap standard error of the difference (times sqrt(G / (G - 1))), G the number of
   groups. An underpowered comparison cannot tell an improvement of the margin from noise, so it
   keeps the champion and says so.
4. margin: the OBSERVED improvement on the primary metric (challenger - champion, in metric units,
   e.g. 0.02 = 2 percentage points) is at least `--margin`. This is the default meaning of the
   margin ("margin_meaning": "observed"): the gain must be worth having AND be significantly above
   zero (5). With `--require-ci-above-margin` the margin is a confidence bound instead
   ("confidence_bound"): the lower end of the confidence interval must be above the margin.
5. significance (bootstrap, default): a wild cluster bootstrap with Rademacher weights and the null
   imposed, i.e. champion and challenger labels swapped at random per meaning group (a sign flip of
   each group's difference). Under the null of exchangeable models it is exact: its one-sided
   p-value, P(delta* >= delta), must be below alpha = (1 - confidence) / 2. All 2^G patterns are
   enumerated when 2^G <= `--bootstrap-resamples`, otherwise `--bootstrap-resamples` seeded draws with the
   (1 + k) / (1 + B) rule. The reported confidence interval is the paired cluster bootstrap
   percentile interval (groups resampled with replacement, the same groups for both models).
   With `--test mcnemar` (0/1 metrics only) the exact McNemar test on discordant items is the
   significance test instead; it ignores meaning groups.
6. mcnemar (0/1 primary metrics): exact two-sided McNemar on the discordant items as a cross-check:
   the challenger must win more of them and p < 1 - confidence. With few discordant items it is
   the stricter of the two (1 vs 7 discordant: p = 0.070, not significant).
7. guards: for each `--guard NAME=TOL` the metric may not get worse by more than TOL (point
   estimate; "worse" is lower for accuracies, higher for failure rates). For per-item rates the
   tolerance is at least one item (1/n): a 0.01 parse-failure guard cannot veto a challenger for one
   extra malformed answer among 50 items. `NAME=Kitems` states the tolerance in items (K/n).
   `request_failure_rate` is always guarded with a tolerance of 0 items (no floor), so a challenger
   that fails more requests than the champion is never promoted.

Both result sets must come from the same test data, items, prompt and decoding settings;
otherwise the comparison is refused (exit 2) instead of producing a meaningless decision.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from llm_workloads import storage
from llm_workloads.metrics import (
    BOOL_COLUMNS,
    COUNT_COLUMNS,
    METRIC_ALIASES,
    METRICS,
    MetricSpec,
    aggregate,
    resolve_metric,
    strict_match,
)
from llm_workloads.mr import ParseOk, parse_mr
from llm_workloads.splits import group_key

# 2: meaning-group resampling, power/MDE, champion request check, McNemar cross-check, guard floors.
DECISION_SCHEMA_VERSION = 2
ALWAYS_GUARDED: dict[str, float] = {"request_failure_rate": 0.0}
POWER = 0.8
_EPS = 1e-12
TestName = Literal["bootstrap", "mcnemar"]
MARGIN_MEANINGS = {
    "observed": "the observed improvement must be at least the margin, and significantly above 0",
    "confidence_bound": (
        "the lower end of the confidence interval of the improvement must be above the margin"
    ),
}


class CompareError(Exception):
    """Inputs that cannot be compared; the message names the file and the field."""


@dataclass(frozen=True)
class DecisionRule:
    primary_metric: str = "order_insensitive_match"
    margin: float = 0.0
    confidence: float = 0.95
    test: TestName = "bootstrap"
    guards: Mapping[str, float] = field(default_factory=dict)
    # Guards stated in items (`NAME=Kitems`): tolerance K/n, resolved once n is known.
    guard_items: Mapping[str, int] = field(default_factory=dict)
    min_items: int = 50
    min_groups: int = 10
    # Largest MDE at which a comparison counts as powered; None: the margin. Not checked when False.
    max_mde: float | None = None
    require_power: bool = True
    max_champion_request_failures: int = 0
    resamples: int = 10_000
    seed: int = 0
    require_ci_above_margin: bool = False

    @property
    def primary(self) -> str:
        return resolve_metric(self.primary_metric)

    @property
    def mde_limit(self) -> float:
        return self.margin if self.max_mde is None else self.max_mde

    def validated(self) -> DecisionRule:
        spec = METRICS.get(self.primary)
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
        if self.max_mde is not None and not 0 < self.max_mde <= 1:
            raise CompareError("--max-mde: must be in (0, 1]")
        if self.min_items < 1 or self.resamples < 100:
            raise CompareError("--min-items must be >= 1 and --bootstrap-resamples >= 100")
        if self.min_groups < 2:
            raise CompareError("--min-groups: must be >= 2 (a standard error needs two groups)")
        if self.max_champion_request_failures < 0:
            raise CompareError("--max-champion-request-failures: must be >= 0")
        for name, tolerance in {**self.guards, **self.guard_items}.items():
            if resolve_metric(name) not in METRICS:
                raise CompareError(f"--guard: unknown metric {name!r}; known: {sorted(METRICS)}")
            if name in self.guard_items and not METRICS[resolve_metric(name)].binary:
                raise CompareError(f"--guard {name}=...items: only per-item rates can be stated in items")
            if name in self.guards and not 0 <= tolerance < 1:
                raise CompareError(f"--guard {name}: tolerance must be in [0, 1)")
            if name in self.guard_items and tolerance < 0:
                raise CompareError(f"--guard {name}: item count must be >= 0")
        return self


@dataclass(frozen=True)
class LoadedResults:
    uri: str
    label: str
    model: str
    settings: Mapping[str, Any]
    settings_key: str
    items: list[dict[str, Any]]


def _upgrade_item(item: dict[str, Any], where: str) -> dict[str, Any]:
    """Items written before the metric rename carry `exact_match`; derive the new columns."""
    if "order_insensitive_match" not in item and "exact_match" in item:
        item = {**item, "order_insensitive_match": item["exact_match"]}
    if "strict_exact_match" not in item and "reference" in item and "output" in item:
        ok = not item.get("request_failed") and strict_match(item["output"], str(item["reference"]))
        item = {**item, "strict_exact_match": ok}
    return item


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
    upgraded = []
    for number, item in enumerate(items, start=1):
        item = _upgrade_item(item, f"{items_uri}:{number}")
        missing = [c for c in ("id", *BOOL_COLUMNS, *COUNT_COLUMNS) if c not in item]
        if missing:
            raise CompareError(f"{items_uri}:{number}: missing field(s) {missing}")
        upgraded.append(item)
    return LoadedResults(
        uri=result_dir,
        label=str(document["label"]),
        model=str(document["model"]),
        settings=document["settings"],
        settings_key=str(document["settings_key"]),
        items=upgraded,
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


def item_group(item: Mapping[str, Any]) -> str:
    """An item's meaning group: its `group` field, else the split key of its reference, else its id."""
    if item.get("group"):
        return str(item["group"])
    parsed = parse_mr(str(item.get("reference", "")))
    if isinstance(parsed, ParseOk):
        return group_key(parsed.value)
    return f"id:{item['id']}"  # no usable reference: the item is its own group (item-level resampling)


def group_index(items: Sequence[Mapping[str, Any]]) -> tuple[Any, list[str]]:
    """Per item, the index of its group (groups numbered in order of first appearance), and the keys."""
    import numpy as np

    numbers: dict[str, int] = {}
    index = [numbers.setdefault(item_group(item), len(numbers)) for item in items]
    return np.asarray(index, dtype=np.int64), list(numbers)


def _columns(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    import numpy as np

    return {
        c: np.asarray([float(item[c]) for item in items], dtype=np.float64)
        for c in (*BOOL_COLUMNS, *COUNT_COLUMNS)
    }


def _group_sums(items: Sequence[Mapping[str, Any]], groups: Any, n_groups: int) -> dict[str, Any]:
    import numpy as np

    return {c: np.bincount(groups, v, minlength=n_groups) for c, v in _columns(items).items()}


def _vector_metric(spec: MetricSpec, sums: Mapping[str, Any], n: Any) -> Any:
    """metrics.metric_from_sums over arrays of resampled sums and item counts (0/0 -> 0, as there)."""
    import numpy as np

    def div(num: Any, den: Any) -> Any:
        num, den = np.broadcast_arrays(np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64))
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    if spec.kind == "rate":
        return div(sums[spec.column], n)
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
    groups: Any | None = None,
) -> dict[str, dict[str, float]]:
    """Paired cluster bootstrap: percentile CI of (challenger - champion) for every metric.

    Meaning groups are resampled with replacement, the same groups for both models, each bringing
    all its items (`groups`: per item, its group index; default: the items' meaning groups).
    Also returns `p_not_better` (share of resamples with a difference <= 0) and `se` (standard
    deviation of the resampled differences, times sqrt(G / (G - 1)) for the few-groups bias).
    """
    import numpy as np

    if groups is None:
        groups, _ = group_index(champion)
    n_groups = int(groups.max()) + 1
    sums_a, sums_b = _group_sums(champion, groups, n_groups), _group_sums(challenger, groups, n_groups)
    sizes = np.bincount(groups, minlength=n_groups).astype(np.float64)
    rng = np.random.default_rng(seed)
    deltas = {name: np.empty(resamples, dtype=np.float64) for name in METRICS}
    chunk = max(1, min(resamples, 2_000_000 // max(n_groups, 1)))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        index = rng.integers(0, n_groups, size=(size, n_groups))
        n = sizes[index].sum(axis=1)
        resampled_a = {c: v[index].sum(axis=1) for c, v in sums_a.items()}
        resampled_b = {c: v[index].sum(axis=1) for c, v in sums_b.items()}
        for name, spec in METRICS.items():
            deltas[name][start : start + size] = _vector_metric(spec, resampled_b, n) - _vector_metric(
                spec, resampled_a, n
            )
    alpha = 1 - confidence
    inflation = math.sqrt(n_groups / (n_groups - 1)) if n_groups > 1 else 1.0
    out: dict[str, dict[str, float]] = {}
    for name, values in deltas.items():
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        out[name] = {
            "low": float(low),
            "high": float(high),
            "level": confidence,
            "p_not_better": float(np.mean(values <= 0.0)),
            "se": float(np.std(values) * inflation),
        }
    return out


def wild_cluster_test(
    champion: Sequence[Mapping[str, Any]],
    challenger: Sequence[Mapping[str, Any]],
    metric: str,
    *,
    resamples: int,
    seed: int,
    groups: Any | None = None,
) -> dict[str, Any]:
    """One-sided p-value of "challenger better on `metric`" with the null imposed per meaning group.

    Each pattern swaps the two models' answers in a random subset of groups (Rademacher weights on
    the group differences). Under the null that the models are exchangeable the observed difference
    is one draw from this distribution, so P(delta* >= delta) is an exact p-value: with every pattern
    enumerated, or from `resamples` seeded draws as (1 + k) / (1 + B). Groups where both models
    scored the same cannot change the difference and are left out of the patterns.
    """
    import numpy as np

    spec = METRICS[metric]
    if groups is None:
        groups, _ = group_index(champion)
    n_groups = int(groups.max()) + 1
    sums_a, sums_b = _group_sums(champion, groups, n_groups), _group_sums(challenger, groups, n_groups)
    n = float(len(champion))
    total_a = {c: v.sum() for c, v in sums_a.items()}
    total_b = {c: v.sum() for c, v in sums_b.items()}
    observed = float(_vector_metric(spec, total_b, n) - _vector_metric(spec, total_a, n))
    informative = np.flatnonzero(np.any(np.stack([sums_a[c] != sums_b[c] for c in sums_a]), axis=0))
    k = len(informative)
    if k == 0:
        return {"p_value": 1.0, "observed": observed, "informative_groups": 0, "patterns": 1, "exact": True}
    exact = 2**k <= resamples
    if exact:
        codes = np.arange(2**k, dtype=np.int64)
        swaps = ((codes[:, None] >> np.arange(k)) & 1).astype(np.float64)
    else:
        swaps = np.random.default_rng(seed).integers(0, 2, size=(resamples, k)).astype(np.float64)
    # Swapping group g moves (b_g - a_g) from the challenger's sums to the champion's.
    diff = {c: sums_b[c][informative] - sums_a[c][informative] for c in sums_a}
    moved = {c: swaps @ d for c, d in diff.items()}
    star_b = {c: total_b[c] - moved[c] for c in sums_a}
    star_a = {c: total_a[c] + moved[c] for c in sums_a}
    star = _vector_metric(spec, star_b, n) - _vector_metric(spec, star_a, n)
    at_least = int(np.sum(star >= observed - 1e-9))
    p = at_least / len(star) if exact else (1 + at_least) / (1 + len(star))
    return {
        "p_value": float(p),
        "observed": observed,
        "informative_groups": k,
        "patterns": int(len(star)),
        "exact": bool(exact),
    }


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


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (Numerical Recipes' betacf)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > 1e-300 else 1e-300
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > 1e-300 else 1e-300
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-14:
            break
    return h


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom (no SciPy in the job image's needs)."""
    if t == 0:
        return 0.5
    x, one_minus_x = df / (df + t * t), t * t / (df + t * t)  # 1 - x computed directly: no cancellation
    a, b = df / 2.0, 0.5
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(one_minus_x)
    )
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        ibeta = front * _betacf(a, b, x) / a
    else:
        ibeta = 1.0 - front * _betacf(b, a, one_minus_x) / b
    tail = 0.5 * ibeta  # P(T > |t|) = I_x(df/2, 1/2) / 2
    return 1.0 - tail if t >= 0 else tail


def student_t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t (bisection on the CDF; |error| < 1e-10)."""
    low, high = -1e3, 1e3
    for _ in range(200):
        mid = (low + high) / 2
        if student_t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-10:
            break
    return (low + high) / 2


def minimum_detectable_effect(se: float, n_groups: int, confidence: float, power: float = POWER) -> float:
    """Smallest true improvement the one-sided test at (1 - confidence) / 2 detects with `power`."""
    df = max(n_groups - 1, 1)
    alpha = (1 - confidence) / 2
    return (student_t_quantile(1 - alpha, df) + student_t_quantile(power, df)) * se


def guard_tolerances(rule: DecisionRule, n: int) -> dict[str, dict[str, Any]]:
    """Every guard's effective tolerance for n items, and how it was stated."""
    out: dict[str, dict[str, Any]] = {}
    for name, tolerance in ALWAYS_GUARDED.items():
        out[name] = {"tolerance": tolerance, "stated": f"{tolerance:g} (always guarded, no item floor)"}
    for raw, tolerance in rule.guards.items():
        name = resolve_metric(raw)
        if METRICS[name].binary:
            # A rate moves in steps of 1/n: a tolerance finer than one item would veto on a single answer.
            effective = max(tolerance, 1.0 / n)
            stated = f"{tolerance:g}" + (f", raised to one item (1/{n})" if effective > tolerance else "")
        else:
            effective, stated = tolerance, f"{tolerance:g}"
        out[name] = {"tolerance": effective, "stated": stated}
    for raw, count in rule.guard_items.items():
        name = resolve_metric(raw)
        out[name] = {"tolerance": count / n, "stated": f"{count} item(s) of {n}"}
    return out


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
    groups, group_keys = group_index(champion_items)
    n_groups = len(group_keys)
    champion_metrics = aggregate(champion_items)
    challenger_metrics = aggregate(challenger_items)
    delta = {name: challenger_metrics[name] - champion_metrics[name] for name in champion_metrics}
    ci = paired_bootstrap(
        champion_items,
        challenger_items,
        resamples=rule.resamples,
        seed=rule.seed,
        confidence=rule.confidence,
        groups=groups,
    )
    primary = rule.primary
    spec = METRICS[primary]
    alpha = (1 - rule.confidence) / 2
    level = f"{rule.confidence:.0%}"
    checks: list[dict[str, Any]] = []

    def check(name: str, passed: bool, detail: str) -> None:
        checks.append({"name": name, "passed": bool(passed), "detail": detail})

    champion_failures = sum(1 for i in champion_items if i["request_failed"])
    check(
        "champion_requests",
        champion_failures <= rule.max_champion_request_failures,
        f"champion requests failed: {champion_failures} of {n} "
        f"(allowed {rule.max_champion_request_failures}); the comparison is invalid, rerun the evaluation"
        if champion_failures > rule.max_champion_request_failures
        else f"champion requests failed: {champion_failures} of {n}",
    )
    check(
        "min_items",
        n >= rule.min_items,
        f"{n} paired items" + ("" if n >= rule.min_items else f", below the minimum of {rule.min_items}"),
    )
    se = ci[primary]["se"]
    mde = minimum_detectable_effect(se, n_groups, rule.confidence) if n_groups > 1 else math.inf
    if rule.require_power:
        enough_groups = n_groups >= rule.min_groups
        powered = enough_groups and mde <= rule.mde_limit + _EPS
        shown = f"{mde:.4f}" if math.isfinite(mde) else "undefined"
        figures = f"MDE {shown} at {level} with {POWER:.0%} power"
        if not enough_groups:
            detail = (
                f"underpowered: {n_groups} meaning groups, below the minimum of {rule.min_groups} ({figures})"
            )
        elif not powered:
            detail = (
                f"underpowered: {figures} exceeds the limit {rule.mde_limit:.4f} ({n_groups} meaning groups)"
            )
        else:
            detail = f"{figures}, within the limit {rule.mde_limit:.4f} ({n_groups} meaning groups)"
        check("power", powered, detail)
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
    cluster = wild_cluster_test(
        champion_items, challenger_items, primary, resamples=rule.resamples, seed=rule.seed, groups=groups
    )
    mcnemar_ok = (
        mcnemar is not None
        and mcnemar["challenger_only"] > mcnemar["champion_only"]
        and mcnemar["p_value"] < 1 - rule.confidence
    )
    mcnemar_detail = (
        ""
        if mcnemar is None
        else f"exact McNemar: challenger-only {mcnemar['challenger_only']}, champion-only "
        f"{mcnemar['champion_only']}, two-sided p={mcnemar['p_value']:.4g} "
        f"(needs < {1 - rule.confidence:.4g})"
    )
    if rule.test == "mcnemar":
        check("significance", mcnemar_ok, mcnemar_detail)
    else:
        low, high = ci[primary]["low"], ci[primary]["high"]
        test_ok = cluster["p_value"] < alpha
        detail = (
            f"wild cluster bootstrap over {n_groups} meaning groups: one-sided p={cluster['p_value']:.4g} "
            f"(needs < {alpha:.4g}); {level} cluster CI of delta [{low:+.4f}, {high:+.4f}]"
        )
        if rule.require_ci_above_margin:
            test_ok = test_ok and low > rule.margin + _EPS
            detail += f" must lie above {rule.margin:+.4f}"
        check("significance", test_ok, detail)
        if mcnemar is not None:
            check("mcnemar", mcnemar_ok, mcnemar_detail)
    guards: dict[str, dict[str, Any]] = {}
    for name, stated in sorted(guard_tolerances(rule, n).items()):
        tolerance = stated["tolerance"]
        higher_is_better = METRICS[name].higher_is_better
        worsening = -delta[name] if higher_is_better else delta[name]
        passed = worsening <= tolerance + _EPS
        guards[name] = {
            "tolerance": tolerance,
            "stated": stated["stated"],
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
            f"(worse by {max(worsening, 0.0):.4f}, tolerance {tolerance:.4f}: {stated['stated']})",
        )
    failed = [c for c in checks if not c["passed"]]
    promote = not failed
    reason = (
        f"challenger beats champion on {primary} by {delta[primary]:+.4f} (>= margin {rule.margin:.4f}, "
        f"significant at {level} over {n_groups} meaning groups, MDE {mde:.4f}) and no guard regressed"
        if promote
        else "; ".join(
            c["detail"]
            if c["name"] in ("champion_requests", "power")
            else f"{c['name']} failed: {c['detail']}"
            for c in failed
        )
    )
    margin_meaning = "confidence_bound" if rule.require_ci_above_margin else "observed"
    return {
        "schema_version": DECISION_SCHEMA_VERSION,
        "decision": "promote" if promote else "keep_champion",
        "reason": reason,
        "primary_metric": primary,
        "primary_metric_requested": rule.primary_metric,
        "metric_aliases": dict(METRIC_ALIASES),
        "margin": rule.margin,
        "margin_meaning": {"kind": margin_meaning, "text": MARGIN_MEANINGS[margin_meaning]},
        "confidence": rule.confidence,
        "alpha_one_sided": alpha,
        "test": rule.test,
        "n_items": n,
        "groups": {
            "key": "mr_group (llm_workloads.splits.group_key of the reference)",
            "n_groups": n_groups,
            "largest": int(max(groups.tolist().count(g) for g in range(n_groups))),
        },
        "mde": {
            "value": mde if math.isfinite(mde) else None,
            "metric": primary,
            "confidence": rule.confidence,
            "power": POWER,
            "se": se,
            "df": max(n_groups - 1, 1),
            "limit": rule.mde_limit if rule.require_power else None,
            "method": "(t[G-1, 1-alpha] + t[G-1, power]) * cluster-bootstrap SE",
        },
        "metrics": {"champion": champion_metrics, "challenger": challenger_metrics, "delta": delta},
        "ci": ci,
        "significance": {"method": "wild cluster bootstrap (Rademacher, null imposed)", **cluster},
        "mcnemar": mcnemar,
        "guards": guards,
        "checks": checks,
        "bootstrap": {
            "resamples": rule.resamples,
            "seed": rule.seed,
            "method": "paired cluster percentile (meaning groups resampled)",
        },
        "min_items": rule.min_items,
        "min_groups": rule.min_groups,
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


_ITEMS = re.compile(r"(\d+)\s*items?\Z")


def parse_guard(text: str) -> tuple[str, float | int, bool]:
    """`NAME=TOL` -> (name, tolerance, False); `NAME=Kitems` -> (name, K, True)."""
    name, sep, value = text.partition("=")
    value = value.strip()
    counted = _ITEMS.match(value)
    if sep and counted:
        return name.strip(), int(counted.group(1)), True
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value), False
    except ValueError:
        raise CompareError(f"--guard: expected NAME=TOLERANCE or NAME=<K>items, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m llm_workloads.compare", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--champion-results", required=True)
    parser.add_argument("--challenger-results", required=True)
    parser.add_argument(
        "--primary-metric", default="order_insensitive_match", choices=sorted({*METRICS, *METRIC_ALIASES})
    )
    parser.add_argument("--margin", type=float, default=0.0, help="minimum improvement, in metric units")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--test", choices=("bootstrap", "mcnemar"), default="bootstrap")
    parser.add_argument("--guard", action="append", default=[], metavar="NAME=TOL|NAME=Kitems")
    parser.add_argument("--min-items", type=int, default=50)
    parser.add_argument("--min-groups", type=int, default=10)
    parser.add_argument(
        "--max-mde", type=float, default=None, help="largest acceptable MDE (default: margin)"
    )
    parser.add_argument("--max-champion-request-failures", type=int, default=0)
    parser.add_argument("--bootstrap-resamples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--require-ci-above-margin", action="store_true")
    parser.add_argument("--decision-uri", required=True)
    parser.add_argument(
        "--benchmark-uri",
        default="",
        help="manifest of the frozen benchmark version both were evaluated on (llm_workloads.benchmark)",
    )
    parser.add_argument(
        "--champion-benchmark-version",
        default="",
        help="benchmark version the champion's registry metrics were measured on (empty: none recorded)",
    )
    return parser


def benchmark_record(
    decision: dict[str, Any], manifest_uri: str, champion_measured_on: str
) -> dict[str, Any]:
    """Add the pinned benchmark version to `decision`, after checking both were evaluated on its file."""
    manifest = storage.read_json(manifest_uri)
    if not isinstance(manifest, dict) or manifest.get("kind") != "benchmark":
        raise CompareError(f"--benchmark-uri {manifest_uri}: not a benchmark manifest")
    evaluated_on = decision["settings"].get("test_uri")
    if evaluated_on != manifest.get("file_uri"):
        raise CompareError(
            f"--benchmark-uri {manifest_uri}: the models were evaluated on {evaluated_on}, not on benchmark "
            f"version {manifest.get('version')} ({manifest.get('file_uri')})"
        )
    version = int(manifest["version"])
    previous = int(champion_measured_on) if str(champion_measured_on).strip().isdigit() else None
    decision["benchmark"] = {
        "version": version,
        "sha256": manifest["sha256"],
        "items": manifest["items"],
        "meaning_groups": manifest.get("meaning_groups"),
        "uri": manifest_uri,
        "file_uri": manifest["file_uri"],
    }
    reevaluated = previous != version
    decision["champion_reevaluated"] = {
        "reevaluated": reevaluated,
        "registry_metrics_measured_on": previous,
        "on_version": version,
        "note": (
            f"champion re-evaluated on benchmark v{version} (its registry metrics were measured on "
            + (f"v{previous})" if previous is not None else "no recorded benchmark version)")
            if reevaluated
            else f"champion's registry metrics were measured on the same benchmark v{version}"
        ),
    }
    return decision


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        parsed = [parse_guard(g) for g in args.guard]
        rule = DecisionRule(
            primary_metric=args.primary_metric,
            margin=args.margin,
            confidence=args.confidence,
            test=args.test,
            guards={name: float(tol) for name, tol, counted in parsed if not counted},
            guard_items={name: int(tol) for name, tol, counted in parsed if counted},
            min_items=args.min_items,
            min_groups=args.min_groups,
            max_mde=args.max_mde,
            max_champion_request_failures=args.max_champion_request_failures,
            resamples=args.bootstrap_resamples,
            seed=args.seed,
            require_ci_above_margin=args.require_ci_above_margin,
        ).validated()
        champion = load_results(args.champion_results)
        challenger = load_results(args.challenger_results)
        decision = build_decision(champion, challenger, rule)
        if args.benchmark_uri:
            benchmark_record(decision, args.benchmark_uri, args.champion_benchmark_version)
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
