"""The promotion rule on constructed paired cases, with the figures behind each decision checked."""

from __future__ import annotations

from typing import Any

import pytest
from llm_workloads.compare import (
    CompareError,
    DecisionRule,
    decide,
    guard_tolerances,
    mcnemar_exact,
    minimum_detectable_effect,
    paired_bootstrap,
    parse_guard,
    wild_cluster_test,
)
from llm_workloads.metrics import score_item
from llm_workloads.mr import ParseOk, parse_mr

REF_TEXT = "inform(name[Portal 2], rating[excellent], genres[puzzle, shooter])"
_ref = parse_mr(REF_TEXT)
assert isinstance(_ref, ParseOk)
REF = _ref.value
OUTPUTS = {
    "right": REF_TEXT,
    "wrong_value": "inform(name[Portal 2], rating[good], genres[puzzle, shooter])",  # act still right
    "wrong_act": "give_opinion(name[Portal 2], rating[excellent], genres[puzzle, shooter])",
    "failed": None,  # request failed after retries
    "garbage": "The game is Portal 2.",  # received but not parseable
}


def rows(kinds: list[str], group_size: int = 1) -> list[dict[str, Any]]:
    """Scored items; consecutive runs of `group_size` items share a meaning group."""
    return [
        {
            **score_item(REF, OUTPUTS[k]).to_dict(),
            "id": f"i{n}",
            "reference_act": "inform",
            "group": f"g{n // group_size}",
        }
        for n, k in enumerate(kinds)
    ]


