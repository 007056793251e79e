"""Batch evaluation of one or more models behind an OpenAI-compatible endpoint.

    python -m llm_workloads.evaluate --service-name S | --endpoint-url U \\
        --model champion=<base>:<adapter> --model challenger=<base>:<adapter> [--canary | --canary-label L] \\
        --test-uri U --output-uri U [--concurrency N --timeout-s N --max-retries N --max-tokens N --seed N]
        [--few-shot N --few-shot-uri U]

Every model is evaluated on the same test items in the same run, at temperature 0 with bounded
`max_tokens`, so champion and challenger results are paired item by item.

The endpoint URL and bearer token never come from argv: with `--service-name` they are resolved at
run time through the Anyscale SDK (`anyscale.service.status`); otherwise the URL is `--endpoint-url`
or `$LLM_ENDPOINT_URL`, and the token is `$LLM_ENDPOINT_TOKEN` or the content of the file named by
`$LLM_ENDPOINT_TOKEN_FILE` (a mounted secret).

Output layout under `--output-uri` (use one output URI per pipeline run):

    <output>/<label>/<settings_key>/items.jsonl   one scored line per test item, in test-file order
    <output>/<label>/<settings_key>/results.json  settings, metrics, per-act figures (written last)
    <output>/<label>.json                          pointer: {label, model, settings_key, results_uri}

`settings_key` hashes everything that changes the answers: model id (base + adapter), endpoint and
route (canary or primary), test-data hash, prompt version and few-shot examples, decoding
parameters. Results of different settings therefore never overwrite each other; complete results
for identical settings are reused (so a retried job does not query twice), and a pointer that
already names different settings is an error rather than being overwritten.

Exit status: 0 done; 2 bad arguments or input (nothing queried, nothing written); 1 a model had
every request fail (its results are still written, for the record) or storage failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_workloads import storage
from llm_workloads.metrics import aggregate, per_act, score_item
from llm_workloads.mr import MeaningRepresentation, ParseOk, parse_mr
from llm_workloads.openai_client import Completion, Endpoint, RetryPolicy, run_completions
from llm_workloads.prompts import build_messages, prompt_version, select_few_shot
from llm_workloads.records import record_problems
from llm_workloads.splits import group_key

# 2: items carry order_insensitive_match, strict_exact_match and group (was exact_match). Part of the
# settings key, so results written under version 1 are never reused as if they had these columns.
RESULTS_SCHEMA_VERSION = 2
TEMPERATURE = 0.0
TOP_P = 1.0
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


class EvaluationInputError(Exception):
    """Bad arguments or input data; the message names the field or file."""


@dataclass(frozen=True)
class ModelSpec:
    label: str
    model: str
    canary: bool = False

    @property
    def base_model(self) -> str:
        return self.model.split(":", 1)[0]

    @property
    def adapter(self) -> str | None:
        parts = self.model.split(":", 1)
        return parts[1] if len(parts) == 2 and parts[1] else None


@dataclass(frozen=True)
class TestItem:
    item_id: str
    record: Mapping[str, Any]
    reference: MeaningRepresentation


@dataclass(frozen=True)
class ResolvedEndpoint:
    url: str
    token: str | None = field(repr=False)
    identity: Mapping[str, str]  # what goes into the settings: service name or URL, never the token


@dataclass(frozen=True)
class EvalOptions:
    concurrency: int = 8
    timeout_s: float = 60.0
    max_retries: int = 3
    max_tokens: int = 256
    seed: int = 42
    few_shot: int = 0
    few_shot_uri: str | None = None
    backoff_base_s: float = 0.5

    def validate(self) -> None:
        checks = {
            "--concurrency": self.concurrency >= 1,
            "--timeout-s": self.timeout_s > 0,
            "--max-retries": self.max_retries >= 0,
            "--max-tokens": 1 <= self.max_tokens <= 8192,
            "--few-shot": self.few_shot >= 0,
        }
        for flag, ok in checks.items():
            if not ok:
                raise EvaluationInputError(f"{flag}: value out of range")
        if self.few_shot > 0 and not self.few_shot_uri:
            raise EvaluationInputError("--few-shot-uri: required when --few-shot > 0")


@dataclass(frozen=True)
class ModelResult:
    label: str
    model: str
    settings_key: str
    results_uri: str
    metrics: Mapping[str, float]
    n_items: int
    reused: bool


def slug(model: str) -> str:
    """A path-safe label derived from a model id (`/` and `:` would create nested folders)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[:64] or "model"


