r"""Scoring model answers against reference meaning representations.

Definitions (every rate is a fraction in [0, 1]; n = number of test items, ALWAYS including items
whose request failed or whose answer does not parse: those count as wrong, never as absent):

* order_insensitive_match: the answer parses and equals the reference as a representation — same act,
  same set of slot names, and for every slot the same SET of values. Slot order and the order of
  values in a list-valued slot (`genres[a, b]` vs `genres[b, a]`) do not matter; values are compared
  as written after trimming surrounding spaces (case-sensitive: `PC` != `pc`), because downstream
  consumers match values literally. This is the platform's primary metric. It was called
  `exact_match` before; that name stays accepted as an alias (`--primary-metric exact_match`, the
  `exact_match` key of aggregated metrics) for readers written before the rename, but it is NOT
  the published metric below.
* strict_exact_match: the answer text equals the reference text (surrounding whitespace aside), i.e.
  plain string equality of the whole representation: the metric of the Ray/Anyscale ViGGO example
  (`../shared/reference/finetune-anchors.md`), so our figures can be set beside published ones. A
  reordered but otherwise right answer counts as wrong here.
* act_accuracy: the parsed act equals the reference act.
* slot_name_set_accuracy: the parsed answer's set of slot names equals the reference's, over ALL n
  items (failed and unparseable answers count as wrong). The original demo reported a similarly
  named figure computed differently: over successful responses only, with slot names found by the
  regex `\w+\[` after stripping an `Output:` prefix; its numbers are not comparable with ours.
* slot_name_{precision,recall,f1}: micro-averaged over slot names, summing true/false positives and
  false negatives over all items. A failed or unparseable answer predicts nothing: all of its
  reference slots are false negatives.
* slot_value_{precision,recall,f1}: the same over (slot, value) pairs; a slot with an empty value
  list (`esrb[]`, VIGGO's request_attribute) is the single pair (slot, "").
* parse_failure_rate: answers received but not parseable, over n.
* request_failure_rate: requests that failed after all retries, over n.

Answers are parsed strictly with `llm_workloads.mr.parse_mr` (surrounding whitespace aside): text
around the representation, code fences or an "Output:" prefix make the answer unparseable, because
the consumers of the extracted data need exactly this format.

Micro P/R/F1 use F1 = 2TP / (2TP + FP + FN); any 0/0 is defined as 0.0, so no metric is ever NaN.
Every metric is computed from per-item counts, so the comparison can resample it (by meaning group).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from llm_workloads.mr import MeaningRepresentation, ParseError, parse_mr, render_mr

MetricKind = Literal["rate", "precision", "recall", "f1"]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: MetricKind
    column: str  # the per-item field ("rate") or count prefix ("name"/"value" for P/R/F1)
    higher_is_better: bool
    description: str

    @property
    def binary(self) -> bool:
        """Per-item 0/1 metric (mean of a boolean): McNemar's test applies."""
        return self.kind == "rate"


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            "order_insensitive_match",
            "rate",
            "order_insensitive_match",
            True,
            "representation equal; slot and list-value order ignored",
        ),
        MetricSpec(
            "strict_exact_match",
            "rate",
            "strict_exact_match",
            True,
            "answer text equals the reference text (the published metric)",
        ),
        MetricSpec("act_accuracy", "rate", "act_correct", True, "dialogue act equal"),
        MetricSpec(
            "slot_name_set_accuracy",
            "rate",
            "slot_names_match",
            True,
            "set of slot names equal, over all items (failures count as wrong)",
        ),
        MetricSpec("slot_name_precision", "precision", "name", True, "micro precision over slot names"),
        MetricSpec("slot_name_recall", "recall", "name", True, "micro recall over slot names"),
        MetricSpec("slot_name_f1", "f1", "name", True, "micro F1 over slot names"),
        MetricSpec("slot_value_precision", "precision", "value", True, "micro precision over (slot, value)"),
        MetricSpec("slot_value_recall", "recall", "value", True, "micro recall over (slot, value)"),
        MetricSpec("slot_value_f1", "f1", "value", True, "micro F1 over (slot, value) pairs"),
        MetricSpec("parse_failure_rate", "rate", "parse_failed", False, "answers that do not parse"),
        MetricSpec("request_failure_rate", "rate", "request_failed", False, "requests failed after retries"),
    )
}
# Old metric names still accepted where a metric is named (CLI, DecisionRule), mapped to the new name.
METRIC_ALIASES: dict[str, str] = {"exact_match": "order_insensitive_match"}
COUNT_COLUMNS = ("name_tp", "name_fp", "name_fn", "value_tp", "value_fp", "value_fn")
BOOL_COLUMNS = (
    "order_insensitive_match",
    "strict_exact_match",
    "act_correct",
    "slot_names_match",
    "parse_failed",
    "request_failed",
)


def resolve_metric(name: str) -> str:
    """The current name of a metric given by its current or its old name."""
    return METRIC_ALIASES.get(name, name)


