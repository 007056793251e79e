"""Dataset build at support-desk scale: wall time and peak RSS of one streamed build at 10^3 .. 10^6 rows.

Usage: python test/bench/dataset_build.py [N ...]   (default 1000 10000 100000 1000000)

Each size runs in a fresh process (`--one N DIR`) so its peak RSS (VmHWM) is its own. The input is synthetic
source rows, as the fetch tasks write them: unique sentences with VIGGO-style labels, plus 2 % unlabelled
rows, 1 % rows whose label does not parse and 1 % older copies of a record (a relabel seen twice). The build
is the DAG's own code path (`dataset.build_from_plan`, local engine) on local files, and the second half of
the rows
is built on top of the first half's version (an accumulating build with a parent).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = [1000, 10_000, 100_000, 1_000_000]
ACTS = ("request", "give_opinion", "verify_attribute", "inform", "suggest")
RATINGS = ("poor", "average", "good", "excellent")


def write_rows(path: Path, start: int, stop: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(start, stop):
            name = f"Game {i}"
            rating = RATINGS[i % 4]
            act = ACTS[i % len(ACTS)]
            label: str | None = f"{act}(name[{name}], rating[{rating}])"
            if i % 50 == 7:
                label = None
            elif i % 100 == 13:
                label = f"{act}(name[{name}], rating[{rating}]"
            row = {
                "source": "s3",
                "source_id": f"bench-{i:08d}",
                "updated_at": "2026-11-01T00:00:00.000000Z",
                "text": f"What do you think of {name}? I would call it {rating}.",
                "label": label,
                "origin": "bench",
                "problem": None,
            }
            out.write(json.dumps(row) + "\n")
            if i % 100 == 29:  # an older copy of the same record
                out.write(json.dumps({**row, "updated_at": "2026-10-01T00:00:00.000000Z"}) + "\n")


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(n: int, work: Path) -> dict[str, object]:
    from llm_workloads import storage
    from llm_workloads.dataset import SplitPolicy, build_from_plan

    half = n // 2
    first, second = work / "first.jsonl", work / "second.jsonl"
    write_rows(first, 0, half)
    write_rows(second, half, n)
    root = str(work / "datasets")
    timings = []
    parent = None
    for index, (source, version) in enumerate(((first, "v1"), (second, "v2"))):
        plan_uri = str(work / f"plan-{version}.json")
        storage.write_json(
            plan_uri,
            {
                "inputs": [str(source)],
                "dataset_root_uri": root,
                "version": version,
                "parent": parent,
                "champion_dataset_uris": [f"{root}/v1/{s}.jsonl" for s in ("train", "valid", "test")]
                if index
                else [],
                "split_policy": SplitPolicy().to_json(),
                "result_uri": str(work / f"result-{version}.json"),
            },
        )
        t = time.perf_counter()
        result = build_from_plan(plan_uri, engine="local")
        timings.append(time.perf_counter() - t)
        manifest = storage.read_json(f"{root}/{version}/manifest.json")
        parent = {
            "version": version,
            "dataset_uri": f"{root}/{version}",
            "data_hash": manifest["data_hash"],
            "split_policy": manifest["split_policy"],
        }
    counts = result["counts"]
    size = sum(p.stat().st_size for p in (work / "datasets" / "v2").iterdir())
    return {
        "rows": n,
        "first_s": round(timings[0], 2),
        "accumulate_s": round(timings[1], 2),
        "records": counts["train"] + counts["valid"] + counts["test"],
        "rejected": counts["rejected"],
        "new_since_first": result["new_since_champion"],
        "version_mib": round(size / 2**20, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]), Path(sys.argv[3]))))
        return 0
    sizes = [int(a) for a in sys.argv[1:]] or SIZES
    print("Dataset build (streamed, local engine): N source rows, half built first, half on top of it")
    print(
        "  rows      | 1st half s | 2nd half on parent s | records   | rejected | version MiB | peak RSS MiB"
    )
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix="bench-dataset-"))
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), str(work)],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "TMPDIR": str(work)},
            ).stdout
        finally:
            shutil.rmtree(work, ignore_errors=True)
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"  {r['rows']:>9,} | {r['first_s']:>10} | {r['accumulate_s']:>20} | {r['records']:>9,} | "
            f"{r['rejected']:>8,} | {r['version_mib']:>11} | {r['peak_rss_mib']:>12}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
