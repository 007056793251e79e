"""From source rows to a versioned dataset: validate, merge, de-duplicate, split, write.

Layout of one version (never overwritten once complete):

    <root>/<version>/train.jsonl, valid.jsonl, test.jsonl   chat records with "id" and "source"
    <root>/<version>/rejected.jsonl                          {"id", "reason", "row"} per unusable row
    <root>/<version>/manifest.json                           written LAST: a version is complete iff it exists

Nothing is ever overwritten: locally the version is staged and renamed into place; on S3 every
object is a create-only put (`If-None-Match: *`).

Merge rules (deterministic: the result depends only on the set of rows, not their order):
1. Rows sharing a record id (`source:source_id`, e.g. a ticket fetched twice) collapse to the newest
   (`updated_at`, then content hash as tie-break); older copies are rejected as superseded.
2. Unusable rows (no label, label does not parse, unknown act/slot, empty or too long text) are rejected.
3. Rows whose sentences are equal after case and whitespace folding are one example: identical
   representations keep the smallest id (the others are rejected as duplicates); different
   representations are a labelling conflict and every row of the group is rejected.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_workloads import storage
from llm_workloads.manifest import dataset_manifest
from llm_workloads.mr import ParseError, parse_mr, render_mr, vocabulary_problems
from llm_workloads.records import make_record
from llm_workloads.sources import MAX_TEXT_CHARS, content_hash, normalise_text
from llm_workloads.splits import (
    DEFAULT_FRACTIONS,
    DEFAULT_SALT,
    SPLITS,
    Split,
    SplitKey,
    assign_split,
    group_key,
)

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
SPLIT_FILES = tuple(f"{split}.jsonl" for split in SPLITS)


class DatasetError(Exception):
    """Bad input for a dataset build (the message names the field or URI)."""


class VersionExistsError(DatasetError):
    """The version is already complete with different content."""


@dataclass
class Build:
    splits: dict[Split, list[dict[str, Any]]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(rows) for rows in self.splits.values())


def record_id(row: Mapping[str, Any]) -> str:
    return f"{row.get('source')}:{row.get('source_id')}"


def _reject(rid: str, reason: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": rid, "reason": reason, "row": dict(row)}


def _usable(row: Mapping[str, Any]) -> tuple[str, str] | str:
    """(sentence, canonical representation) or the reason the row cannot be a training record."""
    if row.get("problem"):
        return str(row["problem"])
    text = row.get("text")
    sentence = normalise_text(text) if isinstance(text, str) else ""
    if not sentence:
        return "empty text"
    if len(sentence) > MAX_TEXT_CHARS:
        return f"text longer than {MAX_TEXT_CHARS} characters"
    label = row.get("label")
    if not isinstance(label, str) or not label.strip():
        return f"unlabelled: no functional representation attached ({row.get('source')})"
    parsed = parse_mr(label)
    if isinstance(parsed, ParseError):
        return f"label does not parse: {parsed.reason}"
    vocab = vocabulary_problems(parsed.value)
    if vocab:
        return "label outside the VIGGO vocabulary: " + "; ".join(vocab)
    try:
        return sentence, render_mr(parsed.value)
    except ValueError as error:  # parse output is always renderable; kept as a guard
        return f"label cannot be rendered: {error}"


def build(
    rows: Iterable[Mapping[str, Any]],
    *,
    split_key: SplitKey = "mr_group",
    fractions: Mapping[Split, float] = DEFAULT_FRACTIONS,
    salt: str = DEFAULT_SALT,
) -> Build:
    out = Build()
    # 1. newest version of each record id
    by_id: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_id[record_id(row)].append(row)
    latest: dict[str, Mapping[str, Any]] = {}
    for rid, versions in by_id.items():
        ordered = sorted(
            versions,
            key=lambda r: (str(r.get("updated_at") or ""), json.dumps(dict(r), sort_keys=True, default=str)),
        )
        latest[rid] = ordered[-1]
        newest = ordered[-1]
        for older in ordered[:-1]:
            same = all(older.get(k) == newest.get(k) for k in ("text", "label", "problem"))
            reason = "exact duplicate of" if same else "superseded by a newer version of"
            out.rejected.append(_reject(rid, f"{reason} {rid}", older))
    # 2. usable rows
    usable: dict[str, tuple[str, str]] = {}
    for rid in sorted(latest):
        result = _usable(latest[rid])
        if isinstance(result, str):
            out.rejected.append(_reject(rid, result, latest[rid]))
        else:
            usable[rid] = result
    # 3. one example per sentence
    by_sentence: dict[str, list[str]] = defaultdict(list)
    for rid, (sentence, _) in usable.items():
        by_sentence[sentence.casefold()].append(rid)
    kept: list[str] = []
    for ids in by_sentence.values():
        ids.sort()
        groups = {_group(usable[rid][1]) for rid in ids}
        if len(groups) > 1:
            for rid in ids:
                out.rejected.append(
                    _reject(
                        rid, f"conflicting labels for the same sentence (ids: {', '.join(ids)})", latest[rid]
                    )
                )
            continue
        kept.append(ids[0])
        for rid in ids[1:]:
            out.rejected.append(_reject(rid, f"duplicate of {ids[0]}", latest[rid]))
    for rid in sorted(kept):
        sentence, mr_text = usable[rid]
        key = rid if split_key == "record_id" else _group(mr_text)
        split = assign_split(key, fractions, salt)
        out.splits[split].append(
            make_record(sentence, mr_text, record_id=rid, source=str(latest[rid]["source"]))
        )
    out.rejected.sort(
        key=lambda r: (r["id"], r["reason"], content_hash(json.dumps(r["row"], sort_keys=True), ""))
    )
    return out


def _group(mr_text: str) -> str:
    parsed = parse_mr(mr_text)
    assert not isinstance(parsed, ParseError)  # mr_text is a rendered, already-parsed representation
    return group_key(parsed.value)


def read_source_rows(uris: Iterable[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for uri in uris:
        for number, row in enumerate(storage.read_jsonl(uri), start=1):
            for key in ("source", "source_id"):
                if not isinstance(row.get(key), str) or not row[key]:
                    raise DatasetError(f"{uri}:{number}: field '{key}' missing or not a string")
            rows.append(row)
    return rows


def check_version(version: str) -> None:
    if not _VERSION.match(version):
        raise DatasetError(
            f"version {version!r} must match {_VERSION.pattern} (letters, digits, '.', '_', '-')"
        )


def render_files(result: Build) -> dict[str, bytes]:
    files = {f"{split}.jsonl": storage.dumps_jsonl(result.splits[split]).encode() for split in SPLITS}
    files["rejected.jsonl"] = storage.dumps_jsonl(result.rejected).encode()
    return files


def write_version(
    root_uri: str,
    version: str,
    result: Build,
    inputs: list[str],
    split_policy: Mapping[str, Any],
) -> dict[str, Any]:
    """Write one version and return its manifest.

    Idempotent for identical content (a retried task); refuses different content.
    """
    check_version(version)
    files = render_files(result)
    counts: dict[str, int] = {split: len(result.splits[split]) for split in SPLITS}
    counts["rejected"] = len(result.rejected)
    manifest = dataset_manifest(
        version=version,
        inputs=inputs,
        files=files,
        counts=counts,
        rejected_by_reason=Counter(_reason_class(r["reason"]) for r in result.rejected),
        split_policy=split_policy,
    )
    manifest_bytes = storage.dumps_json(manifest).encode()
    base = storage.join(root_uri, version)
    manifest_uri = storage.join(base, "manifest.json")
    if storage.exists(manifest_uri):
        return _existing_or_refuse(manifest_uri, manifest)
    if storage.is_s3(base):
        # S3 has no rename: every object is a create-only put and the manifest goes last. Objects
        # left by an earlier attempt are accepted only if byte-identical (a retried task computing
        # the same thing); anything else is refused, so no object is ever overwritten.
        for name in sorted(files):
            uri = storage.join(base, name)
            try:
                storage.put_if_absent(uri, files[name], "application/x-ndjson")
            except storage.AlreadyExistsError as error:
                if storage.read_bytes(uri) != files[name]:
                    raise VersionExistsError(
                        f"{uri}: an unfinished dataset version with different content is in the way; "
                        "choose a new version (or delete the incomplete one after checking it)"
                    ) from error
        try:
            storage.put_if_absent(manifest_uri, manifest_bytes, "application/json")
        except storage.AlreadyExistsError:
            return _existing_or_refuse(manifest_uri, manifest)
        return manifest
    _write_local_version(storage.local_path(base), files, manifest_bytes)
    return manifest


def _reason_class(reason: str) -> str:
    """Group reasons for the manifest counts (ids and details dropped)."""
    for prefix in (
        "exact duplicate of",
        "superseded by",
        "duplicate of",
        "conflicting labels",
        "label does not parse",
        "label outside",
        "unlabelled",
    ):
        if reason.startswith(prefix):
            return prefix
    return reason.split(":")[0]


def _existing_or_refuse(manifest_uri: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
    existing = storage.read_json(manifest_uri)
    if isinstance(existing, dict) and existing.get("data_hash") == manifest["data_hash"]:
        return existing  # a retried task that already finished: same content, nothing to do
    raise VersionExistsError(
        f"{manifest_uri}: dataset version already exists with different content "
        f"(existing {existing.get('data_hash') if isinstance(existing, dict) else '?'}, "
        f"new {manifest['data_hash']}); choose a new version"
    )


def _write_local_version(target: Path, files: Mapping[str, bytes], manifest_bytes: bytes) -> None:
    """Write into a temp directory next to the target, then rename it into place (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".staging-{target.name}-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        (staging / "manifest.json").write_bytes(manifest_bytes)
        if target.exists():
            # a published version always has a manifest (checked before); this is something else
            raise VersionExistsError(f"{target}: exists without manifest.json; not overwriting it")
        os.rename(staging, target)  # atomic; fails if a version appeared meanwhile
    except OSError as error:
        raise VersionExistsError(f"{target}: could not publish dataset version: {error}") from error
    finally:
        if staging.exists():
            _remove_tree(staging)


def _remove_tree(path: Path) -> None:
    for child in sorted(path.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()
