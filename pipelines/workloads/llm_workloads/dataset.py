"""From source rows to a versioned dataset: validate, merge with the parent, de-duplicate, split, write.

Layout of one version (never overwritten once complete):

    <root>/<version>/train.jsonl, valid.jsonl, test.jsonl   chat records with "id" and "source"
    <root>/<version>/rejected.jsonl                          {"id", "reason", "row"} per row kept aside
    <root>/<version>/changes.jsonl                           {"id", "change", "label", "previous"}: what this
                                                             version added, replaced or removed vs its parent
    <root>/<version>/state.jsonl                             the newest usable source row of every record id,
                                                             sorted by id: the next version's starting point
    <root>/<version>/manifest.json                           written LAST: a version is complete iff it exists

Versions accumulate: version N is a pure function of version N-1's `state.jsonl` and the rows fetched since,
so a labelled example is never lost when it leaves a source's window, and a relabelled record (same record
id, newer `updated_at`) replaces its older label. A record's split depends only on its meaning group
(`splits.group_key`, normalised), so it never changes split as the data grows.

The build streams (`extsort`): rows are sorted by record id and by sentence in bounded chunks spilled to
disk, so memory stays flat from a thousand records to millions. `llm_workloads.dataset_ray` runs the same
per-group functions (`resolve_record`, `resolve_sentence`) on Ray Data and writes through the same writer, so
both engines give byte-identical files.

Nothing is ever overwritten: locally the version is staged and renamed into place; on S3 every
object is a create-only put (`If-None-Match: *`).

Merge rules (deterministic: the result depends only on the set of rows, not their order):
1. Rows sharing a record id (`source:source_id`, e.g. a ticket fetched twice) collapse to the newest
   (`updated_at`, then content hash as tie-break); older copies are rejected as superseded. A fetched row
   identical (text, label, problem) to the parent's is "seen again" and changes nothing; a newer usable one
   replaces it ("replaced"); a newer unusable one (label removed, ticket deleted) removes it ("removed").
2. Unusable rows (no label, label does not parse, unknown act/slot, empty or too long text) are rejected.
3. Rows whose sentences are equal after case and whitespace folding are one example: identical
   representations keep the smallest id (the others are rejected as duplicates); different
   representations are a labelling conflict and every row of the group is rejected.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import os
import re
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_workloads import storage
from llm_workloads.extsort import DEFAULT_CHUNK_ROWS, sort_rows
from llm_workloads.manifest import dataset_manifest
from llm_workloads.mr import ParseError, parse_mr, render_mr, vocabulary_problems
from llm_workloads.records import make_record
from llm_workloads.sources import MAX_TEXT_CHARS, content_hash, normalise_text
from llm_workloads.splits import (
    DEFAULT_FRACTIONS,
    DEFAULT_SALT,
    GROUP_KEY_VERSION,
    SPLITS,
    Split,
    SplitKey,
    assign_split,
    group_key,
)

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
SPLIT_FILES = tuple(f"{split}.jsonl" for split in SPLITS)
OUTPUT_FILES = (*SPLIT_FILES, "rejected.jsonl", "changes.jsonl", "state.jsonl")
CHANGES = ("added", "replaced", "removed")


class DatasetError(Exception):
    """Bad input for a dataset build (the message names the field or URI)."""


class VersionExistsError(DatasetError):
    """The version is already complete with different content."""


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


@dataclass(frozen=True)
class SplitPolicy:
    key: SplitKey = "mr_group"
    salt: str = DEFAULT_SALT
    fractions: Mapping[Split, float] = field(default_factory=lambda: dict(DEFAULT_FRACTIONS))

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "key_version": GROUP_KEY_VERSION,
            "salt": self.salt,
            "fractions": dict(self.fractions),
        }


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("text", "label", "problem"))


def _version_key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (str(row.get("updated_at") or ""), json.dumps(dict(row), sort_keys=True, default=str))


Output = tuple[str, dict[str, Any]]


def resolve_record(rid: str, parent: Mapping[str, Any] | None, news: list[Mapping[str, Any]]) -> list[Output]:
    """Everything one record id contributes: ("state" item | "rejected" | "change" | "seen", payload).

    Pure and order-insensitive in `news` (shared by the local and the Ray engine). A "state" payload is the
    row kept for this id with its sentence, canonical representation and meaning group.
    """
    out: list[Output] = []
    ordered = sorted(news, key=_version_key)
    newest = ordered[-1] if ordered else None
    if newest is not None:
        for older in ordered[:-1]:
            reason = "exact duplicate of" if _same(older, newest) else "superseded by a newer version of"
            out.append(("rejected", _reject(rid, f"{reason} {rid}", older)))
    chosen: Mapping[str, Any] | None
    if newest is None:
        chosen = parent
    elif parent is None:
        chosen = newest
    elif _same(newest, parent):
        out.append(("seen", {"id": rid}))
        chosen = parent
    elif _version_key(newest) < _version_key(parent):
        out.append(
            ("rejected", _reject(rid, f"superseded by the version of {rid} already in the dataset", newest))
        )
        chosen = parent
    else:
        chosen = newest
    assert chosen is not None
    usable = _usable(chosen)
    previous = parent.get("label") if parent is not None else None
    if isinstance(usable, str):
        out.append(("rejected", _reject(rid, usable, chosen)))
        if parent is not None:
            out.append(("change", {"id": rid, "change": "removed", "label": None, "previous": previous}))
        return out
    sentence, mr_text = usable
    if parent is None:
        out.append(("change", {"id": rid, "change": "added", "label": mr_text, "previous": None}))
    elif chosen is not parent:
        out.append(("change", {"id": rid, "change": "replaced", "label": mr_text, "previous": previous}))
    out.append(
        (
            "state",
            {"id": rid, "sentence": sentence, "mr": mr_text, "group": _group(mr_text), "row": dict(chosen)},
        )
    )
    return out


def resolve_sentence(items: list[Mapping[str, Any]], policy: SplitPolicy) -> list[Output]:
    """One sentence's state items (same casefolded sentence) -> ("kept", record + split) | ("rejected",
    ...)."""
    ordered = sorted(items, key=lambda item: str(item["id"]))
    ids = [str(item["id"]) for item in ordered]
    if len({item["group"] for item in ordered}) > 1:
        reason = f"conflicting labels for the same sentence (ids: {', '.join(ids)})"
        return [
            ("rejected", _reject(rid, reason, item["row"])) for rid, item in zip(ids, ordered, strict=True)
        ]
    first = ordered[0]
    out: list[Output] = [
        ("rejected", _reject(str(item["id"]), f"duplicate of {ids[0]}", item["row"])) for item in ordered[1:]
    ]
    key = ids[0] if policy.key == "record_id" else str(first["group"])
    record = make_record(
        str(first["sentence"]), str(first["mr"]), record_id=ids[0], source=str(first["row"]["source"])
    )
    out.append(("kept", {"split": assign_split(key, policy.fractions, policy.salt), "record": record}))
    return out


def rejected_sort_key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(row["id"]), str(row["reason"]), content_hash(json.dumps(row["row"], sort_keys=True), ""))


def sentence_key(item: Mapping[str, Any]) -> str:
    return str(item["sentence"]).casefold()


class Sink:
    """Where a build's outputs go, each stream already in its final order (ids ascending)."""

    def state(self, row: dict[str, Any]) -> None: ...
    def change(self, row: dict[str, Any]) -> None: ...
    def record(self, split: Split, record: dict[str, Any]) -> None: ...
    def reject(self, row: dict[str, Any]) -> None: ...