def parse_model_arg(text: str) -> tuple[str, str]:
    """`[label=]model_id` -> (label, model_id)."""
    label, sep, model = text.partition("=")
    if not sep:
        label, model = slug(text), text
    model = model.strip()
    if not model or any(c.isspace() for c in model):
        raise EvaluationInputError(f"--model: {text!r} is not a model id")
    if not _LABEL.match(label):
        raise EvaluationInputError(f"--model: label {label!r} must match {_LABEL.pattern}")
    return label, model


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_records(uri: str, what: str) -> tuple[list[tuple[int, dict[str, Any]]], bytes]:
    """Validated chat records with their line numbers, and the raw bytes (for hashing)."""
    try:
        raw = storage.read_bytes(uri)
    except storage.StorageError as error:
        raise EvaluationInputError(f"{what}: {error}") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EvaluationInputError(f"{what}: {uri} is not UTF-8 text (byte {error.start})") from error
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"{uri}:{number}: $: invalid JSON ({error.msg})")
            continue
        # Any non-empty system prompt is accepted: the prompt is part of the data (and of its hash).
        found = record_problems(record, number, expected_system_prompt="")
        problems.extend(p.format(uri) for p in found)
        if not found:
            rows.append((number, record))
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise EvaluationInputError(f"{what}: {len(problems)} invalid record(s):\n  {shown}{more}")
    if not rows:
        raise EvaluationInputError(f"{what}: {uri} holds no records")
    return rows, raw


def load_test_items(uri: str) -> tuple[list[TestItem], str]:
    """Test items in file order, and the sha256 of the file's bytes."""
    rows, raw = load_records(uri, "--test-uri")
    items: list[TestItem] = []
    seen: set[str] = set()
    for number, record in rows:
        item_id = str(record.get("id") or f"line-{number}")
        if item_id in seen:
            raise EvaluationInputError(f"--test-uri: {uri}:{number}: id: duplicate item id {item_id!r}")
        seen.add(item_id)
        parsed = parse_mr(record["messages"][2]["content"])
        assert isinstance(parsed, ParseOk)  # record_problems already rejected unparseable targets
        items.append(TestItem(item_id, record, parsed.value))
    return items, "sha256:" + sha256_hex(raw)


def read_token(env: Mapping[str, str]) -> str | None:
    token = env.get("LLM_ENDPOINT_TOKEN")
    if token:
        return token.strip()
    token_file = env.get("LLM_ENDPOINT_TOKEN_FILE")
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as handle:
                return handle.read().strip() or None
        except OSError as error:
            raise EvaluationInputError(
                f"LLM_ENDPOINT_TOKEN_FILE: cannot read {token_file}: {error.strerror}"
            ) from error
    return None


def resolve_endpoint(
    service_name: str | None, endpoint_url: str | None, need_canary: bool, env: Mapping[str, str]
) -> ResolvedEndpoint:
    """URL and token: from the Anyscale SDK for a service name, else from the URL flag/env and env token."""
    if service_name:
        import anyscale  # lazy: only needed inside Anyscale

        try:
            status = anyscale.service.status(name=service_name)
        except Exception as error:  # the SDK raises plain exceptions (not found, auth, network)
            raise EvaluationInputError(
                f"--service-name: cannot read the status of service {service_name!r}: "
                f"{type(error).__name__}: {error}"
            ) from error
        if not status.query_url:
            raise EvaluationInputError(
                f"--service-name: service {service_name!r} has no query URL (state {status.state})"
            )
        if need_canary and status.canary_version is None:
            raise EvaluationInputError(
                f"--canary: service {service_name!r} has no canary version "
                "(the challenger is not deployed as a silent canary)"
            )
        return ResolvedEndpoint(status.query_url, status.query_auth_token, {"service": service_name})
    url = endpoint_url or env.get("LLM_ENDPOINT_URL")
    if not url:
        raise EvaluationInputError("endpoint: give --service-name, --endpoint-url or $LLM_ENDPOINT_URL")
    if not re.match(r"https?://[^\s/]+", url):
        raise EvaluationInputError(f"--endpoint-url: {url!r} is not an http(s) URL")
    if "@" in url.split("//", 1)[1].split("/", 1)[0]:
        raise EvaluationInputError(
            "--endpoint-url: credentials in the URL are not allowed; use $LLM_ENDPOINT_TOKEN"
        )
    return ResolvedEndpoint(url.rstrip("/"), read_token(env), {"url": url.rstrip("/")})


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def build_settings(
    spec: ModelSpec,
    endpoint: ResolvedEndpoint,
    test_uri: str,
    data_hash: str,
    items: Sequence[TestItem],
    examples: Sequence[Mapping[str, Any]],
    few_shot_hash: str | None,
    options: EvalOptions,
) -> dict[str, Any]:
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "model": spec.model,
        "base_model": spec.base_model,
        "adapter": spec.adapter,
        "endpoint": {**endpoint.identity, "route": "canary" if spec.canary else "primary"},
        "data": {
            "test_uri": test_uri,
            "data_hash": data_hash,
            "n_items": len(items),
            "item_ids_sha256": sha256_hex("\n".join(i.item_id for i in items).encode()),
        },
        "prompt": {
            "version": prompt_version(len(examples)),
            "few_shot": len(examples),
            "few_shot_uri": options.few_shot_uri if examples else None,
            "few_shot_data_hash": few_shot_hash if examples else None,
            "few_shot_examples_sha256": [
                sha256_hex(canonical_json(e["messages"]).encode()) for e in examples
            ],
        },
        "decoding": {
            "temperature": TEMPERATURE,
            "top_p": TOP_P,
            "max_tokens": options.max_tokens,
            "seed": options.seed,
        },
    }