@dataclass(frozen=True)
class ItemScore:
    request_failed: bool
    parse_failed: bool
    order_insensitive_match: bool
    strict_exact_match: bool
    act_correct: bool
    slot_names_match: bool
    name_tp: int
    name_fp: int
    name_fn: int
    value_tp: int
    value_fp: int
    value_fn: int
    predicted_act: str | None
    parse_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _value_pairs(mr: MeaningRepresentation) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for slot, values in mr.slots:
        if values:
            pairs.update((slot, value) for value in values)
        else:
            pairs.add((slot, ""))
    return pairs


def _slot_sets(mr: MeaningRepresentation) -> dict[str, frozenset[str]]:
    return {slot: frozenset(values) for slot, values in mr.slots}


def score_item(
    reference: MeaningRepresentation, output: str | None, reference_text: str | None = None
) -> ItemScore:
    """Score one answer. `output=None` means the request failed.

    `reference_text` is the reference as written in the test data (for strict_exact_match); without
    it the canonical rendering of `reference` stands in.
    """
    if reference_text is None:
        reference_text = render_mr(reference)
    ref_names = set(reference.slot_names())
    ref_pairs = _value_pairs(reference)
    predicted: MeaningRepresentation | None = None
    parse_error: str | None = None
    if output is not None:
        parsed = parse_mr(output)
        if isinstance(parsed, ParseError):
            parse_error = parsed.reason
        else:
            predicted = parsed.value
    if predicted is None:
        return ItemScore(
            request_failed=output is None,
            parse_failed=output is not None,
            order_insensitive_match=False,
            strict_exact_match=False,
            act_correct=False,
            slot_names_match=False,
            name_tp=0,
            name_fp=0,
            name_fn=len(ref_names),
            value_tp=0,
            value_fp=0,
            value_fn=len(ref_pairs),
            predicted_act=None,
            parse_error=parse_error,
        )
    pred_names = set(predicted.slot_names())
    pred_pairs = _value_pairs(predicted)
    act_correct = predicted.act == reference.act
    return ItemScore(
        request_failed=False,
        parse_failed=False,
        order_insensitive_match=act_correct and _slot_sets(predicted) == _slot_sets(reference),
        strict_exact_match=strict_match(output, reference_text),
        act_correct=act_correct,
        slot_names_match=pred_names == ref_names,
        name_tp=len(pred_names & ref_names),
        name_fp=len(pred_names - ref_names),
        name_fn=len(ref_names - pred_names),
        value_tp=len(pred_pairs & ref_pairs),
        value_fp=len(pred_pairs - ref_pairs),
        value_fn=len(ref_pairs - pred_pairs),
        predicted_act=predicted.act,
        parse_error=None,
    )


def strict_match(output: str | None, reference_text: str) -> bool:
    """Plain string equality of answer and reference, surrounding whitespace aside (a served model's
    answer often ends with a newline; nothing inside the representation is normalised)."""
    return output is not None and output.strip() == reference_text.strip()


def _div(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


def metric_from_sums(spec: MetricSpec, sums: Mapping[str, float], n: int) -> float:
    """A metric's value from column sums over n items (the same formula the bootstrap vectorises)."""
    if spec.kind == "rate":
        return _div(sums[spec.column], n)
    tp, fp, fn = (sums[f"{spec.column}_{suffix}"] for suffix in ("tp", "fp", "fn"))
    if spec.kind == "precision":
        return _div(tp, tp + fp)
    if spec.kind == "recall":
        return _div(tp, tp + fn)
    return _div(2 * tp, 2 * tp + fp + fn)


def column_sums(scores: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Sum of every bool/count column over per-item score dicts."""
    sums: dict[str, float] = {column: 0.0 for column in (*BOOL_COLUMNS, *COUNT_COLUMNS)}
    for score in scores:
        for column in sums:
            sums[column] += float(score[column])
    return sums


def aggregate(scores: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Every metric in METRICS over the given per-item scores (dicts as written to items.jsonl).

    The old names in METRIC_ALIASES are added as keys with the same values, so readers of
    `metrics["exact_match"]` written before the rename keep working.
    """
    sums = column_sums(scores)
    values = {name: metric_from_sums(spec, sums, len(scores)) for name, spec in METRICS.items()}
    return {**values, **{old: values[new] for old, new in METRIC_ALIASES.items()}}


def per_act(items: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per reference act: item count, act accuracy, order-insensitive and strict match (items need
    'reference_act'; items written before the rename carry `exact_match` instead)."""
    counts: Counter[str] = Counter()
    act_ok: Counter[str] = Counter()
    loose: Counter[str] = Counter()
    strict: Counter[str] = Counter()
    for item in items:
        act = str(item["reference_act"])
        counts[act] += 1
        act_ok[act] += int(bool(item["act_correct"]))
        loose[act] += int(bool(item.get("order_insensitive_match", item.get("exact_match"))))
        strict[act] += int(bool(item.get("strict_exact_match", False)))
    return {
        act: {
            "n": counts[act],
            "act_accuracy": act_ok[act] / counts[act],
            "order_insensitive_match": loose[act] / counts[act],
            "strict_exact_match": strict[act] / counts[act],
        }
        for act in sorted(counts)
    }