@dataclass
class Build(Sink):
    """An in-memory sink (small inputs, tests, the seed data)."""

    splits: dict[Split, list[dict[str, Any]]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    rejected: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: dict[str, Any]) -> None:
        self.rejected.append(row)

    def state(self, row: dict[str, Any]) -> None:
        self.states.append(row)

    def change(self, row: dict[str, Any]) -> None:
        self.changes.append(row)

    def record(self, split: Split, record: dict[str, Any]) -> None:
        self.splits[split].append(record)

    @property
    def count(self) -> int:
        return sum(len(rows) for rows in self.splits.values())


@dataclass
class Tally:
    """Counts of one build (the manifest's `changes` and `counts`)."""

    carried: int = 0
    seen_again: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    splits: Counter[str] = field(default_factory=Counter)
    state_rows: int = 0
    input_rows: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "input_rows": self.input_rows,
            "state_rows": self.state_rows,
            "seen_again": self.seen_again,
            **{name: self.changes.get(name, 0) for name in CHANGES},
        }


def check_parent_order(rows: Iterable[dict[str, Any]], uri: str) -> Iterator[dict[str, Any]]:
    """A parent's state rows, checked to be sorted by record id without repeats (the merge relies on it)."""
    last: str | None = None
    for number, row in enumerate(rows, start=1):
        rid = record_id(row)
        if last is not None and rid <= last:
            raise DatasetError(f"{uri}:{number}: state rows must be sorted by record id without repeats")
        last = rid
        yield row


