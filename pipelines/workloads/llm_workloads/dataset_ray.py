"""The dataset build on Ray Data: the same per-group functions as the local engine, byte-identical files.

Beyond `ray_min_rows` source rows the data update runs this as an Anyscale job
(`python -m llm_workloads.dataset_ray --plan-uri URI`) instead of on the Airflow worker. The grouping work
(newest row per record id, one example per sentence, split assignment) runs distributed; `resolve_record` and
`resolve_sentence` from `llm_workloads.dataset` decide every group, exactly as on the local path. Each output
stream is then sorted by the same key on Ray and streamed through the driver into the same writer
(`dataset.FileSink`), so both engines give the same bytes on the same input (tested on a local Ray).

Rows travel as JSON text in string columns: the source rows' fields are often null, and letting Arrow infer
a schema per block would make types depend on how the input happened to be split.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from llm_workloads.dataset import (
    DatasetError,
    Sink,
    SplitPolicy,
    Tally,
    _reason_class,
    record_id,
    rejected_sort_key,
    resolve_record,
    resolve_sentence,
    sentence_key,
)


def _key(parts: tuple[str, ...]) -> str:
    # "\x00" sorts before every other character, so joined keys sort like the tuples the local engine uses.
    return "\x00".join(parts)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _tag(batch: dict[str, Any], flag: int) -> dict[str, list[Any]]:
    ids: list[str] = []
    texts: list[str] = []
    for line in batch["text"]:
        if not str(line).strip():
            continue
        row = json.loads(line)
        for key in ("source", "source_id"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise DatasetError(f"a source row without '{key}': {str(line)[:200]}")
        ids.append(record_id(row))
        texts.append(_dumps(row))
    return {"i": ids, "n": [flag] * len(ids), "r": texts}


def _by_record(group: dict[str, Any]) -> dict[str, list[str]]:
    parent = None
    news = []
    for flag, text in zip(group["n"], group["r"], strict=True):
        row = json.loads(text)
        if int(flag) == 0:
            parent = row
        else:
            news.append(row)
    rid = str(group["i"][0])
    out: dict[str, list[str]] = {"kind": [], "key": [], "payload": []}
    for kind, payload in resolve_record(rid, parent, news):
        if kind == "rejected":
            key = _key(rejected_sort_key(payload))
        elif kind == "state":
            key = sentence_key(payload)
        else:
            key = rid
        out["kind"].append(kind)
        out["key"].append(key)
        out["payload"].append(_dumps(payload))
    if parent is not None and not news:
        out["kind"].append("carried")
        out["key"].append(rid)
        out["payload"].append("{}")
    return out


def _by_sentence(policy: Mapping[str, Any]) -> Any:
    split_policy = SplitPolicy(key=policy["key"], salt=policy["salt"], fractions=policy["fractions"])

    def run(group: dict[str, Any]) -> dict[str, list[str]]:
        items = [json.loads(text) for text in group["payload"]]
        out: dict[str, list[str]] = {"kind": [], "key": [], "payload": []}
        for kind, payload in resolve_sentence(items, split_policy):
            key = _key(rejected_sort_key(payload)) if kind == "rejected" else str(payload["record"]["id"])
            out["kind"].append(kind)
            out["key"].append(key)
            out["payload"].append(_dumps(payload))
        return out

    return run


def _sorted_payloads(ds: Any, kind: str) -> Iterator[dict[str, Any]]:
    part = ds.filter(lambda row: row["kind"] == kind)
    if part.count() == 0:
        return
    for row in part.sort("key").iter_rows():
        yield json.loads(row["payload"])


def run_ray(
    parent: Mapping[str, Any] | None,
    inputs: list[str],
    sink: Sink,
    policy: SplitPolicy,
    *,
    workdir: Path | None = None,
) -> Tally:
    """`dataset.run_local` on Ray Data (same outputs in the same order through `sink`)."""
    import ray

    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, log_to_driver=False)
    tally = Tally()
    new = ray.data.read_text(list(inputs)).map_batches(lambda b: _tag(b, 1), batch_format="numpy")
    tally.input_rows = new.count()
    tagged = new
    if parent:
        state_uri = str(parent["dataset_uri"]).rstrip("/") + "/state.jsonl"
        tagged = new.union(
            ray.data.read_text(state_uri).map_batches(lambda b: _tag(b, 0), batch_format="numpy")
        )
    pass1 = tagged.groupby("i").map_groups(_by_record, batch_format="numpy").materialize()
    tally.carried = pass1.filter(lambda row: row["kind"] == "carried").count()
    tally.seen_again = pass1.filter(lambda row: row["kind"] == "seen").count()
    states = pass1.filter(lambda row: row["kind"] == "state").materialize()
    # state rows in record-id order (the state file), then grouped by sentence for pass 2
    if states.count():
        for row in (
            states.map(lambda r: {"key": json.loads(r["payload"])["id"], "payload": r["payload"]})
            .sort("key")
            .iter_rows()
        ):
            tally.state_rows += 1
            sink.state(json.loads(row["payload"])["row"])
    for change in _sorted_payloads(pass1, "change"):
        tally.changes[change["change"]] += 1
        sink.change(change)
    pass2 = None
    if states.count():
        pass2 = (
            states.groupby("key")
            .map_groups(_by_sentence(policy.to_json()), batch_format="numpy")
            .materialize()
        )
        for item in _sorted_payloads(pass2, "kept"):
            tally.splits[item["split"]] += 1
            sink.record(item["split"], item["record"])
    rejected = pass1.filter(lambda row: row["kind"] == "rejected")
    if pass2 is not None:
        rejected = rejected.union(pass2.filter(lambda row: row["kind"] == "rejected"))
    for row in _sorted_payloads(rejected.map(lambda r: r), "rejected"):
        tally.rejected_by_reason[_reason_class(str(row["reason"]))] += 1
        sink.reject(row)
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm_workloads.dataset_ray")
    parser.add_argument(
        "--plan-uri", required=True, help="the build plan written by the DAG's build.plan task"
    )
    args = parser.parse_args(argv)
    from llm_workloads.dataset import build_from_plan

    result = build_from_plan(args.plan_uri, engine="ray")
    print(json.dumps({"changed": result["changed"], "counts": result["counts"]}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
