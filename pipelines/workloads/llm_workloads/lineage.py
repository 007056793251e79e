"""The dataset lineage: which version is current, and where each source's extraction stopped.

Layout, beside the versions it describes (`<dataset root>/lineage/`):

    lineage/000001.json   {"generation", "version", "dataset_uri", "data_hash", "changed", "cursors", ...}
    lineage/000002.json   ...

One entry per successful data-update run, written create-only as the run's last step (`storage.put_if_absent`,
like the model registry). The newest entry names the current version (the next build's parent) and the
cursors the next run's fetches resume from:

* `zendesk`: the incremental export's `after_cursor` (resume exactly after the last ticket update read);
* `slack`: per channel, the newest top-level message `ts` read (the next run asks from `ts - lookback`);
* `s3`: every drop object read, with its ETag (an object is read again only if it is new or changed).

A run that fails before its entry is written leaves the cursors where they were: its rows are fetched again
next time. A run that finds nothing new still writes an entry (same version, `changed: false`) so the cursors
move on and the next run does not re-read an ever-growing window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from llm_workloads import storage

ENTRY_RE = re.compile(r"/lineage/(\d{6})\.json$")


class LineageError(ValueError):
    """A lineage that cannot be read, or an entry that lost a race (the message names the URI)."""


def entry_uri(root_uri: str, generation: int) -> str:
    return storage.join(root_uri, "lineage", f"{generation:06d}.json")


def generations(root_uri: str) -> list[int]:
    found = []
    for uri in storage.list_uris(storage.join(root_uri, "lineage") + "/"):
        m = ENTRY_RE.search(uri)
        if m:
            found.append(int(m.group(1)))
    return sorted(found)


def head(root_uri: str) -> dict[str, Any] | None:
    """The newest entry, or None before the first run."""
    gens = generations(root_uri)
    if not gens:
        return None
    uri = entry_uri(root_uri, gens[-1])
    entry = storage.read_json(uri)
    if not isinstance(entry, dict) or entry.get("generation") != gens[-1]:
        raise LineageError(f"{uri}: not a lineage entry for generation {gens[-1]}")
    return entry


def cursors(entry: Mapping[str, Any] | None, source: str) -> Any:
    """The cursor one source resumes from (None: first run, use the initial window)."""
    if not entry:
        return None
    return (entry.get("cursors") or {}).get(source)


def append(root_uri: str, expected: int, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Write generation `expected + 1` create-only; LineageError when another run wrote it first."""
    generation = expected + 1
    written = {
        **dict(entry),
        "generation": generation,
        "previous_generation": expected or None,
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    uri = entry_uri(root_uri, generation)
    try:
        storage.put_if_absent(uri, storage.dumps_json(written).encode(), "application/json")
    except storage.AlreadyExistsError as error:
        winner = storage.read_json(uri)
        raise LineageError(
            f"{uri}: generation {generation} was already written by run {winner.get('run')!r}; this run read "
            f"generation {expected}, so its cursors are stale (it fetched what the other run already took)"
        ) from error
    return written