def run_local(
    parent_rows: Iterable[dict[str, Any]],
    new_rows: Iterable[dict[str, Any]],
    sink: Sink,
    policy: SplitPolicy | None = None,
    *,
    workdir: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Tally:
    """The streamed build: three external sorts (by id, by sentence, by id); memory bounded by
    `chunk_rows`."""
    policy = policy or SplitPolicy()
    tally = Tally()

    def counted(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            tally.input_rows += 1
            yield row

    tagged_new = ({"i": record_id(r), "n": 1, "r": r} for r in counted(new_rows))
    tagged_parent = ({"i": record_id(r), "n": 0, "r": r} for r in parent_rows)
    by_id = heapq.merge(
        tagged_parent,
        sort_rows(tagged_new, key=lambda t: t["i"], workdir=workdir, chunk_rows=chunk_rows),
        key=lambda t: (t["i"], t["n"]),
    )

    # Rejected rows of both passes are spilled to disk as they come and sorted once at the end.
    spill = _Spill(workdir, chunk_rows, rejected_sort_key)

    def state_items() -> Iterator[dict[str, Any]]:
        for rid, group in itertools.groupby(by_id, key=lambda t: t["i"]):
            parent: dict[str, Any] | None = None
            news: list[dict[str, Any]] = []
            for tagged in group:
                if tagged["n"] == 0:
                    parent = tagged["r"]
                else:
                    news.append(tagged["r"])
            if parent is not None and not news:
                tally.carried += 1
            for kind, payload in resolve_record(rid, parent, news):
                if kind == "state":
                    tally.state_rows += 1
                    sink.state(payload["row"])
                    yield payload
                elif kind == "change":
                    tally.changes[payload["change"]] += 1
                    sink.change(payload)
                elif kind == "seen":
                    tally.seen_again += 1
                else:
                    spill.add(payload)

    by_sentence = sort_rows(state_items(), key=sentence_key, workdir=workdir, chunk_rows=chunk_rows)

    def kept() -> Iterator[dict[str, Any]]:
        for _, group in itertools.groupby(by_sentence, key=sentence_key):
            for kind, payload in resolve_sentence(list(group), policy):
                if kind == "kept":
                    yield payload
                else:
                    spill.add(payload)

    for item in sort_rows(
        kept(), key=lambda k: str(k["record"]["id"]), workdir=workdir, chunk_rows=chunk_rows
    ):
        tally.splits[item["split"]] += 1
        sink.record(item["split"], item["record"])
    for row in spill.sorted():
        tally.rejected_by_reason[_reason_class(str(row["reason"]))] += 1
        sink.reject(row)
    return tally


class _Spill:
    """Collects rows for one external sort fed from several places (the rejected rows of both passes)."""

    def __init__(self, workdir: Path | None, chunk_rows: int, key: Callable[[dict[str, Any]], Any]) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="spill-", dir=workdir)
        self.path = Path(self.dir.name) / "rows.jsonl"
        self.handle = self.path.open("w", encoding="utf-8")
        self.chunk_rows = chunk_rows
        self.key = key

    def add(self, row: dict[str, Any]) -> None:
        self.handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")

    def sorted(self) -> Iterator[dict[str, Any]]:
        self.handle.close()
        try:
            with self.path.open("r", encoding="utf-8") as handle:
                yield from sort_rows(
                    (json.loads(line) for line in handle),
                    key=self.key,
                    workdir=Path(self.dir.name),
                    chunk_rows=self.chunk_rows,
                )
        finally:
            self.dir.cleanup()


def build(
    rows: Iterable[Mapping[str, Any]],
    *,
    split_key: SplitKey = "mr_group",
    fractions: Mapping[Split, float] = DEFAULT_FRACTIONS,
    salt: str = DEFAULT_SALT,
    parent: Iterable[dict[str, Any]] = (),
) -> Build:
    """In memory: the same build as the streamed one (small inputs, tests, seed data)."""
    out = Build()
    policy = SplitPolicy(key=split_key, salt=salt, fractions=dict(fractions))
    run_local(parent, (dict(r) for r in rows), out, policy)
    return out


class FileSink(Sink):
    """Writes the output files into a directory, hashing as it goes (same bytes as `storage.dumps_jsonl`)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.handles = {
            name: (directory / name).open("w", encoding="utf-8", newline="\n") for name in OUTPUT_FILES
        }
        self.digests = {name: hashlib.sha256() for name in OUTPUT_FILES}
        self.sizes = dict.fromkeys(OUTPUT_FILES, 0)

    def _write(self, name: str, row: dict[str, Any]) -> None:
        line = storage.dumps_row(row)
        data = line.encode("utf-8")
        self.handles[name].write(line)
        self.digests[name].update(data)
        self.sizes[name] += len(data)

    def state(self, row: dict[str, Any]) -> None:
        self._write("state.jsonl", row)

    def change(self, row: dict[str, Any]) -> None:
        self._write("changes.jsonl", row)

    def record(self, split: Split, record: dict[str, Any]) -> None:
        self._write(f"{split}.jsonl", record)

    def reject(self, row: dict[str, Any]) -> None:
        self._write("rejected.jsonl", row)

    def close(self) -> dict[str, dict[str, Any]]:
        for handle in self.handles.values():
            handle.close()
        return {
            name: {"sha256": self.digests[name].hexdigest(), "bytes": self.sizes[name]}
            for name in OUTPUT_FILES
        }


def _group(mr_text: str) -> str:
    parsed = parse_mr(mr_text)
    assert not isinstance(parsed, ParseError)  # mr_text is a rendered, already-parsed representation
    return group_key(parsed.value)


def read_source_rows(uris: Iterable[str]) -> list[dict[str, Any]]:
    return list(iter_source_rows(uris))


def iter_source_rows(uris: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Source rows of the fetched files, streamed; a row without `source`/`source_id` is a DatasetError."""
    for uri in uris:
        for number, row in enumerate(storage.iter_jsonl(uri), start=1):
            for key in ("source", "source_id"):
                if not isinstance(row.get(key), str) or not row[key]:
                    raise DatasetError(f"{uri}:{number}: field '{key}' missing or not a string")
            yield row


def check_version(version: str) -> None:
    if not _VERSION.match(version):
        raise DatasetError(
            f"version {version!r} must match {_VERSION.pattern} (letters, digits, '.', '_', '-')"
        )


def write_build(result: Build, directory: Path) -> dict[str, dict[str, Any]]:
    """An in-memory build written as the same files a streamed build writes; returns their digests."""
    sink = FileSink(directory)
    for row in result.states:
        sink.state(row)
    for row in result.changes:
        sink.change(row)
    for split in SPLITS:
        for record in result.splits[split]:
            sink.record(split, record)
    for row in result.rejected:
        sink.reject(row)
    return sink.close()


def make_manifest(
    *,
    version: str,
    inputs: list[str],
    digests: Mapping[str, Mapping[str, Any]],
    tally: Tally | None,
    counts: Mapping[str, int],
    rejected_by_reason: Mapping[str, int],
    split_policy: Mapping[str, Any],
    parent: Mapping[str, Any] | None = None,
    new_since_champion: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    manifest = dataset_manifest(
        version=version,
        inputs=inputs,
        digests=digests,
        counts=counts,
        rejected_by_reason=rejected_by_reason,
        split_policy=split_policy,
    )
    manifest["parent"] = dict(parent) if parent else None
    manifest["changes"] = tally.to_json() if tally else None
    if new_since_champion is not None:
        manifest["new_since_champion"] = dict(new_since_champion)
    return manifest


def write_version(
    root_uri: str,
    version: str,
    result: Build,
    inputs: list[str],
    split_policy: Mapping[str, Any],
) -> dict[str, Any]:
    """Write one in-memory build as a version and return its manifest (idempotent for identical content)."""
    check_version(version)
    with tempfile.TemporaryDirectory(prefix="dataset-") as tmp:
        directory = Path(tmp) / "out"
        digests = write_build(result, directory)
        counts: dict[str, int] = {split: len(result.splits[split]) for split in SPLITS}
        counts["rejected"] = len(result.rejected)
        manifest = make_manifest(
            version=version,
            inputs=inputs,
            digests=digests,
            tally=None,
            counts=counts,
            rejected_by_reason=Counter(_reason_class(r["reason"]) for r in result.rejected),
            split_policy=split_policy,
        )
        return publish(root_uri, version, directory, manifest)


def publish(root_uri: str, version: str, directory: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Publish the files in `directory` as `<root_uri>/<version>/`, manifest last; never overwrites.

    Idempotent for identical content (a retried task); refuses different content.
    """
    check_version(version)
    manifest_bytes = storage.dumps_json(manifest).encode()
    base = storage.join(root_uri, version)
    manifest_uri = storage.join(base, "manifest.json")
    if storage.exists(manifest_uri):
        return _existing_or_refuse(manifest_uri, manifest)
    names = sorted(p.name for p in directory.iterdir() if p.is_file())
    if storage.is_s3(base):
        # S3 has no rename: every object is a create-only put and the manifest goes last. Objects
        # left by an earlier attempt are accepted only if byte-identical (a retried task computing
        # the same thing); anything else is refused, so no object is ever overwritten.
        for name in names:
            uri = storage.join(base, name)
            try:
                storage.put_file(uri, directory / name, "application/x-ndjson", if_absent=True)
            except storage.AlreadyExistsError as error:
                if _sha256_of(uri) != _sha256_file(directory / name):
                    raise VersionExistsError(
                        f"{uri}: an unfinished dataset version with different content is in the way; "
                        "choose a new version (or delete the incomplete one after checking it)"
                    ) from error
        try:
            storage.put_if_absent(manifest_uri, manifest_bytes, "application/json")
        except storage.AlreadyExistsError:
            return _existing_or_refuse(manifest_uri, manifest)
        return dict(manifest)
    _write_local_version(storage.local_path(base), directory, names, manifest_bytes)
    return dict(manifest)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_of(uri: str) -> str:
    digest = hashlib.sha256()
    for line in storage.iter_lines(uri):
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


# --- one build as the DAG runs it (plan -> engine -> result) ------------------------------------


def meaning_digest(record: Mapping[str, Any]) -> str:
    """What "the same labelled example" means for the retrain gate: casefolded sentence + meaning group."""
    from llm_workloads.records import target_of, utterance_of

    parsed = parse_mr(target_of(dict(record)))
    label = group_key(parsed.value) if not isinstance(parsed, ParseError) else target_of(dict(record))
    sentence = normalise_text(utterance_of(dict(record))).casefold()
    return hashlib.sha256(f"{sentence}\x00{label}".encode()).hexdigest()[:32]


def count_new(
    current: Iterable[str], reference_uris: Iterable[str], *, workdir: Path | None, chunk_rows: int
) -> int:
    """How many of `current` (meaning digests) are not among the records of `reference_uris`; streamed."""

    def reference() -> Iterator[dict[str, Any]]:
        for uri in reference_uris:
            if storage.exists(uri):
                for record in storage.iter_jsonl(uri):
                    yield {"d": meaning_digest(record), "n": 0}

    tagged = itertools.chain(reference(), ({"d": d, "n": 1} for d in current))
    new = 0
    for _, group in itertools.groupby(
        sort_rows(tagged, key=lambda t: (t["d"], t["n"]), workdir=workdir, chunk_rows=chunk_rows),
        key=lambda t: t["d"],
    ):
        flags = {t["n"] for t in group}
        if flags == {1}:
            new += 1
    return new


class _DigestSink(Sink):
    """Passes everything to `inner`, and remembers each record's meaning digest (on disk) for the gate."""

    def __init__(self, inner: FileSink) -> None:
        self.inner = inner
        self.path = inner.directory.parent / "digests.txt"
        self.handle = self.path.open("w", encoding="utf-8")

    def state(self, row: dict[str, Any]) -> None:
        self.inner.state(row)

    def change(self, row: dict[str, Any]) -> None:
        self.inner.change(row)

    def record(self, split: Split, record: dict[str, Any]) -> None:
        self.inner.record(split, record)
        self.handle.write(meaning_digest(record) + "\n")

    def reject(self, row: dict[str, Any]) -> None:
        self.inner.reject(row)

    def digests(self) -> Iterator[str]:
        self.handle.close()
        with self.path.open("r", encoding="utf-8") as handle:
            for line in handle:
                yield line.rstrip("\n")


def load_plan(plan_uri: str) -> dict[str, Any]:
    plan = storage.read_json(plan_uri)
    for key in ("inputs", "dataset_root_uri", "version", "result_uri", "split_policy"):
        if key not in plan:
            raise DatasetError(f"{plan_uri}: field '{key}' missing from the build plan")
    return dict(plan)


def build_from_plan(
    plan_uri: str, *, engine: str = "local", chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> dict[str, Any]:
    """Run one planned build (the DAG's local task, or the Ray job) and write its result to `result_uri`.

    The result says whether anything changed against the parent. Nothing changed: no version is written (the
    rejected rows of this run go to `<result_uri dir>/rejected.jsonl`), so running twice over the same data
    gives the same version and no retrain.
    """
    plan = load_plan(plan_uri)
    version = str(plan["version"])
    check_version(version)
    policy_json = dict(plan["split_policy"])
    policy = SplitPolicy(
        key=policy_json.get("key", "mr_group"),
        salt=policy_json.get("salt", DEFAULT_SALT),
        fractions=policy_json.get("fractions", dict(DEFAULT_FRACTIONS)),
    )
    parent = plan.get("parent")
    if parent and dict(parent.get("split_policy") or {}) != policy.to_json():
        raise DatasetError(
            f"{plan_uri}: split_policy differs from the parent version's ({parent.get('version')}): "
            "a version "
            "never re-splits its parent's records; start a new dataset root to change the policy"
        )
    root = str(plan["dataset_root_uri"])
    with tempfile.TemporaryDirectory(prefix="dataset-build-") as tmp:
        work = Path(tmp)
        out = work / "out"
        files = FileSink(out)
        sink = _DigestSink(files)
        parent_rows: Iterable[dict[str, Any]] = ()
        if parent:
            state_uri = storage.join(str(parent["dataset_uri"]), "state.jsonl")
            parent_rows = check_parent_order(storage.iter_jsonl(state_uri), state_uri)
        new_rows = iter_source_rows(plan["inputs"])
        if engine == "ray":
            from llm_workloads.dataset_ray import run_ray

            tally = run_ray(parent, plan["inputs"], sink, policy, workdir=work)
        elif engine == "local":
            tally = run_local(parent_rows, new_rows, sink, policy, workdir=work, chunk_rows=chunk_rows)
        else:
            raise DatasetError(f"engine must be 'local' or 'ray', got {engine!r}")
        digests = files.close()
        champion_uris = [str(u) for u in plan.get("champion_dataset_uris") or []]
        new_since = count_new(sink.digests(), champion_uris, workdir=work, chunk_rows=chunk_rows)
        counts: dict[str, int] = {split: tally.splits.get(split, 0) for split in SPLITS}
        counts["rejected"] = sum(tally.rejected_by_reason.values())
        changed = any(tally.changes.get(name, 0) for name in CHANGES)
        result: dict[str, Any] = {
            "changed": changed,
            "engine": engine,
            "counts": counts,
            "changes": tally.to_json(),
            "rejected_by_reason": dict(sorted(tally.rejected_by_reason.items())),
            "new_since_champion": new_since,
            "champion_dataset_uris": champion_uris,
            "parent": {k: parent.get(k) for k in ("version", "dataset_uri", "data_hash")} if parent else None,
        }
        if changed:
            manifest = make_manifest(
                version=version,
                inputs=list(plan["inputs"]),
                digests=digests,
                tally=tally,
                counts=counts,
                rejected_by_reason=tally.rejected_by_reason,
                split_policy=policy.to_json(),
                parent=result["parent"],
                new_since_champion={"records": new_since, "champion_dataset_uris": champion_uris},
            )
            written = publish(root, version, out, manifest)
            base = storage.join(root, version)
            result.update(
                dataset_uri=base,
                data_hash=written["data_hash"],
                rejected_uri=storage.join(base, "rejected.jsonl"),
                state_rows=tally.state_rows,
            )
        else:
            # Nothing new: the dataset stays at the parent; this run's rejected rows are still kept aside.
            rejected_uri = storage.join(storage.parent_uri(str(plan["result_uri"])), "rejected.jsonl")
            storage.put_file(rejected_uri, out / "rejected.jsonl", "application/x-ndjson")
            result.update(
                dataset_uri=parent["dataset_uri"] if parent else "",
                data_hash=parent.get("data_hash") if parent else "",
                rejected_uri=rejected_uri,
                state_rows=tally.state_rows,
            )
    storage.write_json(str(plan["result_uri"]), result)
    return result


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


def _write_local_version(target: Path, directory: Path, names: list[str], manifest_bytes: bytes) -> None:
    """Copy into a temp directory next to the target, then rename it into place (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".staging-{target.name}-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        for name in names:
            shutil.copyfile(directory / name, staging / name)
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
