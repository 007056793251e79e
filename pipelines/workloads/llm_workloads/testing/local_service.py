"""One Anyscale service version played locally: an OpenAI-compatible server whose models follow a scenario.

The Anyscale API emulator (local/anyscale-emulator) starts one of these per service version:

    python -m llm_workloads.testing.local_service --port 0 --version V [--model-id M] [--scenario FILE]
        [--alias NAME=ADAPTER] [--never-healthy]
    python -m llm_workloads.testing.local_service --check --scenario FILE   # validate only (exit 0 or 2)

It prints `local service listening on http://127.0.0.1:<port>` once it serves `POST /v1/chat/completions`,
`GET /v1/models` and `GET /-/healthz` (503 with --never-healthy, a replica that never gets healthy).

A request for model `<model-id>:<adapter>` is answered as the scenario scripts that adapter; `<model-id>`
alone is the base model. With `--alias NAME=ADAPTER` (the version's stable model name,
`llm_workloads.serving`) a request for `NAME` is answered as `<model-id>:ADAPTER`, and that id is what the
answer echoes. The answer to a test item is its reference representation (looked up by the item's sentence
in the scenario's reference records) or, for the items the model gets wrong, a deterministic near miss;
which items are right is chosen by a stable hash of the model id and the item text
(`stand_ins.StandInResponder`), so a run is reproducible. Items found in no reference get a prose answer
(wrong).

Scenario file (JSON; re-read when it changes, so one running stack can play several scenarios):

    {
      "references": ["s3://bucket/datasets/", "/abs/path/test.jsonl"],
      "default": {"accuracy": 0.5},
      "base_model": {"accuracy": 0.1, "prose_when_wrong": true},
      "adapters": {"champion-*": {"accuracy": 0.7}, "challenger-*": {"accuracy": 0.85}}
    }

* `references`: record files (JSONL chat records) or prefixes/directories whose `*.jsonl` files are read
  (S3 through `AWS_ENDPOINT_URL`, e.g. the local moto server). Re-read, at most once a second, when an
  item is asked that no reference holds (the data update may write the test split after start-up).
* `adapters`: adapter name or fnmatch pattern -> behaviour; an exact name wins, then the first matching
  pattern in file order. Adapters absent from it get `default` (accuracy 0.5 when absent).
* behaviour: `accuracy` (zero- and few-shot), or `zero_shot_accuracy` / `few_shot_accuracy`, each in
  [0, 1]; `prose_when_wrong` (bool) answers wrong zero-shot items in prose, as base chat models do.

Every answer is STAND-IN: it says nothing about any real model.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_workloads import storage
from llm_workloads.testing.server import Action, ChatRequest, HttpError, Reply, start
from llm_workloads.testing.stand_ins import StandInModel, StandInResponder

DEFAULT_ACCURACY = 0.5
RELOAD_INTERVAL_S = 1.0


class ScenarioError(ValueError):
    """A scenario file that cannot be used (the message names the file and the field)."""


@dataclass(frozen=True)
class Behaviour:
    zero_shot_accuracy: float
    few_shot_accuracy: float
    prose_when_wrong: bool = False


@dataclass(frozen=True)
class Scenario:
    references: tuple[str, ...] = ()
    default: Behaviour = Behaviour(DEFAULT_ACCURACY, DEFAULT_ACCURACY)
    base_model: Behaviour | None = None
    adapters: tuple[tuple[str, Behaviour], ...] = ()

    def behaviour(self, adapter: str | None) -> Behaviour:
        if adapter is None:
            return self.base_model or self.default
        for name, behaviour in self.adapters:
            if name == adapter:
                return behaviour
        for name, behaviour in self.adapters:
            if fnmatch.fnmatchcase(adapter, name):
                return behaviour
        return self.default


def _share(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ScenarioError(f"{where}: must be a number in [0, 1], got {value!r}")
    return float(value)


def _behaviour(raw: Any, where: str) -> Behaviour:
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"{where}: must be an object")
    unknown = sorted(set(raw) - {"accuracy", "zero_shot_accuracy", "few_shot_accuracy", "prose_when_wrong"})
    if unknown:
        raise ScenarioError(f"{where}: unknown fields {unknown}")
    both = raw.get("accuracy")
    if both is None and ("zero_shot_accuracy" not in raw or "few_shot_accuracy" not in raw):
        raise ScenarioError(f"{where}: give accuracy, or both zero_shot_accuracy and few_shot_accuracy")
    zero = raw.get("zero_shot_accuracy", both)
    few = raw.get("few_shot_accuracy", both)
    prose = raw.get("prose_when_wrong", False)
    if not isinstance(prose, bool):
        raise ScenarioError(f"{where}.prose_when_wrong: must be true or false")
    return Behaviour(
        _share(zero, f"{where}.zero_shot_accuracy"), _share(few, f"{where}.few_shot_accuracy"), prose
    )


def parse_scenario(raw: Any, source: str) -> Scenario:
    """Validate a decoded scenario document; `source` names the file in every error."""
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"{source}: the scenario must be a JSON object")
    unknown = sorted(set(raw) - {"references", "default", "base_model", "adapters", "description"})
    if unknown:
        raise ScenarioError(f"{source}: unknown fields {unknown}")
    references = raw.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) and r for r in references):
        raise ScenarioError(f"{source}: references: must be a list of non-empty strings")
    adapters = raw.get("adapters", {})
    if not isinstance(adapters, Mapping):
        raise ScenarioError(f"{source}: adapters: must be an object of adapter name -> behaviour")
    return Scenario(
        references=tuple(references),
        default=_behaviour(raw["default"], f"{source}: default") if "default" in raw else Scenario.default,
        base_model=_behaviour(raw["base_model"], f"{source}: base_model") if "base_model" in raw else None,
        adapters=tuple(
            (str(name), _behaviour(value, f"{source}: adapters.{name}")) for name, value in adapters.items()
        ),
    )


def load_scenario(path: str) -> Scenario:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read the scenario ({error.strerror})") from error
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from error
    return parse_scenario(raw, path)


def _reference_files(reference: str) -> list[str]:
    if reference.endswith(".jsonl"):
        return [reference]
    return [uri for uri in storage.list_uris(reference) if uri.endswith(".jsonl")]


def read_references(references: Sequence[str]) -> list[dict[str, Any]]:
    """Every chat record under the references; unreadable files are skipped (reported on stderr)."""
    records: list[dict[str, Any]] = []
    for reference in references:
        try:
            files = _reference_files(reference)
        except storage.StorageError as error:
            print(f"local_service: references: {error}", file=sys.stderr)
            continue
        for uri in files:
            try:
                rows = storage.read_jsonl(uri)
            except storage.StorageError as error:
                print(f"local_service: references: {error}", file=sys.stderr)
                continue
            records.extend(r for r in rows if _is_record(r))
    return records


def _is_record(row: Mapping[str, Any]) -> bool:
    messages = row.get("messages")
    return isinstance(messages, list) and len(messages) >= 3 and all(isinstance(m, Mapping) for m in messages)


@dataclass
class ScenarioResponder:
    """Plays every `<model_id>[:<adapter>]` of one service version from a scenario file."""

    model_id: str | None
    scenario_path: str | None
    #: The stable model name of this version and the adapter it means (`llm_workloads.serving`), if any.
    alias: tuple[str, str] | None = None
    _scenario: Scenario = field(default_factory=Scenario)
    _scenario_mtime: float | None = None
    _records: list[dict[str, Any]] = field(default_factory=list)
    _known: set[str] = field(default_factory=set)
    _loaded_at: float = 0.0
    _responders: dict[tuple[str, Behaviour], StandInResponder] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        """Re-read the scenario when its file changed, and the references when asked (rate-limited)."""
        if self.scenario_path is not None:
            mtime = Path(self.scenario_path).stat().st_mtime
            if mtime != self._scenario_mtime:
                self._scenario = load_scenario(self.scenario_path)
                self._scenario_mtime = mtime
                force = True
        if force or time.monotonic() - self._loaded_at >= RELOAD_INTERVAL_S:
            self._records = read_references(self._scenario.references)
            self._known = {str(r["messages"][1].get("content", "")) for r in self._records}
            self._loaded_at = time.monotonic()
            self._responders.clear()

    def _split(self, model: str) -> tuple[str, str | None]:
        base, sep, adapter = model.partition(":")
        return base, (adapter if sep else None)

    def __call__(self, request: ChatRequest) -> Action:
        if self.alias is not None and request.model == self.alias[0]:
            # The stable name is the pinned adapter in every respect: same answers, and the answer names it.
            answer = self._answer(dataclasses.replace(request, model=f"{self.model_id}:{self.alias[1]}"))
            return (
                dataclasses.replace(answer, model=f"{self.model_id}:{self.alias[1]}")
                if isinstance(answer, Reply)
                else answer
            )
        return self._answer(request)

    def _answer(self, request: ChatRequest) -> Action:
        base, adapter = self._split(request.model)
        if self.model_id is not None and base != self.model_id:
            return HttpError(404, f"model {request.model!r} is not served (model id is {self.model_id!r})")
        with self._lock:
            try:
                if request.user_content in self._known:
                    self._refresh_scenario()
                else:
                    self._refresh()  # an item no reference held yet: the test split may be new
            except ScenarioError as error:
                return HttpError(500, str(error))
            behaviour = self._scenario.behaviour(adapter)
            key = (request.model, behaviour)
            responder = self._responders.get(key)
            if responder is None:
                model = StandInModel(
                    request.model,
                    behaviour.zero_shot_accuracy,
                    behaviour.few_shot_accuracy,
                    behaviour.prose_when_wrong,
                )
                responder = self._responders[key] = StandInResponder(self._records, [model])
        return responder(request)

    def _refresh_scenario(self) -> None:
        if (
            self.scenario_path is not None
            and Path(self.scenario_path).stat().st_mtime != self._scenario_mtime
        ):
            self._refresh(force=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llm_workloads.testing.local_service",
        description="A local stand-in for one Anyscale service version (OpenAI-compatible, scripted).",
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--version", default="local", help="the service version's name (for logs)")
    parser.add_argument("--model-id", default=None, help="served model id; default: any")
    parser.add_argument("--scenario", default=None, help="scenario JSON file")
    parser.add_argument(
        "--alias", default=None, metavar="NAME=ADAPTER", help="stable model name and the adapter it means"
    )
    parser.add_argument("--never-healthy", action="store_true", help="GET /-/healthz answers 503")
    parser.add_argument("--check", action="store_true", help="only validate the scenario file (exit 0 or 2)")
    ns = parser.parse_args(argv)
    try:
        if ns.check:
            if ns.scenario is None:
                parser.error("--check needs --scenario")
            load_scenario(ns.scenario)
            return 0
        alias = None
        if ns.alias is not None:
            name, sep, adapter = ns.alias.partition("=")
            if not (sep and name and adapter and ns.model_id):
                parser.error("--alias must be NAME=ADAPTER and needs --model-id")
            alias = (name, adapter)
        responder = ScenarioResponder(ns.model_id, ns.scenario, alias)
    except (ScenarioError, OSError) as error:
        print(f"local_service: {error}", file=sys.stderr)
        return 2
    server = start(responder, port=ns.port, healthy=lambda: not ns.never_healthy)
    print(f"local service {ns.version!r} listening on {server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
