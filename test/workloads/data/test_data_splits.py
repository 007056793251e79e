"""Hash-based splits: stable under growth, whole MR groups in one split."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llm_workloads.dataset import build
from llm_workloads.mr import MeaningRepresentation as MR
from llm_workloads.sources import s3_jsonl_rows, source_row
from llm_workloads.splits import assign_split, check_fractions, group_key


def row(i: int, mr: str) -> dict[str, object]:
    return source_row("s3", f"id-{i:05d}", text=f"sentence number {i}", label=mr, origin="t")


def split_of(result_splits: dict[str, list[dict[str, object]]]) -> dict[str, str]:
    return {str(r["id"]): split for split, rows in result_splits.items() for r in rows}


def test_group_key_ignores_slot_and_list_order_only() -> None:
    a = MR("inform", (("name", ("X",)), ("genres", ("a", "b"))))
    b = MR("inform", (("genres", ("b", "a")), ("name", ("X",))))
    c = MR("confirm", (("genres", ("b", "a")), ("name", ("X",))))
    assert group_key(a) == group_key(b) != group_key(c)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=1, max_value=60),
    st.sampled_from(["mr_group", "record_id"]),
)
def test_adding_records_never_moves_existing_ones(n_old: int, n_new: int, key: str) -> None:
    labels = [f"inform(name[Game {i % 17}], rating[good])" for i in range(n_old + n_new)]
    old_rows = [row(i, labels[i]) for i in range(n_old)]
    new_rows = [row(i, labels[i]) for i in range(n_old, n_old + n_new)]
    before = split_of(build(old_rows, split_key=key).splits)  # type: ignore[arg-type]
    after = split_of(build(old_rows + new_rows, split_key=key).splits)  # type: ignore[arg-type]
    assert {rid: after[rid] for rid in before} == before


def test_viggo_groups_never_straddle_splits_and_fractions_are_sane(viggo_lines: list[str]) -> None:
    rows = s3_jsonl_rows("viggo", "\n".join(viggo_lines))
    result = build(rows)
    groups: dict[str, set[str]] = defaultdict(set)
    for split, records in result.splits.items():
        for record in records:
            groups[record["messages"][2]["content"]].add(split)
    assert all(len(s) == 1 for s in groups.values())
    sizes = Counter({split: len(records) for split, records in result.splits.items()})
    assert result.count == 198 and sizes["train"] > sizes["valid"] > 0 and sizes["test"] > 0


def test_record_id_split_is_reproducible_and_roughly_proportional() -> None:
    counts = Counter(assign_split(f"zendesk:{i}") for i in range(10_000))
    assert 7_700 < counts["train"] < 8_300 and 800 < counts["valid"] < 1_200 and 800 < counts["test"] < 1_200
    assert [assign_split(f"zendesk:{i}") for i in range(50)] == [
        assign_split(f"zendesk:{i}") for i in range(50)
    ]


@pytest.mark.parametrize(
    "fractions",
    [
        {"train": 0.5, "valid": 0.5},
        {"train": 0.9, "valid": 0.2, "test": -0.1},
        {"train": 0.5, "valid": 0.2, "test": 0.2},
    ],
)
def test_bad_fractions(fractions: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="fractions"):
        check_fractions(fractions)  # type: ignore[arg-type]


def test_split_output_is_json_serialisable_and_sorted() -> None:
    result = build(
        [row(i, "inform(name[A])") for i in (3, 1, 2)]
        + [source_row("s3", "z", text="other", label="confirm(name[B])")]
    )
    for records in result.splits.values():
        assert [r["id"] for r in records] == sorted(r["id"] for r in records)
        json.dumps(records)
