"""The frozen benchmark set of a model line: the yardstick every decision of the line is measured on.

Why: a retrain that compared champion and challenger on each new dataset version's test split would move the
yardstick every retrain, and a later version could train on items an earlier decision was judged on. The
benchmark is a fixed, versioned set of chat records (`llm_workloads.records`) that never enters training
(`llm_workloads.finetune --benchmark-uri` removes every record sharing a sentence or a meaning group with it).

Layout (one folder per model line, e.g. `s3://llm-platform-artifacts/benchmarks/viggo/`):

    files/<sha256>.jsonl     the benchmark records (content-addressed, written create-only)
    versions/000001.json     version 1's manifest: sha256, file_uri, items, meaning groups, created_at,
                             source, reason
    versions/000002.json     ...

A version exists once its manifest exists; the manifest is written create-only (`storage.put_if_absent`),
after the file it names, so a version is never half-written and two freezers racing for the same version
cannot both win (the loser gets `BenchmarkConflict`). Versions are never edited: changing the benchmark is
`freeze`, an explicit new version with a reason; the next retrain evaluates both champion and challenger on
it and its decision records that the champion was re-evaluated.

Command line (the environment reaches S3, as a job's does):

    python -m llm_workloads.benchmark freeze --benchmarks-uri URI --from FILE [FILE...] --reason TEXT
    python -m llm_workloads.benchmark list   --benchmarks-uri URI
    python -m llm_workloads.benchmark show   --benchmarks-uri URI [--version N]
    python -m llm_workloads.benchmark overlap --benchmarks-uri URI [--version N] --data FILE [FILE...]

`overlap` prints, per file, how many of its records share a sentence or a meaning group with the version
(what `llm_workloads.finetune --benchmark-uri` removes from training).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llm_workloads import storage

VERSION_RE = re.compile(r"/versions/(\d{6})\.json$")
MANIFEST_KIND = "benchmark"
SCHEMA_VERSION = 1


class BenchmarkError(ValueError):
    """A benchmark that cannot be read, or a version that cannot be frozen (names the file and field)."""


class BenchmarkConflict(BenchmarkError):
    """Another writer froze the version this one meant to write."""


def version_uri(benchmarks_uri: str, version: int) -> str:
    return storage.join(benchmarks_uri, "versions", f"{version:06d}.json")


def versions(benchmarks_uri: str) -> list[int]:
    """Every frozen version, oldest first."""
    found = []
    for uri in storage.list_uris(storage.join(benchmarks_uri, "versions") + "/"):
        m = VERSION_RE.search(uri)
        if m:
            found.append(int(m.group(1)))
    return sorted(found)


def read_version(benchmarks_uri: str, version: int) -> dict[str, Any]:
    uri = version_uri(benchmarks_uri, version)
    try:
        manifest = storage.read_json(uri)
    except Exception as error:
        raise BenchmarkError(f"{uri}: cannot be read: {error}") from error
    needed = ("version", "sha256", "file_uri", "items")
    if not isinstance(manifest, dict) or any(k not in manifest for k in needed):
        raise BenchmarkError(f"{uri}: not a benchmark manifest (needs {', '.join(needed)})")
    return manifest


def current(benchmarks_uri: str) -> dict[str, Any] | None:
    """The newest version's manifest, or None when nothing was frozen yet."""
    found = versions(benchmarks_uri)
    return read_version(benchmarks_uri, found[-1]) if found else None


# --- the records and their exclusion keys ---------------------------------------------------------


def sentence_key(record: Mapping[str, Any]) -> str:
    """The user sentence, whitespace collapsed and case folded (how a copy of a benchmark item is found)."""
    from llm_workloads.records import utterance_of
    from llm_workloads.sources import normalise_text

    return normalise_text(utterance_of(dict(record))).casefold()


def meaning_key(record: Mapping[str, Any]) -> str | None:
    """`splits.group_key` of the record's parsed representation (None when it does not parse)."""
    from llm_workloads.mr import ParseOk, parse_mr
    from llm_workloads.records import target_of
    from llm_workloads.splits import group_key

    parsed = parse_mr(target_of(dict(record)))
    return group_key(parsed.value) if isinstance(parsed, ParseOk) else None


