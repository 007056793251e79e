"""`llm_workloads.evaluate` end to end against a real HTTP server on 127.0.0.1 answering scripted outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from llm_workloads import evaluate
from llm_workloads.testing.server import Hang, HttpError, RawBody, Reply, ScriptedResponder, serve

WriteRecords = Callable[..., list[dict]]
MODEL = "mistralai/Mistral-7B-Instruct-v0.1:viggo-v2"
TOKEN = "s3cr3t-token-value"
PREFIX = "Here is the target sentence:\n"

# (sentence, reference, scripted actions)
SCRIPT = [
    # 1 correct, slots reordered
    (
        "Any terrible games in 2014?",
        "request(release_year[2014], specifier[terrible])",
        [Reply("request(specifier[terrible], release_year[2014])")],
    ),
    # 2 wrong act
    (
        "I think Portal is good.",
        "give_opinion(name[Portal], rating[good])",
        [Reply("inform(name[Portal], rating[good])")],
    ),
    # 3 wrong slot value (platforms), list values reordered
    (
        "Dirt: Showdown is a racing and sport game on PC.",
        "inform(name[Dirt: Showdown], genres[driving/racing, sport], platforms[PC])",
        [Reply("inform(name[Dirt: Showdown], genres[sport, driving/racing], platforms[Xbox])")],
    ),
    # 4 malformed answer
    (
        "So Halo has multiplayer?",
        "confirm(name[Halo], has_multiplayer[yes])",
        [Reply("Sure! The game is Halo.")],
    ),
    # 5 timeout on every attempt
    ("Try Tetris on Nintendo.", "suggest(name[Tetris], platforms[Nintendo])", [Hang(30)]),
    # 6 5xx on every attempt
    (
        "Is Doom a poor M-rated game?",
        "verify_attribute(name[Doom], rating[poor], esrb[M (for Mature)])",
        [HttpError(500)],
    ),
    # 7 one 503, then an answer with an extra slot (the retry succeeds)
    (
        "SimCity is by Maxis.",
        "inform(name[SimCity], developer[Maxis])",
        [HttpError(503), Reply("inform(name[SimCity], developer[Maxis], rating[good])")],
    ),
]


def scripted(model: str = MODEL) -> ScriptedResponder:
    return ScriptedResponder({(model, PREFIX + s): actions for s, _, actions in SCRIPT})


def run_eval(tmp_path: Path, url: str, *extra: str, env: dict[str, str] | None = None) -> int:
    return evaluate.main(
        [
            "--endpoint-url", url,
            "--model", f"challenger={MODEL}",
            "--test-uri", str(tmp_path / "test.jsonl"),
            "--output-uri", str(tmp_path / "out"),
            "--timeout-s", "0.3", "--max-retries", "1", "--max-tokens", "64", "--concurrency", "4",
            *extra,
        ],
        env={"LLM_ENDPOINT_TOKEN": TOKEN} if env is None else env,
    )  # fmt: skip


def load_outputs(tmp_path: Path, label: str = "challenger") -> tuple[dict, list[dict]]:
    pointer = json.loads((tmp_path / "out" / f"{label}.json").read_text())
    results_dir = Path(pointer["results_uri"])
    results = json.loads((results_dir / "results.json").read_text())
    items = [json.loads(line) for line in (results_dir / "items.jsonl").read_text().splitlines()]
    return results, items


def test_scripted_set_gives_hand_computed_metrics(tmp_path: Path, write_records: WriteRecords) -> None:
    write_records(tmp_path / "test.jsonl", [(s, mr) for s, mr, _ in SCRIPT])
    with serve(scripted(), token=TOKEN) as server:
        assert run_eval(tmp_path, server.url) == 0
        requests = list(server.requests)
    results, items = load_outputs(tmp_path)
    m = results["metrics"]
    n = 7  # failed and unparseable items stay in every denominator
    # exact: only item 1 -> 1/7. act correct: items 1, 3, 7 -> 3/7. name sets equal: items 1, 2, 3 -> 3/7.
    assert m["order_insensitive_match"] == pytest.approx(1 / n)
    assert m["act_accuracy"] == pytest.approx(3 / n)
    assert m["slot_name_set_accuracy"] == pytest.approx(3 / n)
    # slot names per item (tp, fp, fn): (2,0,0) (2,0,0) (3,0,0) (0,0,2) (0,0,2) (0,0,3) (2,1,0)
    #   -> tp 9, fp 1, fn 7: P 9/10, R 9/16, F1 = 18 / (18 + 1 + 7) = 18/26
    assert m["slot_name_precision"] == pytest.approx(9 / 10)
    assert m["slot_name_recall"] == pytest.approx(9 / 16)
    assert m["slot_name_f1"] == pytest.approx(18 / 26)
    # (slot, value) pairs: (2,0,0) (2,0,0) (3,1,1) (0,0,2) (0,0,2) (0,0,3) (2,1,0)
    #   -> tp 9, fp 2, fn 8: P 9/11, R 9/17, F1 = 18 / (18 + 2 + 8) = 18/28
    assert m["slot_value_precision"] == pytest.approx(9 / 11)
    assert m["slot_value_recall"] == pytest.approx(9 / 17)
    assert m["slot_value_f1"] == pytest.approx(18 / 28)
    assert m["parse_failure_rate"] == pytest.approx(1 / n)  # item 4
    assert m["request_failure_rate"] == pytest.approx(2 / n)  # items 5 (timeout) and 6 (500)
    assert results["counts"] == {"request_failed": 2, "parse_failed": 1, "truncated": 0}

    assert [i["id"] for i in items] == [f"item-{k}" for k in range(1, 8)]
    assert [i["attempts"] for i in items] == [1, 1, 1, 1, 2, 2, 2]
    assert items[4]["error"].startswith("timeout after 0.3s") and items[5]["error"].startswith("HTTP 500")
    assert items[3]["parse_error"] and items[3]["output"] == "Sure! The game is Halo."

    # What the server saw: bearer token, temperature 0, bounded max_tokens, the training-format prompt.
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in requests)
    assert all(r.body["temperature"] == 0 and r.body["max_tokens"] == 64 for r in requests)
    assert not any(r.canary for r in requests)
    assert [m["role"] for m in requests[0].messages] == ["system", "user"]
    # The token is in no output file.
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text()


def test_champion_and_challenger_same_run_keyed_and_routed(
    tmp_path: Path, write_records: WriteRecords
) -> None:
    champion = "mistralai/Mistral-7B-Instruct-v0.1:viggo-v1"
    write_records(tmp_path / "test.jsonl", [(s, mr) for s, mr, _ in SCRIPT[:2]])
    script = {(m, PREFIX + s): [Reply(mr)] for s, mr, _ in SCRIPT[:2] for m in (champion, MODEL)}
    with serve(ScriptedResponder(script), token=TOKEN) as server:
        code = evaluate.main(
            ["--endpoint-url", server.url, "--model", f"champion={champion}",
             "--model", f"challenger={MODEL}", "--canary-label", "challenger",
             "--test-uri", str(tmp_path / "test.jsonl"), "--output-uri", str(tmp_path / "out")],
            env={"LLM_ENDPOINT_TOKEN": TOKEN},
        )  # fmt: skip
        assert code == 0
        routes = {(r.model, r.canary) for r in server.requests}
    assert routes == {(champion, False), (MODEL, True)}
    champ, _ = load_outputs(tmp_path, "champion")
    chal, _ = load_outputs(tmp_path, "challenger")
    assert champ["metrics"]["order_insensitive_match"] == chal["metrics"]["order_insensitive_match"] == 1.0
    assert champ["settings"]["data"] == chal["settings"]["data"]
    assert champ["settings_key"] != chal["settings_key"]
    assert chal["settings"]["endpoint"]["route"] == "canary" and chal["settings"]["adapter"] == "viggo-v2"


def test_settings_key_changes_with_every_setting_and_results_are_reused(
    tmp_path: Path, write_records: WriteRecords
) -> None:
    write_records(tmp_path / "test.jsonl", [(s, mr) for s, mr, _ in SCRIPT[:1]])
    with serve(scripted(), token=TOKEN) as server:
        assert run_eval(tmp_path, server.url) == 0
        first, _ = load_outputs(tmp_path)
        # Same settings again: complete results are reused, nothing is queried.
        before = len(server.requests)
        assert run_eval(tmp_path, server.url) == 0
        assert len(server.requests) == before
        # Different decoding into the same output root: refused, the pointer is not overwritten.
        assert run_eval(tmp_path, server.url, "--max-tokens", "128") == 2
        # ... but into a new root it is a new settings key.
        assert evaluate.main(
            ["--endpoint-url", server.url, "--model", f"challenger={MODEL}", "--test-uri",
             str(tmp_path / "test.jsonl"), "--output-uri", str(tmp_path / "out2"), "--max-tokens", "128"],
            env={"LLM_ENDPOINT_TOKEN": TOKEN},
        ) == 0  # fmt: skip
    second = json.loads((tmp_path / "out2" / "challenger.json").read_text())
    assert second["settings_key"] != first["settings_key"]
    assert (
        json.loads((tmp_path / "out" / "challenger.json").read_text())["settings_key"]
        == first["settings_key"]
    )


def test_wrong_token_means_every_request_fails_and_exit_1(
    tmp_path: Path, write_records: WriteRecords, capsys: pytest.CaptureFixture
) -> None:
    write_records(tmp_path / "test.jsonl", [(s, mr) for s, mr, _ in SCRIPT[:2]])
    with serve(scripted(), token=TOKEN) as server:
        assert run_eval(tmp_path, server.url, env={"LLM_ENDPOINT_TOKEN": "wrong"}) == 1
    results, items = load_outputs(tmp_path)
    assert results["metrics"]["request_failure_rate"] == 1.0
    assert {i["error"] for i in items} == {"HTTP 401"}  # 401 is not retried
    assert "every request failed" in capsys.readouterr().err


def test_token_file_secret_and_global_canary(tmp_path: Path, write_records: WriteRecords) -> None:
    write_records(tmp_path / "test.jsonl", [(s, mr) for s, mr, _ in SCRIPT[:1]])
    (tmp_path / "token").write_text(TOKEN + "\n")
    with serve(scripted(), token=TOKEN) as server:
        env = {"LLM_ENDPOINT_TOKEN_FILE": str(tmp_path / "token")}
        assert run_eval(tmp_path, server.url, "--canary", env=env) == 0
        assert [r.canary for r in server.requests] == [True]
    results, _ = load_outputs(tmp_path)
    assert results["settings"]["endpoint"]["route"] == "canary"


def test_token_is_never_accepted_on_the_command_line(tmp_path: Path, write_records: WriteRecords) -> None:
    with pytest.raises(SystemExit) as exited:
        evaluate.main(["--endpoint-url", "http://127.0.0.1:1", "--model", MODEL, "--token", TOKEN,
                       "--test-uri", "x", "--output-uri", "y"], env={})  # fmt: skip
    assert exited.value.code == 2
    code = evaluate.main(
        ["--endpoint-url", f"http://user:{TOKEN}@127.0.0.1:1", "--model", MODEL, "--test-uri",
         str(tmp_path / "t.jsonl"), "--output-uri", str(tmp_path / "o")], env={},
    )  # fmt: skip
    assert code == 2


def test_bad_test_file_names_file_and_line_and_writes_nothing(
    tmp_path: Path, write_records: WriteRecords, capsys: pytest.CaptureFixture
) -> None:
    records = write_records(tmp_path / "test.jsonl", [(s, mr) for s, mr, _ in SCRIPT[:2]])
    records[1]["messages"][2]["content"] = "inform(name[Portal]"
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert run_eval(tmp_path, "http://127.0.0.1:9") == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'test.jsonl'}:2: messages[2].content" in err
    assert not (tmp_path / "out").exists()


def test_malformed_response_body_and_retry_after(tmp_path: Path, write_records: WriteRecords) -> None:
    write_records(tmp_path / "test.jsonl", [(s, mr) for s, mr, _ in SCRIPT[:2]])
    script = {
        (MODEL, PREFIX + SCRIPT[0][0]): [RawBody(b"{not json")],
        (MODEL, PREFIX + SCRIPT[1][0]): [HttpError(429, retry_after_s=0.05), Reply(SCRIPT[1][1])],
    }
    with serve(ScriptedResponder(script), token=TOKEN) as server:
        assert run_eval(tmp_path, server.url) == 0
    _, items = load_outputs(tmp_path)
    assert items[0]["error"] == "response body is not JSON" and items[0]["attempts"] == 1
    assert items[1]["order_insensitive_match"] is True and items[1]["attempts"] == 2


def test_service_name_resolves_url_and_token_through_the_anyscale_sdk(
    tmp_path: Path, write_records: WriteRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyscale
    from anyscale.service.models import ServiceState, ServiceStatus

    write_records(tmp_path / "test.jsonl", [(s, mr) for s, mr, _ in SCRIPT[:1]])
    with serve(scripted(), token=TOKEN) as server:
        calls: list[str] = []

        def fake_status(name: str, **_: object) -> ServiceStatus:
            calls.append(name)
            return ServiceStatus(
                id="service-1", name=name, state=ServiceState.RUNNING, query_url=server.url,
                query_auth_token=TOKEN, creator=None, primary_version=None, canary_version=None,
                project=None, versions=None,
            )  # fmt: skip

        monkeypatch.setattr(anyscale.service, "status", fake_status)
        args = ["--service-name", "viggo-llm", "--model", MODEL, "--test-uri", str(tmp_path / "test.jsonl")]
        assert evaluate.main([*args, "--output-uri", str(tmp_path / "out")], env={}) == 0
        # --canary needs a canary version: this service has none, so the run is refused before any request.
        assert evaluate.main([*args, "--canary", "--output-uri", str(tmp_path / "out3")], env={}) == 2
    assert calls == ["viggo-llm", "viggo-llm"]

    def missing(name: str, **_: object) -> ServiceStatus:
        raise RuntimeError(f"Service with name '{name}' was not found.")

    monkeypatch.setattr(anyscale.service, "status", missing)
    assert evaluate.main([*args, "--output-uri", str(tmp_path / "out4")], env={}) == 2
    assert not (tmp_path / "out4").exists()
    pointer = json.loads((tmp_path / "out" / f"{evaluate.slug(MODEL)}.json").read_text())
    settings = json.loads((Path(pointer["results_uri"]) / "results.json").read_text())["settings"]
    assert settings["endpoint"] == {"service": "viggo-llm", "route": "primary"}


def test_viggo_sample_perfect_model_scores_one(
    tmp_path: Path, write_records: WriteRecords, viggo_records: list[dict]
) -> None:
    records = viggo_records[:60]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    script = {(MODEL, r["messages"][1]["content"]): [Reply(r["messages"][2]["content"])] for r in records}
    with serve(ScriptedResponder(script)) as server:
        assert run_eval(tmp_path, server.url, env={}) == 0
    results, items = load_outputs(tmp_path)
    assert len(items) == 60 and items[0]["id"] == "line-1"
    assert all(v == 1.0 for k, v in results["metrics"].items() if not k.endswith("failure_rate"))
