"""The promotion rule on constructed paired cases, with the figures behind each decision checked."""

from __future__ import annotations

from typing import Any

import pytest
from llm_workloads.compare import CompareError, DecisionRule, decide, mcnemar_exact, paired_bootstrap
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
}


def rows(kinds: list[str]) -> list[dict[str, Any]]:
    return [
        {**score_item(REF, OUTPUTS[k]).to_dict(), "id": f"i{n}", "reference_act": "inform"}
        for n, k in enumerate(kinds)
    ]


def paired(*blocks: tuple[int, str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Blocks of (count, champion outcome, challenger outcome) -> paired item lists."""
    champion: list[str] = []
    challenger: list[str] = []
    for count, a, b in blocks:
        champion += [a] * count
        challenger += [b] * count
    return rows(champion), rows(challenger)


RULE = DecisionRule(
    primary_metric="exact_match", margin=0.05, confidence=0.95, min_items=50, resamples=2000, seed=7
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
        assert decision["metrics"]["champion"]["exact_match"] == 0.6
        assert decision["metrics"]["challenger"]["exact_match"] == 0.8
        assert decision["metrics"]["delta"]["exact_match"] == pytest.approx(0.2)
        assert decision["n_items"] == 200
    assert decision["mcnemar"] == {
        "champion_only": 0,
        "challenger_only": 40,
        "p_value": pytest.approx(2 * 0.5**40),
    }
    assert 0 < decision["ci"]["exact_match"]["low"] < 0.2 < decision["ci"]["exact_match"]["high"]


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
    assert failed_checks(decision) == ["significance"]
    assert decision["ci"]["exact_match"]["low"] == decision["ci"]["exact_match"]["high"] == 0.0


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
    assert loose["decision"] == "promote" and loose["metrics"]["challenger"]["exact_match"] == 0.8


def test_significance_not_reached_keeps_the_champion() -> None:
    # 60 items: challenger-only right 8, champion-only right 5 -> delta 3/60 = 0.05 >= margin 0.02,
    # but not significant.
    champion, challenger = paired(
        (25, "right", "right"),
        (8, "wrong_value", "right"),
        (5, "right", "wrong_value"),
        (22, "wrong_value", "wrong_value"),
    )
    for test in ("bootstrap", "mcnemar"):
        decision = decide(
            champion, challenger, DecisionRule(**{**RULE.__dict__, "margin": 0.02, "test": test})
        )
        assert decision["decision"] == "keep_champion"
        assert failed_checks(decision) == ["significance"]
    # Exact McNemar, 13 discordant, min(b, c) = 5: p = 2 * sum_{k<=5} C(13, k) / 2^13 = 2 * 2380 / 8192
    assert decision["mcnemar"]["p_value"] == pytest.approx(2 * 2380 / 8192)
    assert decision["ci"]["exact_match"]["low"] < 0


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
    assert 0 < a["exact_match"]["low"] <= 0.5 <= a["exact_match"]["high"] < 1
    assert a["request_failure_rate"] == {"low": 0.0, "high": 0.0, "level": 0.9, "p_not_better": 1.0}


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