@dataclass(frozen=True)
class Exclusion:
    """What training must not see: the benchmark's sentences and meaning groups."""

    sentences: frozenset[str]
    groups: frozenset[str]

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> Exclusion:
        rows = list(records)
        groups = {meaning_key(r) for r in rows}
        return cls(frozenset(sentence_key(r) for r in rows), frozenset(g for g in groups if g))

    def hits(self, record: Mapping[str, Any]) -> bool:
        return sentence_key(record) in self.sentences or meaning_key(record) in self.groups

    def split(self, records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """(records kept, how many were removed)."""
        kept = []
        removed = 0
        for record in records:
            if self.hits(record):
                removed += 1
            else:
                kept.append(record)
        return kept, removed


def parse_records(name: str, text: str) -> list[dict[str, Any]]:
    """Validated chat records of one file; BenchmarkError naming `FILE:LINE: field: reason` otherwise."""
    from llm_workloads.records import validate_text

    count, problems = validate_text(text)
    if problems:
        shown = "; ".join(p.format(name) for p in problems[:5])
        raise BenchmarkError(f"{len({p.line for p in problems})} bad records: {shown}")
    if count == 0:
        raise BenchmarkError(f"{name}: no records")
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    for line, record in enumerate(records, start=1):
        if meaning_key(record) is None:
            raise BenchmarkError(
                f"{name}:{line}: messages[2].content: not a parseable meaning representation"
            )
    return records


def load_version(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The records of a version, checked against the manifest's sha256 and item count."""
    uri = str(manifest["file_uri"])
    data = storage.read_bytes(uri)
    if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise BenchmarkError(f"{uri}: sha256 differs from the manifest of version {manifest['version']}")
    records = parse_records(uri, data.decode("utf-8"))
    if len(records) != manifest["items"]:
        raise BenchmarkError(f"{uri}: {len(records)} items, the manifest says {manifest['items']}")
    return records


def exclusion_of(manifest_uri: str) -> tuple[dict[str, Any], Exclusion]:
    """The manifest at `manifest_uri` (a version URI) and the exclusion keys of its records."""
    try:
        manifest = storage.read_json(manifest_uri)
    except Exception as error:
        raise BenchmarkError(f"{manifest_uri}: cannot be read: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
        raise BenchmarkError(f"{manifest_uri}: not a benchmark manifest")
    return manifest, Exclusion.of(load_version(manifest))


# --- freezing -------------------------------------------------------------------------------------


def freeze(
    benchmarks_uri: str,
    sources: Sequence[tuple[str, str]],
    reason: str,
    *,
    expected: int | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """Freeze `sources` ((name, text) pairs, concatenated) as the next version; returns its manifest.

    `expected`: the version the caller read (default: the current one); the new one is `expected + 1`, written
    create-only. Refuses an empty reason, bad or duplicate records, and a benchmark identical to the current
    one.
    """
    if not reason.strip():
        raise BenchmarkError("--reason: a benchmark version needs a reason (it is recorded in its manifest)")
    if not sources:
        raise BenchmarkError("--from: no files given")
    records: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for name, text in sources:
        for line, record in enumerate(parse_records(name, text), start=1):
            key = sentence_key(record)
            if key in seen:
                raise BenchmarkError(
                    f"{name}:{line}: messages[1].content: duplicate sentence (first at {seen[key]})"
                )
            seen[key] = f"{name}:{line}"
            records.append(record)
    body = storage.dumps_jsonl(records).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    found = versions(benchmarks_uri)
    latest = found[-1] if found else 0
    if expected is None:
        expected = latest
    if expected:
        previous = read_version(benchmarks_uri, expected)
        if previous["sha256"] == digest:
            raise BenchmarkError(
                f"{benchmarks_uri}: identical to version {expected} (sha256 {digest[:12]}); nothing to freeze"
            )
    file_uri = storage.join(benchmarks_uri, "files", f"{digest}.jsonl")
    if not storage.exists(file_uri):
        try:
            storage.put_if_absent(file_uri, body, "application/x-ndjson")
        except storage.AlreadyExistsError:
            pass  # content-addressed: another writer wrote the same bytes
    version = expected + 1
    groups = {meaning_key(r) for r in records}
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "kind": MANIFEST_KIND,
        "version": version,
        "previous_version": expected or None,
        "sha256": digest,
        "file_uri": file_uri,
        "items": len(records),
        "meaning_groups": len(groups),
        "group_key": "llm_workloads.splits.group_key of the parsed representation",
        "created_at": created_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": [name for name, _ in sources],
        "reason": reason,
    }
    uri = version_uri(benchmarks_uri, version)
    try:
        storage.put_if_absent(uri, storage.dumps_json(manifest).encode(), "application/json")
    except storage.AlreadyExistsError as error:
        raise BenchmarkConflict(
            f"{uri}: version {version} was already frozen by another writer; this one read version {expected}"
        ) from error
    return manifest


def summary(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The small dict a pipeline pins for a run (XCom-sized)."""
    return {
        "version": int(manifest["version"]),
        "sha256": str(manifest["sha256"]),
        "items": int(manifest["items"]),
        "meaning_groups": int(manifest.get("meaning_groups") or 0),
        "file_uri": str(manifest["file_uri"]),
    }


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm_workloads.benchmark", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("freeze", "list", "show", "overlap"):
        p = sub.add_parser(name)
        p.add_argument(
            "--benchmarks-uri", required=True, help="e.g. s3://llm-platform-artifacts/benchmarks/viggo"
        )
        if name == "freeze":
            p.add_argument("--from", dest="sources", nargs="+", required=True, metavar="FILE")
            p.add_argument("--reason", required=True, help="why the yardstick changes (recorded)")
        if name in ("show", "overlap"):
            p.add_argument("--version", type=int, help="default: the current one")
        if name == "overlap":
            p.add_argument("--data", nargs="+", required=True, metavar="FILE")
    args = parser.parse_args(argv)
    try:
        if args.command == "freeze":
            texts = []
            for source in args.sources:
                try:
                    texts.append((source, storage.read_text(source)))
                except Exception as error:
                    raise BenchmarkError(f"{source}: cannot be read: {error}") from error
            _print(freeze(args.benchmarks_uri, texts, args.reason))
        elif args.command == "list":
            for v in versions(args.benchmarks_uri):
                m = read_version(args.benchmarks_uri, v)
                print(
                    f"{m['version']:>4}  {m['items']:>6} items  {m.get('meaning_groups', 0):>5} groups  "
                    f"{m['sha256'][:12]}  {m.get('created_at', '')}  {m.get('reason', '')}"
                )
        else:
            manifest = (
                read_version(args.benchmarks_uri, args.version)
                if args.version is not None
                else current(args.benchmarks_uri)
            )
            if manifest is None:
                raise BenchmarkError(f"{args.benchmarks_uri}: no benchmark frozen yet")
            if args.command == "show":
                _print(manifest)
            else:
                exclusion = Exclusion.of(load_version(manifest))
                counts = {}
                for uri in args.data:
                    rows = parse_records(uri, storage.read_text(uri))
                    counts[uri] = {"records": len(rows), "overlap": sum(exclusion.hits(r) for r in rows)}
                _print({"version": manifest["version"], "sha256": manifest["sha256"], "files": counts})
    except (BenchmarkError, storage.StorageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
