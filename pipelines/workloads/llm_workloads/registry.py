"""The model registry: per model line, the champion and its history, in the artifact store.

Layout (one folder per model line, e.g. `s3://llm-platform-artifacts/registry/viggo/`):

    entries/000001.json   generation 1 (kind "deployment": llm_finetune_deploy's adapter)
    entries/000002.json   generation 2 (kind "promotion" by llm_retrain_rollout, or "rollback"), ...

It is an append-only log. Every entry is written once, create-only (`storage.put_if_absent`: a conditional
`If-None-Match: *` put on S3), and the champion is the adapter of the newest entry. A writer names the
generation it read (`expected`): it writes `expected + 1`, so two runs that race for the same generation
cannot both win; the loser gets `RegistryConflict` naming the entry that won and fails clearly instead of
overwriting it. A rollback is a new entry that names an earlier champion again, so history is never rewritten.

Command line (the environment reaches S3 and, for `rollback --service`, Anyscale, as a job's does):

    python -m llm_workloads.registry list     --registry-uri URI
    python -m llm_workloads.registry show     --registry-uri URI [--generation N]
    python -m llm_workloads.registry rollback --registry-uri URI [--service NAME] [--reason TEXT]

`rollback` appends an entry that makes the previous champion the champion again and, with `--service`, deploys
that adapter on the service (the version that maps the stable model name to it gets 100 % of the traffic), so
the registry and what users get change together.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from llm_workloads import storage

ENTRY_RE = re.compile(r"/entries/(\d{6})\.json$")
KINDS = ("deployment", "promotion", "rollback")
REQUIRED = ("adapter", "base_model", "kind")


class RegistryError(ValueError):
    """A registry that cannot be read or an entry that cannot be written (the message names the URI)."""


class RegistryConflict(RegistryError):
    """Another writer already wrote the generation this one meant to write."""


def entry_uri(registry_uri: str, generation: int) -> str:
    return storage.join(registry_uri, "entries", f"{generation:06d}.json")


def generations(registry_uri: str) -> list[int]:
    """Every written generation, oldest first."""
    found = []
    for uri in storage.list_uris(storage.join(registry_uri, "entries") + "/"):
        m = ENTRY_RE.search(uri)
        if m:
            found.append(int(m.group(1)))
    return sorted(found)


def read_entry(registry_uri: str, generation: int) -> dict[str, Any]:
    uri = entry_uri(registry_uri, generation)
    try:
        entry = storage.read_json(uri)
    except Exception as error:
        raise RegistryError(f"{uri}: cannot be read: {error}") from error
    if not isinstance(entry, dict) or any(k not in entry for k in REQUIRED):
        raise RegistryError(f"{uri}: not a registry entry (needs {', '.join(REQUIRED)})")
    return entry


def history(registry_uri: str) -> list[dict[str, Any]]:
    return [read_entry(registry_uri, g) for g in generations(registry_uri)]


def champion(registry_uri: str) -> dict[str, Any] | None:
    """The newest entry (its adapter is the champion), or None for an empty registry."""
    gens = generations(registry_uri)
    return read_entry(registry_uri, gens[-1]) if gens else None


def append(registry_uri: str, expected: int, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Write generation `expected + 1` create-only; RegistryConflict when someone else wrote it first."""
    kind = entry.get("kind")
    if kind not in KINDS:
        raise RegistryError(f"{registry_uri}: entry kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for key in REQUIRED:
        if not entry.get(key):
            raise RegistryError(f"{registry_uri}: entry field {key} is required")
    if expected < 0:
        raise RegistryError(f"{registry_uri}: expected generation must be >= 0, got {expected}")
    generation = expected + 1
    written = {
        **dict(entry),
        "generation": generation,
        "previous_generation": expected or None,
        "recorded_at": entry.get("recorded_at") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    uri = entry_uri(registry_uri, generation)
    try:
        storage.put_if_absent(uri, storage.dumps_json(written).encode(), "application/json")
    except storage.AlreadyExistsError as error:
        winner = read_entry(registry_uri, generation)
        raise RegistryConflict(
            f"{uri}: generation {generation} was already written (adapter {winner.get('adapter')!r}, run "
            f"{winner.get('run_id')!r}); this writer read generation {expected}, so its decision is stale"
        ) from error
    # A writer that read a generation older than the newest one would have collided above; a gap means the
    # caller skipped generations, which would hide history.
    if expected and not storage.exists(entry_uri(registry_uri, expected)):
        raise RegistryError(f"{registry_uri}: generation {expected} is missing below {generation}")
    return written


def previous_champion(registry_uri: str) -> dict[str, Any]:
    """The champion before the current one (what a rollback returns to)."""
    entries = history(registry_uri)
    if not entries:
        raise RegistryError(f"{registry_uri}: empty registry, nothing to roll back")
    current = entries[-1]
    # A rollback entry restored an earlier generation: the champion before it is the one before that, so
    # repeated rollbacks walk further back instead of toggling between two adapters.
    anchor = current.get("restored_generation") if current["kind"] == "rollback" else current["generation"]
    earlier = [e for e in entries if e["generation"] < anchor and e["kind"] != "rollback"]
    if not earlier:
        raise RegistryError(f"{registry_uri}: generation {current['generation']} has no earlier champion")
    return earlier[-1]


def rollback_entry(registry_uri: str, reason: str) -> tuple[int, dict[str, Any]]:
    """(expected generation, entry) that makes the previous champion the champion again."""
    current = champion(registry_uri)
    if current is None:
        raise RegistryError(f"{registry_uri}: empty registry, nothing to roll back")
    target = previous_champion(registry_uri)
    keep = {k: v for k, v in target.items() if k not in ("generation", "previous_generation", "recorded_at")}
    return current["generation"], {
        **keep,
        "kind": "rollback",
        "decision": "rollback",
        "reason": reason,
        "rolled_back_from": {"generation": current["generation"], "adapter": current["adapter"]},
        "restored_generation": target["generation"],
        "run_id": None,
        "recorded_at": None,
    }


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _deploy_adapter(service: str, adapter: str) -> None:
    """Deploy the service's current config with the stable model name mapped to `adapter`, at 100 %."""
    from llm_workloads.serving import deploy_pinned

    deploy_pinned(service, adapter)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm_workloads.registry", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "show", "rollback"):
        p = sub.add_parser(name)
        p.add_argument(
            "--registry-uri", required=True, help="e.g. s3://llm-platform-artifacts/registry/viggo"
        )
        if name == "show":
            p.add_argument("--generation", type=int, help="default: the champion")
        if name == "rollback":
            p.add_argument("--service", help="Anyscale service whose stable model name follows the registry")
            p.add_argument("--reason", default="manual rollback", help="recorded in the entry")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for e in history(args.registry_uri):
                metrics = e.get("metrics") or {}
                shown = ", ".join(
                    f"{k}={v:.4f}" for k, v in sorted(metrics.items()) if isinstance(v, int | float)
                )
                when = e.get("recorded_at", "")
                print(f"{e['generation']:>4}  {e['kind']:<10}  {e['adapter']:<32}  {when}  {shown}")
        elif args.command == "show":
            entry = (
                read_entry(args.registry_uri, args.generation)
                if args.generation is not None
                else champion(args.registry_uri)
            )
            if entry is None:
                raise RegistryError(f"{args.registry_uri}: empty registry")
            _print(entry)
        else:
            expected, entry = rollback_entry(args.registry_uri, args.reason)
            # The service first: if the deploy fails, the registry still names what is serving.
            if args.service:
                _deploy_adapter(args.service, entry["adapter"])
            _print(append(args.registry_uri, expected, entry))
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
