"""One small storage helper for `s3://bucket/key` URIs and local paths (`file://` or plain).

boto3 is imported lazily. The S3 client honours `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_S3`)
so tests can point it at a moto server. Local writes go to a temp file in the target directory
and are renamed into place, so a reader never sees a half-written file. S3 puts are atomic per
object already.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse


class StorageError(Exception):
    """A read or write failed; the message names the URI."""


class AlreadyExistsError(StorageError):
    """`put_if_absent` found the object already there."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def parse_s3(uri: str) -> S3Location:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise StorageError(f"not an s3://bucket/key URI: {uri!r}")
    return S3Location(bucket=parsed.netloc, key=parsed.path.lstrip("/"))


def local_path(uri: str) -> Path:
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path))
    if "://" in uri:
        raise StorageError(f"unsupported URI scheme: {uri!r} (use s3://, file:// or a path)")
    return Path(uri)


def join(base: str, *parts: str) -> str:
    """Join path segments onto a URI or path with single slashes."""
    out = base.rstrip("/")
    for part in parts:
        out = f"{out}/{part.strip('/')}"
    return out


def parent_uri(uri: str) -> str:
    """The folder a URI or path is in (`s3://b/a/x.json` -> `s3://b/a`)."""
    head, _, _ = uri.rstrip("/").rpartition("/")
    return head


def s3_client() -> Any:
    import boto3  # lazy: only S3 users pay for it

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    return boto3.client("s3", endpoint_url=endpoint)