def paired(
    *blocks: tuple[int, str, str], group_size: int = 1
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Blocks of (count, champion outcome, challenger outcome) -> paired item lists."""
    champion: list[str] = []
    challenger: list[str] = []
    for count, a, b in blocks:
        champion += [a] * count
        challenger += [b] * count
    return rows(champion, group_size), rows(challenger, group_size)


# The checks other than power, on items that are their own groups (power has tests of its own).
RULE = DecisionRule(
    primary_metric="order_insensitive_match",
    margin=0.05,
    confidence=0.95,
    min_items=50,
    resamples=2000,
    seed=7,
    require_power=False,
)


def failed_checks(decision: dict[str, Any]) -> list[str]:
    return [c["name"] for c in decision["checks"] if not c["passed"]]


def test_clear_win_is_promoted_with_both_tests() -> None:
    # 200 items: both right on 120, only the challenger right on 40, both wrong on 40.
    champion, challenger = paired(
        (120, "right", "right"), (40, "wrong_value", "right"), (40, "wrong_value", "wrong_value")
    )
    for test in ("bootstrap", "mcnemar"):
        decision = decide(champion, challenger, DecisionRule(**{**RULE.__dict__, "test": test}))
        assert decision["decision"] == "promote", decision["reason"]
        assert decision["metrics"]["champion"]["order_insensitive_match"] == 0.6
        assert decision["metrics"]["challenger"]["order_insensitive_match"] == 0.8
        assert decision["metrics"]["delta"]["order_insensitive_match"] == pytest.approx(0.2)
        assert decision["n_items"] == 200
    assert decision["mcnemar"] == {
        "champion_only": 0,
        "challenger_only": 40,
        "p_value": pytest.approx(2 * 0.5**40),
    }
    ci = decision["ci"]["order_insensitive_match"]
    assert 0 < ci["low"] < 0.2 < ci["high"]


def test_significant_win_below_the_margin_keeps_the_champion() -> None:
    # delta = 10/200 = 0.05, all 10 discordant items favour the challenger (McNemar p = 2/2^10), margin 0.10.
    champion, challenger = paired(
        (120, "right", "right"), (10, "wrong_value", "right"), (70, "wrong_value", "wrong_value")
    )
    rule = DecisionRule(**{**RULE.__dict__, "margin": 0.10, "test": "mcnemar"})
    decision = decide(champion, challenger, rule)
    assert decision["decision"] == "keep_champion"
    assert failed_checks(decision) == ["margin"]
    assert decision["mcnemar"]["p_value"] == pytest.approx(2 / 1024)


def test_tie_keeps_the_champion_even_with_zero_margin() -> None:
    champion, challenger = paired((100, "right", "right"), (100, "wrong_value", "wrong_value"))
    decision = decide(champion, challenger, DecisionRule(**{**RULE.__dict__, "margin": 0.0}))
    assert decision["decision"] == "keep_champion"
    assert failed_checks(decision) == ["significance", "mcnemar"]
    ci = decision["ci"]["order_insensitive_match"]
    assert ci["low"] == ci["high"] == 0.0
    assert decision["significance"]["p_value"] == 1.0


def test_guard_regression_blocks_a_clear_win() -> None:
    # Exact match 0.5 -> 0.7, but the challenger's wrong answers have the wrong act: act accuracy 1.0 -> 0.7.
    champion, challenger = paired(
        (100, "right", "right"), (40, "wrong_value", "right"), (60, "wrong_value", "wrong_act")
    )
    rule = DecisionRule(**{**RULE.__dict__, "guards": {"act_accuracy": 0.05}})
    decision = decide(champion, challenger, rule)
    assert decision["decision"] == "keep_champion"
    assert failed_checks(decision) == ["guard:act_accuracy"]
    assert decision["guards"]["act_accuracy"]["delta"] == pytest.approx(-0.3)
    # Within a wide enough tolerance the same case is promoted.
    assert (
        decide(champion, challenger, DecisionRule(**{**RULE.__dict__, "guards": {"act_accuracy": 0.5}}))[
            "decision"
        ]
        == "promote"
    )


def test_more_request_failures_than_the_champion_blocks_promotion() -> None:
    # Exact match 0.5 -> 0.8, but 10 challenger requests failed where the champion answered.
    champion, challenger = paired(
        (100, "right", "right"),
        (60, "wrong_value", "right"),
        (10, "wrong_value", "failed"),
        (30, "wrong_value", "wrong_value"),
    )
    decision = decide(champion, challenger, RULE)
    assert decision["decision"] == "keep_champion"
    assert failed_checks(decision) == ["guard:request_failure_rate"]
    assert decision["metrics"]["challenger"]["request_failure_rate"] == 0.05
    # A tolerance of 5 points lets it through; the failed items still count as wrong in exact match.
    loose = decide(
        champion, challenger, DecisionRule(**{**RULE.__dict__, "guards": {"request_failure_rate": 0.05}})
    )
    assert loose["decision"] == "promote" and loose["metrics"]["challenger"]["order_insensitive_match"] == 0.8


def test_significance_not_reached_keeps_the_champion() -> None:
    # 60 items: challenger-only right 8, champion-only right 5 -> delta 3/60 = 0.05 >= margin 0.02,
    # but not significant.
    champion, challenger = paired(
        (25, "right", "right"),
        (8, "wrong_value", "right"),
        (5, "right", "wrong_value"),
        (22, "wrong_value", "wrong_value"),
    )
    for test, failing in (("bootstrap", ["significance", "mcnemar"]), ("mcnemar", ["significance"])):
        decision = decide(
            champion, challenger, DecisionRule(**{**RULE.__dict__, "margin": 0.02, "test": test})
        )
        assert decision["decision"] == "keep_champion"
        assert failed_checks(decision) == failing
    # Exact McNemar, 13 discordant, min(b, c) = 5: p = 2 * sum_{k<=5} C(13, k) / 2^13 = 2 * 2380 / 8192
    assert decision["mcnemar"]["p_value"] == pytest.approx(2 * 2380 / 8192)
    assert decision["ci"]["order_insensitive_match"]["low"] < 0


def test_too_few_items_keeps_the_champion_whatever_the_figures() -> None:
    champion, challenger = paired((20, "wrong_value", "right"))
    decision = decide(champion, challenger, RULE)
    assert decision["decision"] == "keep_champion"
    assert failed_checks(decision) == ["min_items"]
    assert "below the minimum of 50" in decision["reason"]


def test_ci_above_margin_variant_is_stricter() -> None:
    champion, challenger = paired(
        (120, "right", "right"), (16, "wrong_value", "right"), (64, "wrong_value", "wrong_value")
    )
    normal = decide(champion, challenger, RULE)  # delta 0.08, CI low > 0 but below 0.05
    strict = decide(champion, challenger, DecisionRule(**{**RULE.__dict__, "require_ci_above_margin": True}))
    assert normal["decision"] == "promote"
    assert strict["decision"] == "keep_champion" and failed_checks(strict) == ["significance"]


def test_bootstrap_is_paired_seeded_and_reproducible() -> None:
    champion, challenger = paired((30, "wrong_value", "right"), (30, "right", "right"))
    a = paired_bootstrap(champion, challenger, resamples=500, seed=3, confidence=0.9)
    b = paired_bootstrap(champion, challenger, resamples=500, seed=3, confidence=0.9)
    assert a == b
    # Every item changes by 0 or +1 only; the challenger is right everywhere, so its exact match is 1 in
    # every resample: the CI of the delta is that of (1 - champion share), inside [0, 1].
    assert 0 < a["order_insensitive_match"]["low"] <= 0.5 <= a["order_insensitive_match"]["high"] < 1
    assert a["request_failure_rate"] == {
        "low": 0.0,
        "high": 0.0,
        "level": 0.9,
        "p_not_better": 1.0,
        "se": 0.0,
    }


def test_mcnemar_exact_values() -> None:
    assert mcnemar_exact([True, False], [True, False])["p_value"] == 1.0
    assert mcnemar_exact([False] * 3, [True] * 3) == {
        "champion_only": 0,
        "challenger_only": 3,
        "p_value": 0.25,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"primary_metric": "request_failure_rate"}, "failure rate"),
        ({"primary_metric": "bleu"}, "unknown metric"),
        ({"test": "mcnemar", "primary_metric": "slot_value_f1"}, "not a per-item 0/1 metric"),
        ({"guards": {"nope": 0.1}}, "--guard"),
        ({"confidence": 1.0}, "--confidence"),
    ],
)
def test_invalid_rules_are_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(CompareError, match=message):
        DecisionRule(**{**RULE.__dict__, **change}).validated()


def test_few_discordant_items_are_not_significant_where_the_item_bootstrap_says_they_are() -> None:
    # 50 items, 7 only the challenger right, 1 only the champion: delta 0.12. Exact McNemar
    # p = 2 * (1 + 8) / 2^8 = 0.0703; the wild cluster test (8 informative groups, all 256 patterns)
    # P(sum of 8 random signs >= 6) = 9/256 = 0.0352 > 0.025. The item-level percentile interval
    # lies above 0, which is what the old rule promoted on.
    champion, challenger = paired(
        (30, "right", "right"), (7, "wrong_value", "right"), (1, "right", "wrong_value"),
        (12, "wrong_value", "wrong_value"),
    )  # fmt: skip
    decision = decide(champion, challenger, RULE)
    assert decision["decision"] == "keep_champion"
    assert failed_checks(decision) == ["significance", "mcnemar"]
    assert decision["mcnemar"]["p_value"] == pytest.approx(18 / 256)
    assert decision["significance"]["p_value"] == pytest.approx(9 / 256)
    assert decision["significance"]["exact"] and decision["significance"]["patterns"] == 256
    assert decision["ci"]["order_insensitive_match"]["low"] > 0


def test_a_flaky_champion_never_promotes_an_equal_challenger() -> None:
    # Identical answers, except 10 of 100 champion requests failed where the challenger answered.
    champion, challenger = paired(
        (50, "right", "right"), (10, "failed", "right"), (40, "wrong_value", "wrong_value")
    )
    decision = decide(champion, challenger, RULE)
    assert decision["decision"] == "keep_champion"
    assert failed_checks(decision) == ["champion_requests"]
    assert decision["reason"].startswith("champion requests failed: 10 of 100")
    # Everything else would promote: the check is what stops it.
    allowed = decide(
        champion, challenger, DecisionRule(**{**RULE.__dict__, "max_champion_request_failures": 10})
    )
    assert allowed["decision"] == "promote", allowed["reason"]


def test_guards_are_at_least_one_item() -> None:
    # 50 items, +12 points (30 -> 36 right); the challenger has 1 (then 2) malformed answers more.
    def case(malformed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return paired(
            (30, "right", "right"), (6, "wrong_value", "right"), (malformed, "wrong_value", "garbage"),
            (14 - malformed, "wrong_value", "wrong_value"),
        )  # fmt: skip

    guarded = DecisionRule(**{**RULE.__dict__, "guards": {"parse_failure_rate": 0.01}})
    one = decide(*case(1), guarded)
    assert one["decision"] == "promote", one["reason"]
    assert one["guards"]["parse_failure_rate"]["tolerance"] == pytest.approx(1 / 50)
    assert one["guards"]["parse_failure_rate"]["stated"] == "0.01, raised to one item (1/50)"
    two = decide(*case(2), guarded)
    assert failed_checks(two) == ["guard:parse_failure_rate"]
    in_items = DecisionRule(**{**RULE.__dict__, "guard_items": {"parse_failure_rate": 2}})
    assert decide(*case(2), in_items)["decision"] == "promote"
    # Request failures of the challenger keep a tolerance of 0 items: no floor.
    assert guard_tolerances(guarded, 50)["request_failure_rate"]["tolerance"] == 0.0


def test_parse_guard_takes_rates_and_item_counts() -> None:
    assert parse_guard("parse_failure_rate=0.01") == ("parse_failure_rate", 0.01, False)
    assert parse_guard("parse_failure_rate=2items") == ("parse_failure_rate", 2, True)
    assert parse_guard("act_accuracy=1 item") == ("act_accuracy", 1, True)
    with pytest.raises(CompareError, match="NAME=TOLERANCE"):
        parse_guard("act_accuracy")
    with pytest.raises(CompareError, match="only per-item rates"):
        DecisionRule(guard_items={"slot_value_f1": 1}).validated()


def test_minimum_detectable_effect_uses_t_quantiles_of_the_groups() -> None:
    # t(16; 0.975) = 2.1199, t(16; 0.80) = 0.8647 (Student's t table).
    assert minimum_detectable_effect(0.1, 17, 0.95) == pytest.approx((2.1199 + 0.8647) * 0.1, abs=1e-4)
    # Many groups: the normal quantiles 1.9600 + 0.8416.
    assert minimum_detectable_effect(0.1, 100_000, 0.95) == pytest.approx(0.28016, abs=1e-4)


def test_an_underpowered_comparison_keeps_the_champion_with_that_reason() -> None:
    # 60 items in 20 groups of 3 paraphrases, scored alike within a group: delta 0.35 (7 groups won,
    # none lost: p = 1/2^7), significant, but the MDE at 20 groups is far above a 5-point margin.
    champion, challenger = paired(
        (30, "right", "right"), (21, "wrong_value", "right"), (9, "wrong_value", "wrong_value"),
        group_size=3,
    )  # fmt: skip
    powered_rule = DecisionRule(**{**RULE.__dict__, "require_power": True})
    decision = decide(champion, challenger, powered_rule)
    assert decision["groups"]["n_groups"] == 20
    mde = decision["mde"]["value"]
    assert mde == pytest.approx(
        minimum_detectable_effect(decision["ci"]["order_insensitive_match"]["se"], 20, 0.95)
    )
    assert mde > 0.05
    assert failed_checks(decision) == ["power"]
    assert decision["reason"] == (
        f"underpowered: MDE {mde:.4f} at 95% with 80% power exceeds the limit 0.0500 (20 meaning groups)"
    )
    # Where the MDE is acceptable, the same comparison promotes.
    lenient = decide(champion, challenger, DecisionRule(**{**powered_rule.__dict__, "max_mde": 0.5}))
    assert lenient["decision"] == "promote", lenient["reason"]
    # Too few groups is underpowered whatever the MDE limit.
    few = paired((12, "wrong_value", "right"), (3, "right", "right"), group_size=3)
    small = decide(*few, DecisionRule(**{**powered_rule.__dict__, "max_mde": 1.0, "min_items": 1}))
    # (5 groups cannot be significant at all: the smallest p-value of 5 signs is 1/32 > 0.025.)
    assert failed_checks(small) == ["power", "significance"]
    assert "5 meaning groups, below the minimum of 10" in small["reason"]


def test_resampling_is_by_meaning_group() -> None:
    # Groups of 3 scored alike: the cluster interval is about sqrt(3) times the item-level one.
    champion, challenger = paired(
        (30, "right", "right"), (30, "wrong_value", "right"), (30, "wrong_value", "wrong_value"),
        group_size=3,
    )  # fmt: skip
    import numpy as np

    grouped = paired_bootstrap(champion, challenger, resamples=4000, seed=1, confidence=0.95)
    by_item = paired_bootstrap(
        champion, challenger, resamples=4000, seed=1, confidence=0.95, groups=np.arange(len(champion))
    )
    width = {k: v["order_insensitive_match"]["high"] - v["order_insensitive_match"]["low"]
             for k, v in (("grouped", grouped), ("item", by_item))}  # fmt: skip
    assert 1.5 < width["grouped"] / width["item"] < 2.0, width
    # The test counts groups, not items: 10 groups all won by the challenger -> p = 1/2^10.
    test = wild_cluster_test(champion, challenger, "order_insensitive_match", resamples=2000, seed=1)
    assert test["informative_groups"] == 10 and test["p_value"] == pytest.approx(1 / 1024)


def test_items_without_a_group_field_are_grouped_by_their_reference() -> None:
    champion, challenger = paired((6, "wrong_value", "right"))
    for item in champion + challenger:
        del item["group"]
        item["reference"] = REF_TEXT
    # Every item has the same reference: one meaning group, so no test can be significant.
    decision = decide(champion, challenger, DecisionRule(**{**RULE.__dict__, "min_items": 1}))
    assert decision["groups"]["n_groups"] == 1
    assert "significance" in failed_checks(decision)


def test_old_metric_name_is_an_alias() -> None:
    champion, challenger = paired(
        (120, "right", "right"), (40, "wrong_value", "right"), (40, "wrong_value", "wrong_value")
    )
    decision = decide(
        champion, challenger, DecisionRule(**{**RULE.__dict__, "primary_metric": "exact_match"})
    )
    assert decision["primary_metric"] == "order_insensitive_match"
    assert decision["primary_metric_requested"] == "exact_match"
    assert (
        decision["metrics"]["challenger"]["exact_match"]
        == decision["metrics"]["challenger"]["order_insensitive_match"]
    )
    assert decision["margin_meaning"]["kind"] == "observed"
