"""Airflow-side callable of the frozen benchmark (`llm_workloads.benchmark`).

`pin_benchmark` (first task of a run that evaluates) reads the line's current benchmark version once and
returns it for XCom; every later task of the run takes the version's manifest URI from there, so a version
frozen while the run is going does not change this run's yardstick. With `bootstrap_test_uri` (the first
deployment) an empty benchmark store is seeded with version 1 from that test split.
With `registry_uri` it also says whether the champion's registry metrics were measured on another version
(the run re-evaluates it on the pinned one).

Nothing here imports Airflow; XCom gets a small dict without credentials.
"""

from __future__ import annotations

from typing import Any

from llm_workloads import benchmark, registry, storage


def pin_benchmark(
    benchmarks_uri: str, registry_uri: str = "", bootstrap_test_uri: str = ""
) -> dict[str, Any]:
    found = benchmark.versions(benchmarks_uri)
    if found:
        manifest = benchmark.read_version(benchmarks_uri, found[-1])
    elif bootstrap_test_uri:
        text = storage.read_text(bootstrap_test_uri)
        try:
            manifest = benchmark.freeze(
                benchmarks_uri,
                [(bootstrap_test_uri, text)],
                "first deployment: the test split of the first dataset",
                expected=0,
            )
        except benchmark.BenchmarkConflict:  # a concurrent first run froze it: use theirs
            manifest = benchmark.read_version(benchmarks_uri, 1)
    else:
        raise benchmark.BenchmarkError(
            f"{benchmarks_uri}: no benchmark frozen yet: run llm_finetune_deploy first (it freezes "
            "version 1) or `python -m llm_workloads.benchmark freeze`"
        )
    pinned = {
        **benchmark.summary(manifest),
        "uri": benchmark.version_uri(benchmarks_uri, int(manifest["version"])),
    }
    if registry_uri:
        champion = registry.champion(registry_uri) or {}
        measured = (champion.get("benchmark") or {}).get("version")
        pinned["champion_measured_on"] = measured
        pinned["champion_reevaluated"] = measured != pinned["version"]
    return pinned