def _s3_missing(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    return code in {"404", "NoSuchKey", "NotFound"}


def read_bytes(uri: str) -> bytes:
    if is_s3(uri):
        loc = parse_s3(uri)
        try:
            body: bytes = s3_client().get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()
        except Exception as error:  # botocore errors are only importable with boto3 present
            if _s3_missing(error):
                raise StorageError(f"{uri}: no such object") from error
            raise StorageError(f"{uri}: read failed: {error}") from error
        return body
    path = local_path(uri)
    try:
        return path.read_bytes()
    except FileNotFoundError as error:
        raise StorageError(f"{uri}: no such file") from error


def read_text(uri: str) -> str:
    data = read_bytes(uri)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise StorageError(f"{uri}: not UTF-8 text ({error})") from error


def _write_local_atomic(path: Path, data: bytes, exclusive: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if exclusive:
            # link() fails if the target exists: an atomic "create only if absent".
            try:
                os.link(tmp, path)
            except FileExistsError as error:
                raise AlreadyExistsError(f"{path}: already exists") from error
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes(uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    if is_s3(uri):
        loc = parse_s3(uri)
        try:
            s3_client().put_object(Bucket=loc.bucket, Key=loc.key, Body=data, ContentType=content_type)
        except Exception as error:
            raise StorageError(f"{uri}: write failed: {error}") from error
        return
    _write_local_atomic(local_path(uri), data, exclusive=False)


def put_if_absent(uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    """Write only if nothing is at `uri`; raise AlreadyExistsError otherwise.

    On S3 this is a conditional put (`If-None-Match: *`), so two concurrent writers cannot both win.
    """
    if is_s3(uri):
        loc = parse_s3(uri)
        try:
            s3_client().put_object(
                Bucket=loc.bucket, Key=loc.key, Body=data, ContentType=content_type, IfNoneMatch="*"
            )
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            if code in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                raise AlreadyExistsError(f"{uri}: already exists") from error
            raise StorageError(f"{uri}: write failed: {error}") from error
        return
    _write_local_atomic(local_path(uri), data, exclusive=True)


def write_text(uri: str, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
    write_bytes(uri, text.encode("utf-8"), content_type)


def exists(uri: str) -> bool:
    if is_s3(uri):
        loc = parse_s3(uri)
        try:
            s3_client().head_object(Bucket=loc.bucket, Key=loc.key)
        except Exception as error:
            if _s3_missing(error):
                return False
            raise StorageError(f"{uri}: head failed: {error}") from error
        return True
    return local_path(uri).exists()


def prefix_exists(uri: str) -> bool:
    """True when any object/file lives under `uri/` (an S3 'directory' or a local directory)."""
    return next(iter(list_uris(uri)), None) is not None


def list_uris(prefix_uri: str) -> Iterator[str]:
    """Every object/file under a prefix (recursively), sorted by key/path for determinism."""
    if is_s3(prefix_uri):
        loc = parse_s3(prefix_uri)
        prefix = loc.key.rstrip("/") + "/" if loc.key else ""
        keys: list[str] = []
        paginator = s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=loc.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        for key in sorted(keys):
            yield f"s3://{loc.bucket}/{key}"
        return
    root = local_path(prefix_uri)
    if not root.is_dir():
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        yield str(path)


def read_jsonl(uri: str) -> list[dict[str, Any]]:
    """Parse a JSONL file; a bad line raises StorageError naming the URI and line number."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(read_text(uri).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise StorageError(f"{uri}:{number}: invalid JSON ({error.msg})") from error
        if not isinstance(row, dict):
            raise StorageError(f"{uri}:{number}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def dumps_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    """Deterministic JSONL: sorted keys, compact separators, UTF-8 kept, one trailing newline."""
    return "".join(
        json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
    )


def write_jsonl(uri: str, rows: Iterable[dict[str, Any]]) -> None:
    write_text(uri, dumps_jsonl(rows), content_type="application/x-ndjson")


def read_json(uri: str) -> Any:
    try:
        return json.loads(read_text(uri))
    except json.JSONDecodeError as error:
        raise StorageError(f"{uri}: invalid JSON ({error.msg} at line {error.lineno})") from error


def dumps_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_json(uri: str, value: Any) -> None:
    write_text(uri, dumps_json(value), content_type="application/json")


# --- streaming (datasets far larger than memory) --------------------------------------------------


def iter_lines(uri: str) -> Iterator[str]:
    """The lines of a UTF-8 text object/file, one at a time (without the newline); memory stays flat."""
    if is_s3(uri):
        loc = parse_s3(uri)
        try:
            body = s3_client().get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
        except Exception as error:
            if _s3_missing(error):
                raise StorageError(f"{uri}: no such object") from error
            raise StorageError(f"{uri}: read failed: {error}") from error
        number = 0
        for raw in body.iter_lines(chunk_size=1 << 20, keepends=False):
            number += 1
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise StorageError(f"{uri}:{number}: not UTF-8 text ({error})") from error
        return
    path = local_path(uri)
    try:
        handle = path.open("r", encoding="utf-8", newline="\n")
    except FileNotFoundError as error:
        raise StorageError(f"{uri}: no such file") from error
    with handle:
        number = 0
        try:
            for line in handle:
                number += 1
                yield line[:-1] if line.endswith("\n") else line
        except UnicodeDecodeError as error:
            raise StorageError(f"{uri}:{number + 1}: not UTF-8 text ({error})") from error


def iter_jsonl(uri: str) -> Iterator[dict[str, Any]]:
    """`read_jsonl`, streamed: one object at a time; a bad line raises StorageError naming URI and line."""
    for number, line in enumerate(iter_lines(uri), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise StorageError(f"{uri}:{number}: invalid JSON ({error.msg})") from error
        if not isinstance(row, dict):
            raise StorageError(f"{uri}:{number}: expected a JSON object, got {type(row).__name__}")
        yield row


def dumps_row(row: dict[str, Any]) -> str:
    """One line of `dumps_jsonl` (same bytes, so streamed and in-memory writers agree)."""
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def put_file(
    uri: str, path: Path, content_type: str = "application/octet-stream", *, if_absent: bool = False
) -> None:
    """Upload a local file to `uri` without reading it into memory (S3: one streamed PUT, up to 5 GB).

    `if_absent` makes it create-only (`If-None-Match: *` on S3, a hard link locally): AlreadyExistsError.
    """
    if is_s3(uri):
        loc = parse_s3(uri)
        extra: dict[str, Any] = {"IfNoneMatch": "*"} if if_absent else {}
        try:
            with path.open("rb") as body:
                s3_client().put_object(
                    Bucket=loc.bucket, Key=loc.key, Body=body, ContentType=content_type, **extra
                )
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            if code in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                raise AlreadyExistsError(f"{uri}: already exists") from error
            raise StorageError(f"{uri}: write failed: {error}") from error
        return
    target = local_path(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        _copy_file(path, Path(tmp))
        if if_absent:
            try:
                os.link(tmp, target)
            except FileExistsError as error:
                raise AlreadyExistsError(f"{target}: already exists") from error
        else:
            os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _copy_file(source: Path, target: Path) -> None:
    import shutil

    with source.open("rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def list_objects(prefix_uri: str) -> Iterator[tuple[str, str]]:
    """(uri, version tag) of every object under a prefix, sorted: the S3 ETag, or a local file's sha256.

    The tag changes when the content changes, so a reader can remember which objects it already read.
    """
    if is_s3(prefix_uri):
        loc = parse_s3(prefix_uri)
        prefix = loc.key.rstrip("/") + "/" if loc.key else ""
        found: list[tuple[str, str]] = []
        paginator = s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=loc.bucket, Prefix=prefix):
            found.extend(
                (f"s3://{loc.bucket}/{obj['Key']}", str(obj.get("ETag", "")).strip('"'))
                for obj in page.get("Contents", [])
            )
        yield from sorted(found)
        return
    import hashlib

    for uri in list_uris(prefix_uri):
        digest = hashlib.sha256()
        with open(uri, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        yield uri, "sha256:" + digest.hexdigest()