def settings_key(settings: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json(settings).encode())[:16]


def request_bodies(
    spec: ModelSpec, items: Sequence[TestItem], examples: Sequence[Mapping[str, Any]], options: EvalOptions
) -> list[dict[str, Any]]:
    return [
        {
            "model": spec.model,
            "messages": build_messages(item.record, examples),
            "temperature": TEMPERATURE,
            "top_p": TOP_P,
            "max_tokens": options.max_tokens,
            "seed": options.seed,
            "stream": False,
        }
        for item in items
    ]


def item_rows(items: Sequence[TestItem], completions: Sequence[Completion]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item, completion in zip(items, completions, strict=True):
        reference_text = item.record["messages"][2]["content"]
        score = score_item(item.reference, completion.content if completion.ok else None, reference_text)
        rows.append(
            {
                "id": item.item_id,
                "reference": reference_text,
                "reference_act": item.reference.act,
                # The meaning group (the split key): paraphrases of one representation share it, and
                # the comparison resamples these groups, not items, because their scores are correlated.
                "group": group_key(item.reference),
                "output": completion.content,
                "error": completion.error,
                "attempts": completion.attempts,
                "finish_reason": completion.finish_reason,
                **score.to_dict(),
            }
        )
    return rows


def results_document(
    spec: ModelSpec, settings: Mapping[str, Any], key: str, rows: Sequence[Mapping[str, Any]], items_text: str
) -> dict[str, Any]:
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "label": spec.label,
        "model": spec.model,
        "settings": dict(settings),
        "settings_key": key,
        "n_items": len(rows),
        "metrics": aggregate(rows),
        "per_act": per_act(rows),
        "counts": {
            "request_failed": sum(1 for r in rows if r["request_failed"]),
            "parse_failed": sum(1 for r in rows if r["parse_failed"]),
            "truncated": sum(1 for r in rows if r["finish_reason"] == "length"),
        },
        "items": "items.jsonl",
        "items_sha256": sha256_hex(items_text.encode("utf-8")),
    }


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def evaluate_models(
    endpoint: ResolvedEndpoint,
    models: Sequence[ModelSpec],
    test_uri: str,
    output_uri: str,
    options: EvalOptions = EvalOptions(),  # noqa: B008 - frozen dataclass, never mutated
) -> list[ModelResult]:
    """Evaluate every model on the same test items; returns where each model's results are."""
    options.validate()
    labels = [m.label for m in models]
    if not models:
        raise EvaluationInputError("--model: at least one model is required")
    if len(set(labels)) != len(labels):
        raise EvaluationInputError(f"--model: labels must be unique, got {labels}")
    items, data_hash = load_test_items(test_uri)
    examples: list[Mapping[str, Any]] = []
    few_shot_hash: str | None = None
    if options.few_shot > 0:
        assert options.few_shot_uri is not None
        pool_rows, pool_raw = load_records(options.few_shot_uri, "--few-shot-uri")
        few_shot_hash = "sha256:" + sha256_hex(pool_raw)
        try:
            examples = select_few_shot(
                (r for _, r in pool_rows), options.few_shot, options.seed, (i.record for i in items)
            )
        except ValueError as error:
            raise EvaluationInputError(f"--few-shot: {error}") from error

    plans: list[tuple[ModelSpec, dict[str, Any], str, str]] = []
    for spec in models:
        settings = build_settings(
            spec, endpoint, test_uri, data_hash, items, examples, few_shot_hash, options
        )
        key = settings_key(settings)
        pointer_uri = storage.join(output_uri, f"{spec.label}.json")
        if storage.exists(pointer_uri):
            pointer = storage.read_json(pointer_uri)
            if not isinstance(pointer, dict) or pointer.get("settings_key") != key:
                raise EvaluationInputError(
                    f"--output-uri: {pointer_uri} already points to other settings "
                    f"({pointer.get('settings_key') if isinstance(pointer, dict) else '?'} != {key}); "
                    "use a fresh --output-uri per run"
                )
        plans.append((spec, settings, key, pointer_uri))

    policy = RetryPolicy(options.timeout_s, options.max_retries, options.backoff_base_s)
    results: list[ModelResult] = []
    for spec, settings, key, pointer_uri in plans:
        result_dir = storage.join(output_uri, spec.label, key)
        results_uri = storage.join(result_dir, "results.json")
        reused = storage.exists(results_uri)
        if reused:
            _log(
                f"{spec.label}: complete results with identical settings exist at {result_dir}; reusing them"
            )
            document = storage.read_json(results_uri)
        else:
            route = settings["endpoint"]["route"]
            _log(f"{spec.label}: querying {spec.model} on {len(items)} items (route {route})")
            routed = Endpoint(endpoint.url, endpoint.token, canary=spec.canary)
            completions = run_completions(
                routed,
                request_bodies(spec, items, examples, options),
                concurrency=options.concurrency,
                policy=policy,
                seed=options.seed,
            )
            rows = item_rows(items, completions)
            items_text = storage.dumps_jsonl(rows)
            storage.write_text(storage.join(result_dir, "items.jsonl"), items_text, "application/x-ndjson")
            document = results_document(spec, settings, key, rows, items_text)
            try:
                storage.put_if_absent(results_uri, storage.dumps_json(document).encode(), "application/json")
            except storage.AlreadyExistsError:
                document = storage.read_json(results_uri)  # a concurrent identical run finished first
        storage.write_json(
            pointer_uri,
            {"label": spec.label, "model": spec.model, "settings_key": key, "results_uri": result_dir},
        )
        metrics = document["metrics"]
        shown = (
            "order_insensitive_match",
            "strict_exact_match",
            "act_accuracy",
            "slot_value_f1",
            "request_failure_rate",
            "parse_failure_rate",
        )
        figures = " ".join(f"{name}={metrics[name]:.4f}" for name in shown)
        _log(f"{spec.label}: {figures} -> {result_dir}")
        results.append(
            ModelResult(spec.label, spec.model, key, result_dir, metrics, document["n_items"], reused)
        )
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m llm_workloads.evaluate",
        description="Evaluate models behind an OpenAI-compatible endpoint on VIGGO-style test data.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--service-name", help="Anyscale service name (URL and token resolved via the SDK)")
    where.add_argument("--endpoint-url", help="service root URL (token from $LLM_ENDPOINT_TOKEN[_FILE])")
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="[LABEL=]MODEL",
        help="model id to query (repeatable)",
    )
    parser.add_argument(
        "--canary", action="store_true", help="route every model to the service's canary version"
    )
    parser.add_argument(
        "--canary-label",
        action="append",
        default=[],
        metavar="LABEL",
        help="route only this label to the canary",
    )
    parser.add_argument("--test-uri", required=True)
    parser.add_argument("--output-uri", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout-s", type=float, default=60.0)
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--few-shot", type=int, default=0, help="number of solved examples in the prompt")
    parser.add_argument(
        "--few-shot-uri", help="chat-format JSONL to draw few-shot examples from (e.g. train)"
    )
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    environment = os.environ if env is None else env
    try:
        parsed = [parse_model_arg(m) for m in args.model]
        unknown = sorted(set(args.canary_label) - {label for label, _ in parsed})
        if unknown:
            raise EvaluationInputError(f"--canary-label: no --model has label(s) {unknown}")
        models = [
            ModelSpec(label, model, canary=args.canary or label in args.canary_label)
            for label, model in parsed
        ]
        options = EvalOptions(
            concurrency=args.concurrency,
            timeout_s=args.timeout_s,
            max_retries=args.max_retries,
            max_tokens=args.max_tokens,
            seed=args.seed,
            few_shot=args.few_shot,
            few_shot_uri=args.few_shot_uri,
        )
        options.validate()
        endpoint = resolve_endpoint(
            args.service_name, args.endpoint_url, any(m.canary for m in models), environment
        )
        results = evaluate_models(endpoint, models, args.test_uri, args.output_uri, options)
    except EvaluationInputError as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    except storage.StorageError as error:
        print(f"evaluate: storage error: {error}", file=sys.stderr)
        return 1
    dead = [r.label for r in results if r.metrics["request_failure_rate"] >= 1.0]
    if dead:
        print(
            f"evaluate: error: every request failed for {dead}; the endpoint is unreachable or misconfigured "
            "(results written; see the 'error' field in items.jsonl)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
