"""External merge sort of JSON rows: memory bounded by the chunk size, not by the number of rows.

Rows are sorted in chunks of `chunk_rows`, each chunk spilled to a temporary JSONL file, and the files merged
lazily with `heapq.merge`. The dataset build sorts by record id and by sentence with it, so a version of a
million records is built on an Airflow worker whose peak memory is that of one chunk.

Keys are strings (or tuples of strings) computed from the row: the order is Python's string order, which is
the order of code points, the same on every machine.
"""

from __future__ import annotations

import heapq
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

DEFAULT_CHUNK_ROWS = 20_000

Key = Callable[[dict[str, Any]], Any]


def _dump(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"


def _spill(rows: list[dict[str, Any]], key: Key, directory: Path, index: int) -> Path:
    rows.sort(key=key)
    path = directory / f"chunk-{index:06d}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(_dump(row) for row in rows)
    return path


def _read(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("r", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def sort_rows(
    rows: Iterable[dict[str, Any]],
    key: Key,
    *,
    workdir: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[dict[str, Any]]:
    """`sorted(rows, key=key)`, streamed. Stable: rows with equal keys keep their input order.

    Temporary files live in `workdir` (or the system temp dir) and are removed when the iterator is exhausted
    or closed.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    holder = tempfile.TemporaryDirectory(prefix="extsort-", dir=workdir)
    directory = Path(holder.name)
    try:
        chunk: list[dict[str, Any]] = []
        paths: list[Path] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= chunk_rows:
                paths.append(_spill(chunk, key, directory, len(paths)))
                chunk = []
        if not paths:  # everything fitted in one chunk: no files
            chunk.sort(key=key)
            yield from chunk
            return
        if chunk:
            paths.append(_spill(chunk, key, directory, len(paths)))
        del chunk
        # heapq.merge is stable across its inputs in input order, and each chunk is sorted stably, so the
        # whole sort is stable.
        yield from heapq.merge(*(_read(p) for p in paths), key=key)
    finally:
        holder.cleanup()
