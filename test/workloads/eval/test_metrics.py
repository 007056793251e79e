"""Per-item scoring and aggregation, checked against hand-computed values."""

from __future__ import annotations

import pytest
from llm_workloads.metrics import METRICS, aggregate, per_act, score_item
from llm_workloads.mr import ParseOk, parse_mr


def mr(text: str):
    parsed = parse_mr(text)
    assert isinstance(parsed, ParseOk), text
    return parsed.value


REF = mr("inform(name[Dirt: Showdown], genres[driving/racing, sport], platforms[PC], rating[good])")


def test_order_insensitive_match_ignores_slot_and_value_order_strict_does_not() -> None:
    s = score_item(
        REF, "inform(rating[good], platforms[PC], genres[sport, driving/racing], name[Dirt: Showdown])"
    )
    assert (s.order_insensitive_match, s.act_correct, s.slot_names_match) == (True, True, True)
    assert (s.value_tp, s.value_fp, s.value_fn) == (5, 0, 0)
    # The published metric is string equality: the reordered answer is wrong there.
    assert s.strict_exact_match is False


def test_strict_exact_match_is_string_equality_with_the_reference_as_written() -> None:
    text = "inform(name[Dirt: Showdown], genres[driving/racing, sport], platforms[PC], rating[good])"
    assert score_item(REF, text + "\n", text).strict_exact_match  # surrounding whitespace aside
    assert not score_item(REF, text.replace(", ", ",", 1), text).strict_exact_match
    assert score_item(REF, text.replace(", ", ",", 1), text).order_insensitive_match
    assert not score_item(REF, None, text).strict_exact_match
    # Without the reference text, the canonical rendering stands in (the same text here).
    assert score_item(REF, text).strict_exact_match


def test_wrong_slot_value_is_not_a_match_unlike_the_demo_metric() -> None:
    # The original demo compared only act and slot names: this answer would have scored 100%.
    s = score_item(
        REF, "inform(name[Dirt: Showdown], genres[driving/racing, sport], platforms[PC], rating[poor])"
    )
    assert s.order_insensitive_match is False and s.act_correct and s.slot_names_match
    assert (s.value_tp, s.value_fp, s.value_fn) == (4, 1, 1)


def test_values_are_case_sensitive_and_sets() -> None:
    s = score_item(REF, "inform(name[Dirt: Showdown], genres[sport], platforms[pc], rating[good])")
    # pairs: ref {name, genres:driving/racing, genres:sport, platforms:PC, rating} ; pred {name, genres:sport,
    # platforms:pc, rating} -> tp 3 (name, sport, rating), fp 1 (pc), fn 2 (driving/racing, PC)
    assert (s.value_tp, s.value_fp, s.value_fn) == (3, 1, 2)
    assert (s.name_tp, s.name_fp, s.name_fn) == (4, 0, 0)


def test_empty_value_slot_is_one_pair() -> None:
    ref = mr("request_attribute(esrb[])")
    assert score_item(ref, "request_attribute(esrb[])").order_insensitive_match
    s = score_item(ref, "request_attribute(esrb[M (for Mature)])")
    assert (s.value_tp, s.value_fp, s.value_fn) == (0, 1, 1)


def test_failures_count_as_wrong_with_all_reference_slots_missed() -> None:
    failed = score_item(REF, None)
    assert failed.request_failed and not failed.parse_failed and not failed.order_insensitive_match
    assert (failed.name_fn, failed.value_fn, failed.name_fp) == (4, 5, 0)
    garbage = score_item(REF, "The sentence is about a racing game.")
    assert garbage.parse_failed and not garbage.request_failed and garbage.parse_error


def test_aggregate_keeps_failures_in_every_denominator() -> None:
    items = [
        score_item(
            REF, "inform(name[Dirt: Showdown], genres[sport, driving/racing], platforms[PC], rating[good])"
        ),
        score_item(REF, None),
        score_item(REF, "garbage"),
        score_item(REF, "give_opinion(name[Dirt: Showdown], rating[good])"),
    ]
    rows = [{**s.to_dict(), "reference_act": "inform"} for s in items]
    m = aggregate(rows)
    # n = 4: exact 1/4, act 1/4 (the give_opinion answer has the wrong act), failures 1/4 each.
    assert m["order_insensitive_match"] == 0.25 and m["act_accuracy"] == 0.25
    # The reordered right answer is not a strict match; the old name is an alias of the new one.
    assert m["strict_exact_match"] == 0.0 and m["exact_match"] == m["order_insensitive_match"]
    assert m["request_failure_rate"] == 0.25 and m["parse_failure_rate"] == 0.25
    # slot names: tp 4+0+0+2 = 6, fp 0, fn 0+4+4+2 = 10 -> P 1, R 6/16, F1 = 2*6 / (2*6 + 0 + 10) = 12/22
    assert m["slot_name_precision"] == 1.0
    assert m["slot_name_recall"] == pytest.approx(6 / 16)
    assert m["slot_name_f1"] == pytest.approx(12 / 22)
    # values: tp 5+0+0+2 = 7, fp 0, fn 0+5+5+3 = 13 -> F1 = 2*7 / (2*7 + 0 + 13) = 14/27
    assert m["slot_value_f1"] == pytest.approx(14 / 27)
    assert set(m) == set(METRICS) | {"exact_match"}
    assert per_act(rows) == {
        "inform": {"n": 4, "act_accuracy": 0.25, "order_insensitive_match": 0.25, "strict_exact_match": 0.0}
    }


def test_all_failed_gives_zeros_not_nan() -> None:
    rows = [{**score_item(REF, None).to_dict(), "reference_act": "inform"}] * 3
    m = aggregate(rows)
    assert m["request_failure_rate"] == 1.0
    assert all(v == 0.0 for k, v in m.items() if k != "request_failure_rate")


def test_on_every_viggo_record_order_never_matters_and_one_changed_value_always_does(
    viggo_records: list[dict],
) -> None:
    from llm_workloads.mr import LIST_VALUED_SLOTS, MeaningRepresentation, render_mr

    for record in viggo_records:
        ref = mr(record["messages"][2]["content"])
        reordered = MeaningRepresentation(
            ref.act,
            tuple((s, tuple(reversed(v)) if s in LIST_VALUED_SLOTS else v) for s, v in reversed(ref.slots)),
        )
        assert score_item(ref, render_mr(reordered)).order_insensitive_match, record
        name, values = ref.slots[-1]
        changed = MeaningRepresentation(ref.act, (*ref.slots[:-1], (name, ("changed value",))))
        s = score_item(ref, render_mr(changed))
        assert not s.order_insensitive_match and s.act_correct and s.slot_names_match
        assert (s.value_fp, s.value_fn) == (1, max(len(values), 1))


def test_strict_parsing_of_wrapped_answers() -> None:
    assert score_item(REF, "```\n" + "inform(name[Dirt: Showdown])" + "\n```").parse_failed
    assert score_item(REF, "Output: inform(name[Dirt: Showdown])").parse_failed
