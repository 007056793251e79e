"""Few-shot selection (reproducible, no test leakage) and the package's light imports."""

from __future__ import annotations

import subprocess
import sys

import pytest
from llm_workloads.prompts import build_messages, select_few_shot
from llm_workloads.records import make_record


def test_few_shot_excludes_test_sentences_and_test_representations() -> None:
    test = [make_record("Portal is great.", "give_opinion(name[Portal], rating[excellent])")]
    pool = [
        make_record(
            "Portal is great.", "give_opinion(name[Portal], rating[excellent])"
        ),  # the test item itself
        make_record(
            "I love Portal.", "give_opinion(name[Portal], rating[excellent])"
        ),  # paraphrase: same target
        make_record("Doom is from 1993.", "inform(name[Doom], release_year[1993])"),
        make_record("Doom came out in 1993.", "inform(name[Doom], release_year[1993])"),
        make_record("Is Tetris on Nintendo?", "verify_attribute(name[Tetris], platforms[Nintendo])"),
    ]
    chosen = select_few_shot(pool, 2, seed=1, test_records=test)
    targets = [r["messages"][2]["content"] for r in chosen]
    assert sorted(targets) == [
        "inform(name[Doom], release_year[1993])",
        "verify_attribute(name[Tetris], platforms[Nintendo])",
    ]
    assert select_few_shot(pool, 2, seed=1, test_records=test) == chosen  # reproducible
    with pytest.raises(ValueError, match="only 2 usable"):
        select_few_shot(pool, 3, seed=1, test_records=test)

    messages = build_messages(test[0], chosen)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert messages[-1]["content"] == test[0]["messages"][1]["content"]


def test_package_imports_without_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "import llm_workloads.evaluate, llm_workloads.compare, llm_workloads.report, llm_workloads.metrics\n"
        "import llm_workloads.airflow_tasks.decision, llm_workloads.openai_client\n"
        "import llm_workloads.testing.server, llm_workloads.testing.stand_ins\n"
        "heavy = {'ray', 'torch', 'vllm', 'anyscale', 'matplotlib', 'numpy', 'boto3', 'airflow', 'httpx'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
