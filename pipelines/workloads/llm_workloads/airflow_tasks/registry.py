"""Airflow-side callables of the model registry (`llm_workloads.registry`).

- `read_champion` (first task of a retrain) returns the champion to evaluate against and the registry
  generation it was read at; a `champion_adapter` param overrides the adapter, never the generation.
- `record_champion` (promotion, and the initial deployment) appends the new champion with its lineage (base
  model, dataset, training settings from the adapter manifest) and its metrics (from the evaluation summary),
  written create-only at the generation after the one read: a run whose champion changed meanwhile fails here,
  before it touches the service.

Nothing here imports Airflow; XCom gets small dicts without credentials.
"""

from __future__ import annotations

from typing import Any

from llm_workloads import registry, storage


def read_champion(registry_uri: str, override: str = "") -> dict[str, Any]:
    current = registry.champion(registry_uri)
    if current is None and not override:
        raise registry.RegistryError(
            f"{registry_uri}: no champion recorded yet: run llm_finetune_deploy first (it records the first "
            "one) or give the champion_adapter param"
        )
    generation = current["generation"] if current else 0
    return {
        "adapter": override or current["adapter"],  # type: ignore[index]
        "generation": generation,
        "overridden": bool(override),
    }


def _metrics(evaluation_summary_uri: str) -> dict[str, Any]:
    summary = storage.read_json(evaluation_summary_uri)
    results = storage.read_json(storage.join(summary["results_uri"], "results.json"))
    metrics = results.get("metrics") if isinstance(results, dict) else None
    if not isinstance(metrics, dict):
        raise registry.RegistryError(f"{summary['results_uri']}/results.json: no metrics")
    return {
        k: v for k, v in sorted(metrics.items()) if isinstance(v, int | float) and not isinstance(v, bool)
    }


def _benchmark(manifest_uri: str) -> dict[str, Any]:
    manifest = storage.read_json(manifest_uri)
    if not isinstance(manifest, dict) or manifest.get("kind") != "benchmark":
        raise registry.RegistryError(f"{manifest_uri}: not a benchmark manifest")
    return {"version": manifest["version"], "sha256": manifest["sha256"], "uri": manifest_uri}


def record_champion(
    registry_uri: str,
    kind: str,
    adapter: str,
    manifest_uri: str,
    evaluation_uri: str,
    run_id: str,
    dag_id: str,
    expected_generation: int | None = None,
    decision_uri: str | None = None,
    benchmark_uri: str = "",
    champion_evaluation_uri: str = "",
) -> dict[str, Any]:
    """Append `adapter` as the champion; `expected_generation` None means "whatever is current" (deploys).

    `benchmark_uri`: the manifest of the frozen benchmark version the metrics were measured on (recorded, so a
    later retrain knows whether the champion's metrics are on its yardstick); `champion_evaluation_uri`: the
    previous champion's evaluation on that version (a promotion records both models' metrics).
    """
    manifest = storage.read_json(manifest_uri)
    if manifest.get("adapter_name") != adapter:
        raise registry.RegistryError(
            f"{manifest_uri}: manifest is for adapter {manifest.get('adapter_name')!r}, not {adapter!r}"
        )
    decision: dict[str, Any] = {}
    if decision_uri:
        document = storage.read_json(decision_uri)
        decision = {"decision": document.get("decision"), "reason": document.get("reason")}
        if decision["decision"] != "promote":
            raise registry.RegistryError(
                f"{decision_uri}: decision is {decision['decision']!r}, not 'promote'"
            )
    if expected_generation is None:
        current = registry.champion(registry_uri)
        expected_generation = current["generation"] if current else 0
    arguments = manifest.get("arguments") or {}
    entry = {
        "kind": kind,
        "adapter": adapter,
        "adapter_uri": manifest.get("adapter_uri"),
        "base_model": manifest.get("base_model"),
        "base_model_revision": manifest.get("base_model_revision"),
        "dataset": {
            "train_uri": arguments.get("train_uri"),
            "valid_uri": arguments.get("valid_uri"),
            "data_hash": (manifest.get("data") or {}).get("data_hash"),
        },
        "training": {k: v for k, v in sorted(arguments.items()) if not k.endswith("_uri")},
        "manifest_uri": manifest_uri,
        "metrics": _metrics(evaluation_uri),
        "evaluation_uri": evaluation_uri,
        **({"benchmark": _benchmark(benchmark_uri)} if benchmark_uri else {}),
        **(
            {"previous_champion_metrics": _metrics(champion_evaluation_uri)}
            if champion_evaluation_uri
            else {}
        ),
        **({"decision": decision["decision"], "reason": decision["reason"]} if decision else {}),
        "run_id": run_id,
        "dag_id": dag_id,
    }
    written = registry.append(registry_uri, int(expected_generation), entry)
    return {"generation": written["generation"], "adapter": adapter}
